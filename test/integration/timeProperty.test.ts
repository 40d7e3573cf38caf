// Property: the two clocks through HTTP against a plain model (test/support/timeModel.ts).
// Random sequences of writes on a small tree (FUND > DESK > BOOK > STRATEGY, and a second
// BOOK): positions opened on trade dates, back-dated adjustments, closes (and re-closes on
// earlier dates), deletions, valuations and their corrections, FX_SPOT feeds and restatements
// of a date's feed. A moment (knownAt) is taken between every two writes. Invalid writes (a date
// before openedOn, on/after closedOn, in the future; a deleted position) must be refused as the
// model says and write nothing. Then, for (asOf, knownAt) among the dates and moments:
// marketValue, exposure(CURRENCY), positions(asOf, knownAt) by state, each position's holding and
// valuation, and holdingsChange between two points equal the model's; and every answer pinned at
// a moment, captured right after it, is byte for byte the same at the end of the sequence (on
// the service that answered it, and on one without the analytics cache).
//
// Readings of the contract the model makes where it is not explicit: an adjustment to the quantity
// already in force is no change (it does not bound a later back-dated adjustment); a valuation may be
// recorded for any date from openedOn on (also after closedOn, or of a deleted position: it values
// nothing that is not held), and none dated in the future is sent (the contract is silent); an FX
// feed dated in the future, with no rate or a bad rate is stored as a FAIL feed and changes no rate.
//
// Replay: FC_SEED=<seed> (printed), FC_PATH=<path> (from a failure), FC_RUNS (default 20),
// FC_SHRINK=1 to shrink a failure (slow: each case is a sequence of HTTP calls). Dates in the future
// are counted from today, so a replay on another day sends other future dates. The last line printed
// counts what the runs went through (refusals, restatements, kinds of changes, FX errors, ...).
import fc from 'fast-check';
import { Exact } from '../../src/domain/fx';
import { createInstrument, createNode } from '../support/factories';
import { serviceHeaders, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { TimeModel, type Day, type Figures, type HoldingsChange, type Point, type Rejection } from '../support/timeModel';
import { moment } from '../support/moments';

const SEED = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const RUNS = Number(process.env.FC_RUNS ?? 20);

// ------------------------------------------------------------------ dates

const addDays = (day: Day, n: number): Day => new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
const today = (): Day => new Date().toISOString().slice(0, 10);
/** Business dates of writes (2026), and two in the future (refused for trades, adjustments and closes; FAIL feeds). */
const DAYS: Day[] = ['2026-09-01', '2026-09-15', '2026-09-30', '2026-10-15', '2026-10-30', '2026-11-13', '2026-11-30'];
const FUTURE: Day[] = [addDays(today(), 3), addDays(today(), 45)];
/** Dates of reads: the write dates, the day before each (boundaries), one before everything, one in the future. */
const READ_DAYS: Day[] = [...new Set(['2026-08-31', ...DAYS, ...DAYS.map((d) => addDays(d, -1)), FUTURE[1]!])].sort();

// ------------------------------------------------------------ arbitraries

const writeDay = fc.oneof({ arbitrary: fc.constantFrom(...DAYS), weight: 9 }, { arbitrary: fc.constantFrom(...FUTURE), weight: 1 });
/** Valuation dates: the contract says nothing of valuations dated in the future, so none are sent. */
const valuationDay = fc.constantFrom(...DAYS);
const scaled = (digits: bigint, scale: number) => {
  const neg = digits < 0n;
  const d = (neg ? -digits : digits).toString().padStart(scale + 1, '0');
  return new Exact(`${neg ? '-' : ''}${scale ? `${d.slice(0, -scale)}.${d.slice(-scale)}` : d}`).toFixed();
};
const quantity = fc.oneof(
  fc.constantFrom('10', '25', '100', '2.5'),
  fc.tuple(fc.bigInt({ min: 1n, max: 10n ** 9n }), fc.integer({ min: 0, max: 4 })).map(([n, s]) => scaled(n, s)),
);
const amount = fc.oneof(
  fc.constantFrom('100', '250.5', '-40', '0', '1000000'),
  fc.tuple(fc.bigInt({ min: -(10n ** 13n), max: 10n ** 13n }), fc.integer({ min: 0, max: 8 })).map(([n, s]) => scaled(n, s)),
);
const valuationCcy = fc.constantFrom('USD', 'EUR', 'GBP', 'JPY');
const RATE_CHOICES: Record<string, string[]> = { EURUSD: ['1.08', '1.1', '1.25'], GBPUSD: ['1.27', '1.3'], USDJPY: ['150', '155.5'], EURGBP: ['0.85', '0.86'] };
const rates = fc.record(
  Object.fromEntries(Object.entries(RATE_CHOICES).map(([pair, choices]) => [pair, fc.constantFrom(...choices)])) as Record<string, fc.Arbitrary<string>>,
  { requiredKeys: [] },
);
const source = fc.constantFrom('SRC-A', 'SRC-B');

/**
 * The date of a change to a position: mostly one the position allows (`aim` 1-3: among the write dates
 * in its valid range, as the model believes now), else `day` as drawn (often refused).
 */
const changeDay = (day: fc.Arbitrary<Day>) => fc.record({ day, aim: fc.nat(3), anchor: fc.nat() });
type ChangeDay = { day: Day; aim: number; anchor: number };

const opArb = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('open' as const), node: fc.nat(2), quantity, day: writeDay }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('adjust' as const), pos: fc.nat(), quantity, day: changeDay(writeDay), back: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('close' as const), pos: fc.nat(), day: fc.option(changeDay(writeDay), { freq: 6 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), pos: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('value' as const), entries: fc.array(fc.record({ pos: fc.nat(), day: changeDay(valuationDay), amount, ccy: valuationCcy }), { minLength: 1, maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('correct' as const), pick: fc.nat(), amount, ccy: valuationCcy }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('feed' as const), day: writeDay, source, rates, failing: fc.nat(4).map((n) => n === 0) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('restate' as const), pick: fc.nat(), source, rates }) },
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

/** A question: node, date, moment (index among the run's moments; beyond the last: now), reporting currency. */
const questionArb = fc.record({
  node: fc.constantFrom<'fund' | 'book' | 'strategy'>('fund', 'fund', 'book', 'strategy'),
  day: fc.constantFrom(...READ_DAYS),
  moment: fc.nat(),
  reporting: fc.constantFrom<string | null>(null, null, null, 'EUR'),
  /** holdingsChange: the other point's date and moment, and whether to send the points the wrong way round. */
  otherDay: fc.option(fc.constantFrom(...READ_DAYS), { freq: 2 }),
  otherMoment: fc.nat(),
  swap: fc.nat(11).map((n) => n === 0),
});
type Question = typeof questionArb extends fc.Arbitrary<infer T> ? T : never;

const caseArb = fc.record({
  /** The first writes: two positions opened early. */
  first: fc.array(fc.record({ kind: fc.constant('open' as const), node: fc.nat(2), quantity, day: fc.constantFrom(...DAYS.slice(0, 4)) }), { minLength: 2, maxLength: 2 }),
  steps: fc.array(fc.record({ op: opArb, pinned: questionArb }), { minLength: 4, maxLength: 10 }),
  startPinned: questionArb,
  firstPinned: questionArb,
  secondPinned: questionArb,
  checks: fc.array(questionArb, { minLength: 3, maxLength: 5 }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------- service

let t: TestDatabase;
let api: RunningService;
let uncached: RunningService;
let instrumentId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  instrumentId = (await createInstrument(t.db, { currency: 'USD' })).id;
  api = await startService(t.db);
  uncached = await startService(t.db, { analyticsCacheBytes: 0 });
});
afterAll(async () => {
  await api?.stop();
  await uncached?.stop();
  await t?.drop();
});

interface Answer {
  /** The response body as sent, request id left out. */
  text: string;
  body: { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] };
}

async function post(service: RunningService, query: string, variables: Record<string, unknown>): Promise<Answer> {
  const res = await fetch(`${service.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...serviceHeaders(service.url) },
    body: JSON.stringify({ query, variables }),
  });
  const text = (await res.text()).replace(/,?"requestId":"[^"]*"/g, '');
  return { text, body: JSON.parse(text) };
}

/** What the runs went through (printed at the end): outcomes of writes, of questions, kinds of changes. */
const SEEN = new Map<string, number>();
const saw = (what: string) => SEEN.set(what, (SEEN.get(what) ?? 0) + 1);


/**
 * Empties the tables with DELETE, not TRUNCATE (see analyticsProperty.test.ts: a request whose non-null
 * field failed may leave a sibling statement running, and TRUNCATE's lock deadlocked with its parallel
 * workers). position_version rows go with their position (ON DELETE CASCADE). Feeds are global, so each
 * run starts without any.
 */
const EMPTY = [
  'DELETE FROM snapshot_probe', 'DELETE FROM portfolio_snapshot', 'DELETE FROM valuation_result', 'DELETE FROM position',
  'DELETE FROM fx_spot', 'DELETE FROM data_lineage', 'DELETE FROM market_data_feed',
  ...['STRATEGY', 'BOOK', 'DESK', 'FUND'].map((type) => `DELETE FROM portfolio_node WHERE node_type = '${type}'`),
];

async function freshTree() {
  await t.db.sql.transaction(async (tx) => {
    for (const statement of EMPTY) await tx.query(statement);
  });
  const fund = await createNode(t.db, { nodeType: 'FUND', name: 'Clock Fund' });
  const desk = await createNode(t.db, { nodeType: 'DESK', name: 'Clock Desk', parentId: fund.id });
  const book = await createNode(t.db, { nodeType: 'BOOK', name: 'Clock Book', parentId: desk.id });
  const strategy = await createNode(t.db, { nodeType: 'STRATEGY', name: 'Clock Strategy', parentId: book.id });
  const book2 = await createNode(t.db, { nodeType: 'BOOK', name: 'Clock Book 2', parentId: desk.id });
  const subtrees = new Map<string, Set<string>>([
    [fund.id, new Set([fund.id, desk.id, book.id, strategy.id, book2.id])],
    [book.id, new Set([book.id, strategy.id])],
    [strategy.id, new Set([strategy.id])],
  ]);
  return { nodes: { fund: fund.id, book: book.id, strategy: strategy.id }, holders: [book.id, strategy.id, book2.id], subtrees };
}

// --------------------------------------------------------------- queries

const OPEN = `mutation($input: OpenPositionInput!) { openPosition(input: $input) { id openedOn closedOn status } }`;
const ADJUST = `mutation($input: AdjustPositionInput!) { adjustPosition(input: $input) { id } }`;
const CLOSE = `mutation($id: ID!, $d: Date) { closePosition(id: $id, effectiveDate: $d) { id status closedOn } }`;
const DELETE = `mutation($id: ID!) { deletePosition(id: $id) { id status } }`;
const RECORD = `mutation($input: [ValuationInput!]!) { recordValuations(input: $input) }`;
const FEED = `mutation($input: MarketDataInput!) { ingestMarketData(input: $input) { id validationStatus asOfDate } }`;

/**
 * One question, all its parts in one request: each part under its own alias of a nullable field, so
 * that one part's error (FX_RATE_NOT_FOUND, a refused holdingsChange) leaves the others answered.
 */
const questionQuery = (positionIds: string[]) => `query($n: ID!, $d: Date!, $k: DateTime, $c: Currency, $from: TimePoint!, $to: TimePoint!) {
  mv: portfolioNode(id: $n) { marketValue(asOf: $d, knownAt: $k, currency: $c) { amount currency } }
  ex: portfolioNode(id: $n) { exposure(dimension: CURRENCY, asOf: $d, knownAt: $k, currency: $c) {
    asOf currency total unvaluedPositionCount buckets { key marketValue weight positionCount } } }
  ls: portfolioNode(id: $n) {
    held: positions(asOf: $d, knownAt: $k, includeDescendants: true, first: 500) { totalCount edges { node { id } } }
    closed: positions(asOf: $d, knownAt: $k, includeDescendants: true, status: [CLOSED], first: 500) { totalCount edges { node { id } } }
    deleted: positions(asOf: $d, knownAt: $k, includeDescendants: true, status: [DELETED], first: 500) { totalCount edges { node { id } } } }
  hc: portfolioNode(id: $n) { holdingsChange(from: $from, to: $to, currency: $c) { from to currency marketValueFrom marketValueTo
    changes(first: 500) { totalCount edges { node { position { id } kind quantityFrom quantityTo marketValueFrom marketValueTo } } } } }
  ${positionIds.map((id, i) => `p${i}: position(id: "${id}") { holding(asOf: $d, knownAt: $k) { asOf quantity status } valuation(asOf: $d, knownAt: $k) { asOfDate marketValue currency } }`).join('\n  ')}
}`;
const FUTURE_KNOWN_AT = `query($n: ID!, $d: Date!, $k: DateTime) { portfolioNode(id: $n) { marketValue(asOf: $d, knownAt: $k) { amount } } }`;
/** Everything written, as known now (to show that a refused write wrote nothing). */
const WORLD = `query($n: ID!) {
  portfolioNode(id: $n) { positions(includeDescendants: true, first: 50) { totalCount edges { node { id quantity status openedOn closedOn
    history { validFrom validTo quantity status recordedAt supersededAt }
    ${DAYS.map((d, i) => `v${i}: valuationVersions(asOfDate: "${d}") { asOfDate marketValue currency recordedAt supersededAt }`).join('\n    ')} } } } }
  marketDataFeeds(feedType: FX_SPOT, first: 50) { totalCount edges { node { id asOfDate source validationStatus } } } }`;

// ----------------------------------------------------------------- a run

interface Run {
  model: TimeModel;
  nodes: { fund: string; book: string; strategy: string };
  holders: string[];
  /** The moments taken, each with the number of writes it knows. */
  moments: { at: string; known: number }[];
  /** Answers pinned at a moment, as first given. */
  pinned: { label: string; query: string; variables: Record<string, unknown>; text: string; question: Question; m: number }[];
  log: string[];
}

const fail = (run: Run, message: string): never => {
  throw new Error(`${message}\n--- operations (seed ${SEED}) ---\n${run.log.join('\n')}`);
};

function expectEqual(run: Run, what: string, got: unknown, want: unknown): void {
  const [g, w] = [JSON.stringify(got), JSON.stringify(want)];
  if (g !== w) fail(run, `${what}\n  expected ${w}\n  got      ${g}`);
}

function expectRejected(run: Run, what: string, answer: Answer, reasons: Rejection): void {
  const ext = answer.body.errors?.[0]?.extensions;
  if (!ext || !reasons.some((r) => r.code === ext.code && r.field === ext.field)) {
    fail(run, `${what}: expected one of ${JSON.stringify(reasons)}, got ${answer.text}`);
  }
}

function expectOk(run: Run, what: string, answer: Answer): any {
  if (answer.body.errors) fail(run, `${what}: expected success, got ${answer.text}`);
  return answer.body.data;
}

const pick = <T>(items: readonly T[], n: number): T | undefined => (items.length ? items[n % items.length] : undefined);
/** The date of a change: see changeDay; [from, until) is the range the position allows. */
function aimed(choice: ChangeDay, from: Day, until: Day | null): Day {
  const allowed = DAYS.filter((d) => d >= from && (until === null || d < until) && d <= today());
  return (choice.aim > 0 && pick(allowed, choice.anchor)) || choice.day;
}
const world = async (run: Run) => (await post(api, WORLD, { n: run.nodes.fund })).text;

/** A refused write: the model's reasons, and nothing written. */
async function refused(run: Run, what: string, send: () => Promise<Answer>, reasons: Rejection): Promise<void> {
  const before = await world(run);
  const answer = await send();
  run.log.push(`    -> ${answer.body.errors?.[0]?.extensions?.code ?? 'accepted'} (model: refused, ${reasons.map((r) => `${r.code} ${r.field}`).join(' | ')})`);
  expectRejected(run, what, answer, reasons);
  saw(`${what} refused (${answer.body.errors?.[0]?.extensions?.code})`);
  expectEqual(run, `${what}: a refused write changed what is stored`, await world(run), before);
}

async function apply(run: Run, op: Op): Promise<void> {
  const { model } = run;
  const day = today();
  const ids = model.positionIds();
  const short = (id: string) => `p${ids.indexOf(id)}`;
  switch (op.kind) {
    case 'open': {
      const nodeId = run.holders[op.node]!;
      run.log.push(`open p${ids.length} on ${['BOOK', 'STRATEGY', 'BOOK2'][op.node]} quantity ${op.quantity} tradeDate ${op.day}`);
      const input = { nodeId, instrumentId, quantity: op.quantity, baseCurrency: 'USD', tradeDate: op.day };
      const reasons = model.checkOpen(op.day, day);
      if (reasons) return refused(run, 'openPosition', () => post(api, OPEN, { input }), reasons);
      const data = expectOk(run, 'openPosition', await post(api, OPEN, { input }));
      expectEqual(run, 'openPosition', [data.openPosition.openedOn, data.openPosition.closedOn, data.openPosition.status], [op.day, null, 'ACTIVE']);
      model.open(data.openPosition.id, nodeId, op.quantity, op.day);
      saw('openPosition');
      return;
    }
    case 'adjust': {
      // Back-dating: mostly a position already changed later on, on a date before its last change.
      const changed = ids.filter((x) => !model.now(x).deleted && model.now(x).segments.length > 1);
      const id = pick(op.back && changed.length ? changed : ids, op.pos);
      if (!id) return void run.log.push('adjust: no position (skipped)');
      const { openedOn, closedOn, segments } = model.now(id);
      const eff = op.back && segments.length > 1 ? aimed(op.day, openedOn, segments.at(-1)!.from) : aimed(op.day, addDays(openedOn, 1), closedOn);
      run.log.push(`adjust ${short(id)} quantity ${op.quantity} effectiveDate ${eff}`);
      const input = { positionId: id, quantity: op.quantity, effectiveDate: eff };
      const inForce = model.held(id, eff, model.writes);
      const later = model.now(id).segments.some((x) => x.from > eff);
      const reasons = model.adjust(id, op.quantity, eff, day);
      if (!reasons && inForce !== null && new Exact(inForce).eq(op.quantity)) saw('adjustPosition to the quantity in force');
      if (!reasons && later) saw('adjustPosition back-dated before a later change');
      if (reasons) return refused(run, 'adjustPosition', () => post(api, ADJUST, { input }), reasons);
      expectOk(run, 'adjustPosition', await post(api, ADJUST, { input }));
      saw('adjustPosition');
      return;
    }
    case 'close': {
      const id = pick(ids, op.pos);
      if (!id) return void run.log.push('close: no position (skipped)');
      const closedOn = model.now(id).closedOn;
      const eff = op.day && aimed(op.day, model.now(id).openedOn, closedOn && addDays(closedOn, 1));
      run.log.push(`close ${short(id)} effectiveDate ${eff ?? `(default: today ${day})`}`);
      const vars = { id, d: eff };
      const reasons = model.close(id, eff ?? day, day);
      if (reasons) return refused(run, 'closePosition', () => post(api, CLOSE, vars), reasons);
      const data = expectOk(run, 'closePosition', await post(api, CLOSE, vars));
      expectEqual(run, 'closePosition', [data.closePosition.status, data.closePosition.closedOn], ['CLOSED', model.now(id).closedOn]);
      saw(closedOn === null ? 'closePosition' : eff === closedOn ? 'closePosition again, same date' : 'closePosition moved back');
      return;
    }
    case 'delete': {
      const id = pick(ids, op.pos);
      if (!id) return void run.log.push('delete: no position (skipped)');
      run.log.push(`delete ${short(id)}`);
      model.delete(id);
      const data = expectOk(run, 'deletePosition', await post(api, DELETE, { id }));
      expectEqual(run, 'deletePosition', data.deletePosition.status, 'DELETED');
      saw('deletePosition');
      return;
    }
    case 'value':
    case 'correct': {
      let entries: { positionId: string; date: Day; amount: string; currency: string }[];
      if (op.kind === 'value') {
        if (!ids.length) return void run.log.push('recordValuations: no position (skipped)');
        entries = op.entries.map((e) => {
          const positionId = pick(ids, e.pos)!;
          return { positionId, date: aimed(e.day, model.now(positionId).openedOn, null), amount: e.amount, currency: e.ccy };
        });
      } else {
        const key = pick(model.valuationKeys(), op.pick);
        if (!key) return void run.log.push('correct: no valuation yet (skipped)');
        entries = [{ ...key, amount: op.amount, currency: op.ccy }];
      }
      run.log.push(`recordValuations ${entries.map((e) => `${short(e.positionId)} ${e.date} ${e.amount} ${e.currency}`).join(', ')}${op.kind === 'correct' ? ' (correction)' : ''}`);
      const input = entries.map((e) => ({ positionId: e.positionId, asOfDate: e.date, marketValue: e.amount, currency: e.currency }));
      for (const e of entries) {
        const t = model.now(e.positionId);
        if (t.deleted) saw('valuation of a deleted position');
        else if (t.closedOn !== null && e.date >= t.closedOn) saw('valuation dated on or after closedOn');
      }
      const outcome = model.recordValuations(entries);
      if (typeof outcome !== 'number') return refused(run, 'recordValuations', () => post(api, RECORD, { input }), outcome);
      const data = expectOk(run, 'recordValuations', await post(api, RECORD, { input }));
      expectEqual(run, 'recordValuations: versions written', data.recordValuations, outcome);
      saw(op.kind === 'correct' ? (outcome ? 'valuation corrected' : 'valuation sent again unchanged') : `valuations written: ${outcome}`);
      return;
    }
    case 'feed':
    case 'restate': {
      const date = op.kind === 'feed' ? op.day : pick(model.feedDates(), op.pick);
      if (!date) return void run.log.push('restate: no feed yet (skipped)');
      const failing = op.kind === 'feed' && op.failing;
      const entries = Object.keys(RATE_CHOICES).filter((pair) => op.rates[pair] !== undefined).map((pair) => ({ pair, rate: op.rates[pair]! }));
      // A rate of 0 fails the feed's checks: stored with its reasons, it changes no rate.
      const payload = { rates: failing ? [...entries, { pair: 'CHFUSD', rate: '0' }] : entries };
      const payloadText = JSON.stringify(payload);
      run.log.push(`ingest FX_SPOT ${date} ${op.source} ${payloadText}${op.kind === 'restate' ? ' (restatement)' : ''}`);
      const input = { feedType: 'FX_SPOT', asOfDate: date, source: op.source, payload, lineage: { sourceSystem: 'timeProperty', transformationChain: [] } };
      const data = expectOk(run, 'ingestMarketData', await post(api, FEED, { input }));
      const feed = data.ingestMarketData;
      const stored = model.storedFeed(date, op.source, payloadText);
      run.log.push(`    -> ${feed.validationStatus}${stored ? ' (the same feed again: the stored one)' : ''}`);
      if (stored) {
        expectEqual(run, 'ingestMarketData: the same payload again returns the stored feed', feed.id, stored.id);
        saw('feed sent again: the stored one');
        return;
      }
      // Refused by the feed's checks (stored as FAIL): a rate of 0, no rate at all, a date in the future.
      const failed = failing || entries.length === 0 || date > day;
      if (failed) expectEqual(run, 'ingestMarketData: validationStatus', feed.validationStatus, 'FAIL');
      else if (!['PASS', 'WARN'].includes(feed.validationStatus)) fail(run, `ingestMarketData: expected PASS or WARN, got ${feed.validationStatus}`);
      saw(`feed ${feed.validationStatus}${!failed && model.feedDates(true).includes(date) ? ', restating its date' : ''}`);
      model.addFeed({ id: feed.id, date, source: op.source, payload: payloadText, usable: !failed, rates: op.rates as Record<string, string> });
      return;
    }
  }
}

// ------------------------------------------------------------ questions

interface Asked {
  label: string;
  query: string;
  variables: Record<string, unknown>;
  /** Checks an answer against the model. */
  check(answer: Answer): void;
}

/** An answer as compared later: the body as sent; with errors, the data as sent and the errors in any order. */
const stable = (answer: Answer): string => (answer.body.errors
  ? JSON.stringify({ data: answer.body.data, errors: answer.body.errors.map((e) => JSON.stringify(e)).sort() })
  : answer.text);

/** Question `q` at its moment (pinnedAt, or the moment it names; beyond the last: now), with the model's answers. */
function question(run: Run, q: Question, pinnedAt?: number): Asked {
  const { model } = run;
  const nodeId = run.nodes[q.node];
  const now = run.moments.length;
  // Known now a third of the time at least: the answers most asked for (and, on both sides of a
  // holdingsChange, answered by one scan of the positions).
  const momentOf = (n: number) => (n % 3 === 0 ? now : n % (now + 1));
  const m = pinnedAt ?? momentOf(q.moment);
  const known = (at: number) => (at === now ? model.writes : run.moments[at]!.known);
  const knownAt = (at: number) => (at === now ? undefined : run.moments[at]!.at);
  const name = (p: { asOf: Day; m: number }) => `${p.asOf}@${p.m === now ? 'now' : `K${p.m}`}`;
  const point: Point = { asOf: q.day, known: known(m) };
  const reporting = q.reporting ?? 'USD';
  const ids = model.positionIds();
  const short = (id: string) => (ids.includes(id) ? `p${ids.indexOf(id)}` : id);

  // holdingsChange between this point and another (when pinned: at an earlier moment, or the same).
  const other = { asOf: q.otherDay ?? q.day, m: pinnedAt === undefined ? momentOf(q.otherMoment) : q.otherMoment % (pinnedAt + 1) };
  const here = { asOf: q.day, m };
  const rank = (p: { asOf: Day; m: number }) => `${p.asOf}|${String(p.m).padStart(4, '0')}`;
  let [from, to] = rank(other) <= rank(here) ? [other, here] : [here, other];
  const wrongWay = q.swap && rank(from) < rank(to);
  if (wrongWay) [from, to] = [to, from];

  const label = `${q.node} asOf ${name(here)}${q.reporting ? ` in ${q.reporting}` : ''}, holdingsChange ${name(from)} -> ${name(to)}${wrongWay ? ' (wrong way round)' : ''}`;
  const variables = {
    n: nodeId, d: q.day, k: knownAt(m), c: q.reporting,
    from: { asOf: from.asOf, knownAt: knownAt(from.m) }, to: { asOf: to.asOf, knownAt: knownAt(to.m) },
  };

  const check = (answer: Answer): void => {
    const errorOf = (alias: string) => answer.body.errors?.find((e: any) => e.path?.[0] === alias);
    const unexpected = answer.body.errors?.find((e: any) => !['mv', 'ex', 'hc'].includes(e.path?.[0]));
    if (unexpected) fail(run, `${label}: unexpected error ${JSON.stringify(unexpected)}`);
    const data = answer.body.data ?? fail(run, `${label}: no data: ${answer.text}`);
    const fxMissing = (part: string, alias: string, wanted: string[][]): void => {
      const ext = errorOf(alias)?.extensions;
      const pairs = JSON.stringify([...(ext?.pairs ?? [])].sort());
      if (ext?.code !== 'FX_RATE_NOT_FOUND' || !wanted.some((w) => JSON.stringify(w) === pairs)) {
        fail(run, `${part} ${label}: expected FX_RATE_NOT_FOUND ${wanted.map((w) => JSON.stringify(w)).join(' or ')}, got ${JSON.stringify(errorOf(alias) ?? data[alias])}`);
      }
    };
    const answered = (part: string, alias: string) => {
      if (errorOf(alias)) fail(run, `${part} ${label}: expected an answer, got ${JSON.stringify(errorOf(alias))}`);
      return data[alias];
    };

    // marketValue and exposure(CURRENCY)
    const figures: Figures = model.figures(nodeId, point, reporting);
    if ('missing' in figures) {
      saw('marketValue: FX_RATE_NOT_FOUND');
      fxMissing('marketValue', 'mv', [figures.missing]);
      fxMissing('exposure', 'ex', [figures.missing]);
    } else {
      saw(figures.unvalued ? 'marketValue: with unvalued positions' : 'marketValue: every position valued');
      expectEqual(run, `marketValue ${label}`, answered('marketValue', 'mv').marketValue, { amount: figures.total, currency: reporting });
      expectEqual(run, `exposure(CURRENCY) ${label}`, answered('exposure', 'ex').exposure, {
        asOf: q.day, currency: reporting, total: figures.total, unvaluedPositionCount: figures.unvalued, buckets: figures.buckets,
      });
    }

    // positions(asOf, knownAt) by state on the date; each position's holding and valuation
    const want = model.listed(nodeId, point);
    for (const state of ['held', 'closed', 'deleted'] as const) {
      const conn = data.ls[state];
      expectEqual(run, `positions(${state}) ${label}`, { totalCount: conn.totalCount, ids: conn.edges.map((e: any) => short(e.node.id)) },
        { totalCount: want[state].length, ids: want[state].map(short) });
    }
    ids.forEach((id, i) => {
      const quantity = model.held(id, q.day, point.known);
      const v = model.valuation(id, q.day, point.known);
      const got = data[`p${i}`];
      expectEqual(run, `p${i}.holding ${label}`, got.holding && { ...got.holding, quantity: new Exact(got.holding.quantity).toFixed() },
        quantity === null ? null : { asOf: q.day, quantity, status: 'ACTIVE' });
      expectEqual(run, `p${i}.valuation ${label}`, got.valuation && { ...got.valuation, marketValue: new Exact(got.valuation.marketValue).toFixed() },
        v && { asOfDate: v.asOfDate, marketValue: new Exact(v.amount).toFixed(), currency: v.currency });
    });

    // holdingsChange
    saw(`positions held: ${want.held.length > 2 ? '3+' : want.held.length}`);
    if (want.closed.length) saw('positions listed CLOSED');
    if (want.deleted.length) saw('positions listed DELETED');
    if (wrongWay) {
      saw('holdingsChange: from later than to');
      const ext = errorOf('hc')?.extensions;
      if (ext?.code !== 'BAD_USER_INPUT' || ext?.field !== 'from') fail(run, `holdingsChange ${label}: expected BAD_USER_INPUT (from), got ${JSON.stringify(errorOf('hc') ?? data.hc)}`);
      return;
    }
    const change: HoldingsChange = model.holdingsChange(nodeId, { asOf: from.asOf, known: known(from.m) }, { asOf: to.asOf, known: known(to.m) }, reporting);
    for (const c of 'changes' in change ? change.changes : []) saw(`holdingsChange: ${c.kind}`);
    // (One moment on both sides - now, or one pinned moment - is answered by one scan of the positions; two moments by a full join.)
    const moments = from.m === to.m ? (from.m === now ? 'known now' : 'one pinned moment') : 'two moments';
    saw(`holdingsChange: ${'missing' in change ? 'FX_RATE_NOT_FOUND' : `${from.asOf === to.asOf ? 'one date' : 'two dates'}, ${moments}`}`);
    if ('missing' in change) return fxMissing('holdingsChange', 'hc', change.missing);
    const got = answered('holdingsChange', 'hc').holdingsChange;
    const n = (x: string | null) => (x === null ? null : new Exact(x).toFixed());
    expectEqual(run, `holdingsChange ${label}`, {
      from: got.from, to: got.to, currency: got.currency, marketValueFrom: got.marketValueFrom, marketValueTo: got.marketValueTo, totalCount: got.changes.totalCount,
      changes: got.changes.edges.map(({ node: c }: any) => [short(c.position.id), c.kind, n(c.quantityFrom), n(c.quantityTo), n(c.marketValueFrom), n(c.marketValueTo)]),
    }, {
      from: from.asOf, to: to.asOf, currency: reporting, marketValueFrom: change.marketValueFrom, marketValueTo: change.marketValueTo, totalCount: change.changes.length,
      changes: change.changes.map((c) => [short(c.id), c.kind, c.quantityFrom, c.quantityTo, c.marketValueFrom, c.marketValueTo]),
    });
  };
  return { label, query: questionQuery(ids), variables, check };
}

/** Takes a moment, then asks the pinned questions at once: checked against the model, kept to ask again. */
async function takeMoment(run: Run, q: Question): Promise<void> {
  const at = await moment();
  run.moments.push({ at, known: run.model.writes });
  const m = run.moments.length - 1;
  run.log.push(`K${m} = ${at} (knows ${run.model.writes} writes)`);
  const asked = question(run, q, m);
  const answer = await post(api, asked.query, asked.variables);
  asked.check(answer);
  run.pinned.push({ label: `${asked.label} (pinned, asked right after K${m})`, query: asked.query, variables: asked.variables, text: stable(answer), question: q, m });
}

async function runCase(c: Case): Promise<void> {
  const tree = await freshTree();
  const run: Run = { model: new TimeModel(tree.subtrees), nodes: tree.nodes, holders: tree.holders, moments: [], pinned: [], log: [] };
  await takeMoment(run, c.startPinned);
  for (const [i, step] of [{ op: c.first[0]!, pinned: c.firstPinned }, { op: c.first[1]!, pinned: c.secondPinned }, ...c.steps].entries()) {
    const line = run.log.length;
    await apply(run, step.op);
    run.log[line] = `#${i + 1} ${run.log[line]}`;
    await takeMoment(run, step.pinned);
  }
  // Every pinned answer is the same, byte for byte, after everything written later.
  for (const p of run.pinned) {
    for (const [name, service] of [['cached', api], ['uncached', uncached]] as const) {
      const again = await post(service, p.query, p.variables);
      if (stable(again) !== p.text) fail(run, `${p.label} changed (${name} service):\n  first ${p.text}\n  now   ${stable(again)}`);
    }
    // Worth pinning: what is known now about the same date differs from what was known then.
    const { model } = run;
    const [node, asOf] = [run.nodes[p.question.node], p.question.day];
    const then = { asOf, known: run.moments[p.m]!.known };
    const nowPoint = { asOf, known: model.writes };
    const differs = (f: (pt: Point) => unknown) => JSON.stringify(f(then)) !== JSON.stringify(f(nowPoint));
    if (differs((pt) => model.figures(node, pt, p.question.reporting ?? 'USD'))) saw('pinned: figures known now differ');
    if (differs((pt) => model.listed(node, pt))) saw('pinned: positions known now differ');
  }
  // Random (asOf, knownAt) among the dates and the moments (and now), against the model.
  for (const q of c.checks) {
    const asked = question(run, q);
    asked.check(await post(api, asked.query, asked.variables));
  }
  // A knownAt in the future is refused.
  const future = await post(api, FUTURE_KNOWN_AT, { n: run.nodes.fund, d: DAYS[0], k: new Date(Date.now() + 3_600_000).toISOString() });
  expectRejected(run, 'marketValue with a knownAt in the future', future, [{ code: 'BAD_USER_INPUT', field: 'knownAt' }]);
}

it('answers on both clocks as a plain model does, and a pinned answer never changes', async () => {
  console.log(`timeProperty: FC_SEED=${SEED} FC_RUNS=${RUNS}${process.env.FC_PATH ? ` FC_PATH=${process.env.FC_PATH}` : ''}`);
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(caseArb, async (c) => {
      runs++;
      await runCase(c);
    }),
    { numRuns: RUNS, seed: SEED, path: process.env.FC_PATH, endOnFailure: process.env.FC_SHRINK !== '1' },
  );
  console.log(`timeProperty: ${runs} runs, ${[...SEEN].sort().map(([what, n]) => `${what}: ${n}`).join('; ')}`);
  if (!process.env.FC_PATH) expect(runs).toBe(RUNS);
}, 300_000);
