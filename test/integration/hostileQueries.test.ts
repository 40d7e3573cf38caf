// Property: the main queries and the node's computed fields, given random and
// hostile arguments (ids that are not UUIDs, upper-cased or padded, 10 KB or of
// the wrong type; page sizes of -1, 501, 2^31, 2^53+1, 1.5, 1e400; forged and
// tampered cursors; impossible dates; hostile currencies, enums and search
// text with NUL, lone surrogates, LIKE wildcards and SQL) mixed with real ids
// and real cursors of a seeded world, as variables (JSON or WTF-8) or inline
// literals, answer 200/400 with data or well-formed errors - never an internal
// error, never a leak, never a dropped connection - and change nothing stored.
import fc from 'fast-check';
import {
  ABSENT, alive, attemptOperation, calendarDate, currencyArb, fcParams, FC_SEED, field, Findings, formArb, hostileCurrency, hostileDate, hostileEnum,
  hostileId, hostileIdValues, hostileNumber, hostileString, HOSTILE_CURRENCIES, HOSTILE_DATES, HUGE_STRING, inputObject, LONE_SURROGATE, NASTY_STRINGS,
  post, prototypePollution, Raw, seedFixture, startHostileService, storedDataProblems, stringsIn, tableState, type Fixture, type HostileService, type OperationSpec, type TableState, type Value,
} from '../support/hostile';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: HostileService;
let fx: Fixture;
let before: TableState;
const findings = new Findings();
const real = { snapshots: [] as string[], batches: [] as string[], cursors: [] as string[], cursorOf: {} as Record<string, string> };

async function run(query: string, variables: Record<string, unknown> = {}) {
  const answer = await post(api.url, JSON.stringify({ query, variables }));
  if (!answer.body?.data || answer.body.errors) throw new Error(`fixture request failed: ${answer.text.slice(0, 500)}`);
  return answer.body.data as Record<string, any>;
}

beforeAll(async () => {
  t = await createTestDatabase();
  fx = await seedFixture(t.db.sql);
  api = await startHostileService(t.db);
  // Real snapshot and batch ids, and real cursors of every list.
  for (const nodeId of [fx.nodes.FUND[0], fx.nodes.BOOK[0]]) {
    const d = await run('mutation($n: ID!) { createPortfolioSnapshot(nodeId: $n, asOfDate: "2026-10-30") { snapshot { id } } }', { n: nodeId });
    real.snapshots.push(d.createPortfolioSnapshot.snapshot.id);
  }
  const upload = await run('mutation($i: PositionUploadInput!) { uploadPositions(input: $i) { id } }', {
    i: { sourceSystem: 'hostile-queries', mode: 'SKIP_INVALID', rows: [{ nodeId: fx.nodes.BOOK[1], instrumentId: fx.instruments[3], quantity: '5', baseCurrency: 'USD' }, { nodeId: 'bad', isin: 'US0000000001', quantity: '1', baseCurrency: 'usd' }] },
  });
  real.batches.push(upload.uploadPositions.id);
  const pages = await run(`query($f: ID!) {
    a: portfolioNodes(first: 2) { pageInfo { endCursor } }
    b: referenceEntities(first: 2) { pageInfo { endCursor } }
    c: marketDataFeeds(first: 2) { pageInfo { endCursor } }
    d: ingestionBatches(first: 1) { pageInfo { endCursor } }
    e: portfolioNode(id: $f) { positions(first: 2, includeDescendants: true) { pageInfo { endCursor } } snapshots(first: 1) { pageInfo { endCursor } } }
  }`, { f: fx.nodes.FUND[0] });
  const lists: [string, { pageInfo: { endCursor: string | null } }][] = [
    ['portfolioNodes', pages.a], ['referenceEntities', pages.b], ['marketDataFeeds', pages.c], ['ingestionBatches', pages.d],
    ['PortfolioNode.positions', pages.e.positions], ['PortfolioNode.snapshots', pages.e.snapshots],
  ];
  for (const [list, v] of lists) {
    if (!v.pageInfo.endCursor) continue;
    real.cursors.push(v.pageInfo.endCursor);
    real.cursorOf[list] = v.pageInfo.endCursor;
  }
  before = await tableState(t.db.sql);
  console.log(`hostileQueries: fast-check seed ${FC_SEED} (set FC_SEED to replay another); ${real.cursors.length} real cursors`);
}, 120_000);

afterAll(async () => {
  console.log(`hostileQueries: ${findings.tried} hostile inputs tried (seed ${FC_SEED}), per query and outcome:\n${findings.summary()}`);
  await api?.stop();
  await t?.drop();
});

// ------------------------------------------------------------ arguments

/** Page sizes: valid ones and -1, 501, 2^31, 2^53+1, fractions, 1e400, strings, wrong types. */
const hostileFirst: fc.Arbitrary<Value> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom<Value>(ABSENT, null, 500) },
  { weight: 3, arbitrary: fc.constantFrom<Value>(-1, 501, 1_000, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 53 + 1, 1.5, -0.5, '10', '', 'ten', true, [], {}, [5], new Raw('1e400'), new Raw('-0'), new Raw('1e2'), new Raw('9007199254740993'), new Raw('123456789012345678901234567890')) },
  { weight: 1, arbitrary: hostileNumber },
);

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
/** A real cursor with one component of its sort key replaced by a hostile value of the same JSON type (the shape check passes). */
function forgedLike(cursor: string): fc.Arbitrary<string> {
  const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
  return fc.tuple(fc.nat({ max: Math.max(0, key.length - 1) }), fc.oneof(hostileString(), fc.constantFrom('not-a-uuid', '2026-13-45', '2026-10-30T25:00:00Z', 'x'.repeat(100_000), '\u0000', '\ud800', "' OR 1=1 --")), fc.constantFrom(1e308, -1, 1.5, 0, 2 ** 53 + 1, -0))
    .map(([i, text, number]) => base64(JSON.stringify(key.map((v, j) => (j !== i ? v : typeof v === 'number' ? number : text)))));
}

/** Cursors: real ones, tampered ones, and forged ones whose JSON has the right shape but hostile content. */
const hostileCursor = (): fc.Arbitrary<Value> => fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom<Value>(ABSENT, null) },
  { weight: 3, arbitrary: real.cursors.length > 0 ? fc.constantFrom(...real.cursors) : fc.constant('') },
  { weight: 1, arbitrary: fc.constantFrom(...(real.cursors.length > 0 ? real.cursors : ['x'])).chain((c) => fc.constantFrom(`${c}=`, `${c}x`, c.slice(1), c.slice(0, -1), c.toUpperCase(), `${c}\u0000`, `${c}\ud800`, Buffer.from(c, 'base64url').toString('base64'))) },
  { weight: 3, arbitrary: real.cursors.length > 0 ? fc.constantFrom(...real.cursors).chain(forgedLike) : fc.constant('') },
  { weight: 2, arbitrary: fc.array(fc.oneof(hostileString(), fc.constantFrom<Value>('2026-13-45', 'not-a-uuid', '00000000-0000-0000-0000-000000000000', '', '\u0000', '\ud800', 1e308, -1, 1.5, 0, null, true, {}, [], 2 ** 53 + 1)), { maxLength: 4 }).map((a) => base64(JSON.stringify(a))) },
  { weight: 1, arbitrary: fc.constantFrom<Value>(base64('["\\u0000", "00000000-0000-4000-8000-000000000000"]'), base64('["\\ud800", "x"]'), base64('[1e400, "x"]'), base64('{"__proto__": 1}'), base64('null'), base64('[]'), base64('x'.repeat(10_000)), base64(`["${'a'.repeat(100_000)}", "b"]`), base64('["2026-10-30", "2026-10-30T00:00:00Z", "00000000-0000-4000-8000-000000000000"]')) },
  { weight: 1, arbitrary: hostileString() },
  { weight: 1, arbitrary: fc.constantFrom<Value>(1, true, [], {}) },
);

const hostileBool: fc.Arbitrary<Value> = fc.constantFrom<Value>(true, false, true, false, ABSENT, null, 'true', 1, 0, [], {}, new Raw('1e400'));
const asOfDate = (f: Fixture) => hostileDate(fc.oneof(fc.constantFrom(...f.valuationDates), calendarDate(2020, 2026)));
const optionalDate = (f: Fixture) => field(fc.constantFrom(...f.valuationDates, '2023-01-01'), asOfDate(f), { optional: true });
const nodeId = (f: Fixture) => hostileId(f.allNodes, f.positions);

interface QueryCase {
  spec: OperationSpec;
  values: (f: Fixture) => fc.Arbitrary<Record<string, Value>>;
  runs: number;
}

const q = (label: string, variables: Record<string, string>, body: OperationSpec['body']): OperationSpec => ({ label, type: 'query', variables, body });

const cases: QueryCase[] = [
  {
    spec: q('portfolioNode', { id: 'ID!' }, (a) => `portfolioNode${a('id')} { id name nodeType baseCurrency tags depth parent { id } children { id } ancestors { id } }`),
    values: (f) => fc.record({ id: nodeId(f) }),
    runs: 90,
  },
  {
    spec: q('portfolioNodes', { filter: 'PortfolioNodeFilter', first: 'Int', after: 'String' }, (a) => `portfolioNodes${a('filter', 'first', 'after')} { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id name } } }`),
    values: (f) => fc.record({
      filter: field(inputObject({
        nodeType: field(hostileEnum(['FUND', 'DESK', 'BOOK', 'STRATEGY']), hostileEnum(['X']), { optional: true }),
        nameContains: field(fc.constantFrom('Credit', 'a', 'Book', 'desk'), fc.oneof(hostileString(), fc.constantFrom('%', '_', '\\', '%%', '\\%', '[a-z]', '.*', '*')), { optional: true }),
        parentId: field(hostileId(f.allNodes), hostileId([], f.instruments), { optional: true }),
      }), fc.constantFrom<Value>('x', [], 1), { optional: true }),
      first: hostileFirst,
      after: hostileCursor(),
    }),
    runs: 150,
  },
  {
    spec: q('position', { id: 'ID!', asOf: 'Date!' }, (a) => `position${a('id')} { id quantity baseCurrency status node { id } instrument { id } valuation${a('asOf')} { asOfDate marketValue currency } }`),
    values: (f) => fc.record({ id: hostileId(f.positions, f.allNodes), asOf: asOfDate(f) }),
    runs: 90,
  },
  {
    spec: q('instrument', { id: 'ID!' }, (a) => `instrument${a('id')} { id name assetClass currency isin cusip ticker maturityDate issuer { id name } }`),
    values: (f) => fc.record({ id: hostileId(f.instruments, f.allReferences) }),
    runs: 60,
  },
  {
    spec: q('instrumentByIdentifier', { isin: 'String', cusip: 'String', ticker: 'String' }, (a) => `instrumentByIdentifier${a('isin', 'cusip', 'ticker')} { id isin cusip ticker }`),
    values: (f) => fc.record({
      isin: field(fc.oneof(fc.constantFrom(...f.isins), fc.constantFrom(...f.isins).map((v) => ` ${v.toLowerCase()} `)), fc.oneof(hostileString(), fc.constantFrom(...f.isins).map((v) => `${v.slice(0, -1)}${(Number(v.slice(-1)) + 1) % 10}`)), { optional: true }),
      cusip: field(fc.constantFrom(...f.cusips), hostileString(), { optional: true, validWeight: 2 }),
      ticker: field(fc.constantFrom(...f.tickers), fc.oneof(hostileString(), fc.constantFrom('%', '_', '*', 'cash.usd')), { optional: true, validWeight: 2 }),
    }),
    runs: 120,
  },
  {
    spec: q('referenceEntity', { id: 'ID!', agency: 'RatingAgency', from: 'Date', to: 'Date', agency2: 'RatingAgency!', asOf: 'Date!' },
      (a, v) => `referenceEntity${a('id')} { id entityType name code lei attributes parent { id } children { id } sector { id } geography { id } ratings${a('agency', 'from', 'to')} { agency rating score asOfDate } rating(agency: ${v('agency2', 'SP')}, asOf: ${v('asOf', '"2026-01-01"')}) { rating score } }`),
    values: (f) => fc.record({
      id: hostileId(f.references.ISSUER, f.allNodes),
      agency: field(hostileEnum(['SP', 'MOODYS', 'FITCH', 'DBRS']), hostileEnum(['S&P']), { optional: true }),
      from: optionalDate(f),
      to: optionalDate(f),
      agency2: hostileEnum(['SP', 'MOODYS', 'FITCH', 'DBRS']),
      asOf: asOfDate(f),
    }),
    runs: 120,
  },
  {
    spec: q('referenceEntities', { entityType: 'ReferenceEntityType', search: 'String', first: 'Int', after: 'String' }, (a) => `referenceEntities${a('entityType', 'search', 'first', 'after')} { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name code } } }`),
    values: (f) => fc.record({
      entityType: field(hostileEnum(['ISSUER', 'SECTOR', 'GEOGRAPHY', 'CURRENCY']), hostileEnum(['BANK']), { optional: true }),
      search: field(fc.oneof(fc.constantFrom('Bank', 'usd', 'GB', 'Energy'), fc.constantFrom(...f.leis)), fc.oneof(hostileString({ huge: true }), fc.constantFrom('%', '_', '\\', '%_\\', '(', '[', '*', '?', '^$')), { optional: true }),
      first: hostileFirst,
      after: hostileCursor(),
    }),
    runs: 132,
  },
  {
    spec: q('fxRate', { base: 'Currency!', quote: 'Currency!', asOf: 'Date!' }, (a) => `fxRate${a('base', 'quote', 'asOf')} { base quote rate asOfDate derivation feed { id } }`),
    values: (f) => fc.record({ base: hostileCurrency, quote: hostileCurrency, asOf: asOfDate(f) }),
    runs: 120,
  },
  {
    spec: q('marketDataFeed', { id: 'ID!' }, (a) => `marketDataFeed${a('id')} { id feedType asOfDate source payloadHash payload validationStatus checks { name status message observed threshold } lineage { id sourceSystem transformationChain qualityChecks metadata feed { id } } createdAt }`),
    values: (f) => fc.record({ id: hostileId(f.feeds, f.allNodes) }),
    runs: 60,
  },
  {
    spec: q('marketDataFeeds', { feedType: 'FeedType', status: 'ValidationStatus', from: 'Date', to: 'Date', first: 'Int', after: 'String' }, (a) => `marketDataFeeds${a('feedType', 'status', 'from', 'to', 'first', 'after')} { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id asOfDate } } }`),
    values: (f) => fc.record({
      feedType: field(hostileEnum(['YIELD_CURVE', 'CREDIT_SPREAD', 'FX_SPOT', 'RATING']), hostileEnum(['FX']), { optional: true }),
      status: field(hostileEnum(['PENDING', 'PASS', 'WARN', 'FAIL']), hostileEnum(['OK']), { optional: true }),
      from: optionalDate(f),
      to: optionalDate(f),
      first: hostileFirst,
      after: hostileCursor(),
    }),
    runs: 132,
  },
  {
    spec: q('ingestionBatch', { id: 'ID!' }, (a) => `ingestionBatch${a('id')} { id batchType status sourceSystem rowCount acceptedCount rejectedCount errors { row field code message } lineage { id metadata } }`),
    values: () => fc.record({ id: hostileId(real.batches, fx.feeds) }),
    runs: 48,
  },
  {
    spec: q('ingestionBatches', { batchType: 'BatchType', status: 'BatchStatus', first: 'Int', after: 'String' }, (a) => `ingestionBatches${a('batchType', 'status', 'first', 'after')} { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } } }`),
    values: () => fc.record({
      batchType: field(hostileEnum(['LOAN_SERVICING', 'MARKET_DATA', 'POSITION_UPLOAD']), hostileEnum(['UPLOAD']), { optional: true }),
      status: field(hostileEnum(['STARTED', 'VALIDATING', 'COMPLETED', 'FAILED']), hostileEnum(['DONE']), { optional: true }),
      first: hostileFirst,
      after: hostileCursor(),
    }),
    runs: 90,
  },
  {
    spec: q('portfolioSnapshot', { id: 'ID!' }, (a) => `portfolioSnapshot${a('id')} { id asOfDate payloadHash payload createdAt node { id } }`),
    values: () => fc.record({ id: hostileId(real.snapshots, fx.allNodes) }),
    runs: 48,
  },
  {
    spec: q('PortfolioNode.positions', { id: 'ID!', status: '[PositionStatus!]', includeDescendants: 'Boolean', first: 'Int', after: 'String' },
      (a) => `portfolioNode${a('id')} { positions${a('status', 'includeDescendants', 'first', 'after')} { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id status } } } }`),
    values: (f) => fc.record({
      id: nodeId(f),
      status: fc.oneof(
        { weight: 4, arbitrary: fc.subarray(['ACTIVE', 'CLOSED', 'DELETED']) },
        { weight: 2, arbitrary: fc.constantFrom<Value>(ABSENT, null, 'ACTIVE', ['active'], [null], [''], ['ACTIVE', 'ACTIVE'], Array.from({ length: 5_000 }, () => 'ACTIVE'), [1], {}) },
        { weight: 1, arbitrary: hostileEnum(['ACTIVE']).map((v) => [v]) },
      ),
      includeDescendants: hostileBool,
      first: hostileFirst,
      after: hostileCursor(),
    }),
    runs: 132,
  },
  {
    spec: q('PortfolioNode.descendants', { id: 'ID!', maxDepth: 'Int' }, (a) => `portfolioNode${a('id')} { descendants${a('maxDepth')} { id nodeType } }`),
    values: (f) => fc.record({ id: nodeId(f), maxDepth: fc.oneof(fc.integer({ min: -2, max: 5 }), hostileFirst) }),
    runs: 72,
  },
  {
    spec: q('PortfolioNode.marketValue', { id: 'ID!', asOf: 'Date!', currency: 'Currency' }, (a) => `portfolioNode${a('id')} { marketValue${a('asOf', 'currency')} { amount currency } }`),
    values: (f) => fc.record({ id: nodeId(f), asOf: asOfDate(f), currency: field(currencyArb, hostileCurrency, { optional: true }) }),
    runs: 120,
  },
  {
    spec: q('PortfolioNode.exposure', { id: 'ID!', dimension: 'ExposureDimension!', asOf: 'Date!', currency: 'Currency', lookThrough: 'Boolean', top: 'Int' },
      (a) => `portfolioNode${a('id')} { exposure${a('dimension', 'asOf', 'currency', 'lookThrough', 'top')} { asOf currency total unvaluedPositionCount buckets { key label marketValue weight positionCount entity { id } } } }`),
    values: (f) => fc.record({
      id: nodeId(f),
      dimension: hostileEnum(['ISSUER', 'SECTOR', 'GEOGRAPHY', 'CURRENCY', 'RATING', 'ASSET_CLASS', 'CHILD']),
      asOf: asOfDate(f),
      currency: field(currencyArb, hostileCurrency, { optional: true }),
      lookThrough: hostileBool,
      top: field(fc.integer({ min: 1, max: 10 }), fc.oneof(fc.constantFrom<Value>(0, -1, 1_000, 1_001, 2 ** 31 - 1), hostileFirst), { optional: true }),
    }),
    runs: 150,
  },
  {
    spec: q('PortfolioNode.snapshots', { id: 'ID!', from: 'Date', to: 'Date', first: 'Int', after: 'String', date: 'Date!' },
      (a, v) => `portfolioNode${a('id')} { snapshots${a('from', 'to', 'first', 'after')} { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id asOfDate } } } snapshotAsOf(date: ${v('date', '"2026-10-30"')}) { id } }`),
    values: (f) => fc.record({ id: hostileId([fx.nodes.FUND[0]!, fx.nodes.BOOK[0]!, ...f.allNodes.slice(0, 5)]), from: optionalDate(f), to: optionalDate(f), first: hostileFirst, after: hostileCursor(), date: asOfDate(f) }),
    runs: 120,
  },
  {
    spec: q('portfolioRoots', {}, () => 'portfolioRoots { id name tags children { id } }'),
    values: () => fc.constant({}),
    runs: 5,
  },
];

describe.each(cases.map((c) => [c.spec.label, c] as const))('%s', (label, c) => {
  it('answers random and hostile arguments with data or well-formed errors, never an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(c.values(fx), formArb, async (values, form) => {
        await attemptOperation(api.url, c.spec, values, form, findings, { log: api.log });
      }),
      fcParams(c.runs),
    );
    expect(await alive(api.url)).toBe(true);
    expect(findings.report(label)).toBe('');
  });
});

// ------------------------------------------------------------ the sweep

// Deterministic counterpart: a valid call of each query with ONE argument replaced by each value of
// the catalog of its kind, so that every kind of hostile value reaches every argument at least once.
const INTS: readonly Value[] = [
  -1, 0, 1, 500, 501, 1_001, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 1, 1.5, -0.5, '10', '', true, null, ABSENT, [], {}, [5],
  new Raw('1e400'), new Raw('-0'), new Raw('1e2'), new Raw('1.0'), new Raw('123456789012345678901234567890'),
];
const BOOLS: readonly Value[] = [true, false, null, ABSENT, 'true', 'false', 1, 0, [], {}, [true], new Raw('1e400')];
const ENUMS = (valid: string): Value[] => [valid, valid.toLowerCase(), ` ${valid} `, `${valid}\u0000`, '', 'UNKNOWN', '__proto__', 0, true, null, ABSENT, [], {}, [valid]];
const DATES: readonly Value[] = [...HOSTILE_DATES, null, ABSENT];
const TEXTS: readonly Value[] = [...NASTY_STRINGS, HUGE_STRING, '%', '_', '\\%', '%%%%', '[a-z]', '.*', '(', '*', 'É', 'é', 'ß', 'İ', 1, true, null, ABSENT, [], {}];

/** Cursors of a list: its real one, tampered, and forged with each hostile value in each component of its sort key. */
function cursorsOf(list: string): Value[] {
  const cursor = real.cursorOf[list];
  const out: Value[] = [null, ABSENT, '', 'x', 'null', base64('null'), base64('[]'), base64('{}'), base64('"x"'), base64('[[], {}]'), 'WyJ', '====', '\u0000', '\ud800', 'x'.repeat(100_000), 1, true, [], {}];
  if (!cursor) return out;
  const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
  out.push(cursor, `${cursor}=`, `${cursor}x`, cursor.slice(1), cursor.slice(0, -1), Buffer.from(cursor, 'base64url').toString('base64'), base64(JSON.stringify([...key, 'extra'])), base64(JSON.stringify(key.slice(1))));
  const replacements: unknown[] = ['not-a-uuid', '00000000-0000-0000-0000-000000000000', '\u0000', 'a\u0000b', '\ud800', '2026-13-45', '2026-10-30T25:00:00Z', 'x'.repeat(100_000), "' OR '1'='1", '', 1e308, -1, 1.5, 0, null, {}, []];
  key.forEach((_v, i) => {
    for (const r of replacements) out.push(base64(JSON.stringify(key.map((v, j) => (j === i ? r : v)))));
  });
  return out;
}

interface SweepSlot { arg: string; values: readonly Value[]; literal?: boolean }
interface QuerySweep { label: string; base: () => Record<string, Value>; slots: () => SweepSlot[] }

const idSlot = (arg: string, id: string): SweepSlot => ({ arg, values: hostileIdValues(id) });
/** Date arguments; literals (parsed by the scalar's parseLiteral) for the first date argument of each query only. */
const dateSlot = (arg: string, literal = false): SweepSlot => ({ arg, values: DATES, literal });
const pageSlots = (list: string): SweepSlot[] => [{ arg: 'first', values: INTS, literal: true }, { arg: 'after', values: cursorsOf(list) }];

const sweeps = (): QuerySweep[] => [
  { label: 'portfolioNode', base: () => ({ id: fx.nodes.DESK[0] }), slots: () => [idSlot('id', fx.nodes.DESK[0]!)] },
  {
    label: 'portfolioNodes', base: () => ({ filter: { nodeType: 'BOOK', nameContains: 'a', parentId: fx.nodes.DESK[0] }, first: 5 }),
    slots: () => [
      { arg: 'filter', values: [...TEXTS.map((t) => ({ nameContains: t })), ...hostileIdValues(fx.nodes.DESK[0]!).map((id) => ({ parentId: id })), ...ENUMS('BOOK').map((e) => ({ nodeType: e })), null, ABSENT, 'x', []] },
      ...pageSlots('portfolioNodes'),
    ],
  },
  { label: 'position', base: () => ({ id: fx.positions[0], asOf: '2026-10-30' }), slots: () => [idSlot('id', fx.positions[0]!), dateSlot('asOf', true)] },
  { label: 'instrument', base: () => ({ id: fx.instruments[0] }), slots: () => [idSlot('id', fx.instruments[0]!)] },
  {
    label: 'instrumentByIdentifier', base: () => ({ isin: fx.isins[0] }),
    slots: () => [{ arg: 'isin', values: TEXTS.filter((_v, i) => i % 2 === 0) }, { arg: 'cusip', values: TEXTS.filter((_v, i) => i % 2 === 1) }, { arg: 'ticker', values: TEXTS }],
  },
  {
    label: 'referenceEntity', base: () => ({ id: fx.references.ISSUER[0], agency: 'SP', from: '2023-01-01', to: '2026-10-30', agency2: 'MOODYS', asOf: '2026-10-30' }),
    slots: () => [idSlot('id', fx.references.ISSUER[0]!), { arg: 'agency', values: ENUMS('SP'), literal: true }, dateSlot('from', true), dateSlot('to'), { arg: 'agency2', values: ENUMS('MOODYS'), literal: true }, dateSlot('asOf')],
  },
  {
    label: 'referenceEntities', base: () => ({ entityType: 'ISSUER', first: 5 }),
    slots: () => [{ arg: 'search', values: TEXTS }, { arg: 'entityType', values: ENUMS('ISSUER'), literal: true }, ...pageSlots('referenceEntities')],
  },
  {
    label: 'fxRate', base: () => ({ base: 'EUR', quote: 'GBP', asOf: '2026-10-30' }),
    slots: () => [{ arg: 'base', values: HOSTILE_CURRENCIES, literal: true }, { arg: 'quote', values: HOSTILE_CURRENCIES, literal: true }, dateSlot('asOf', true)],
  },
  { label: 'marketDataFeed', base: () => ({ id: fx.feeds[0] }), slots: () => [idSlot('id', fx.feeds[0]!)] },
  {
    label: 'marketDataFeeds', base: () => ({ feedType: 'FX_SPOT', status: 'PASS', from: '2026-01-01', to: '2026-10-30', first: 5 }),
    slots: () => [{ arg: 'feedType', values: ENUMS('FX_SPOT'), literal: true }, { arg: 'status', values: ENUMS('PASS'), literal: true }, dateSlot('from', true), dateSlot('to'), ...pageSlots('marketDataFeeds')],
  },
  { label: 'ingestionBatch', base: () => ({ id: real.batches[0] }), slots: () => [idSlot('id', real.batches[0]!)] },
  { label: 'ingestionBatches', base: () => ({ first: 5 }), slots: () => [{ arg: 'batchType', values: ENUMS('POSITION_UPLOAD'), literal: true }, { arg: 'status', values: ENUMS('COMPLETED'), literal: true }, ...pageSlots('ingestionBatches')] },
  { label: 'portfolioSnapshot', base: () => ({ id: real.snapshots[0] }), slots: () => [idSlot('id', real.snapshots[0]!)] },
  {
    label: 'PortfolioNode.positions', base: () => ({ id: fx.nodes.FUND[0], status: ['ACTIVE'], includeDescendants: true, first: 5 }),
    slots: () => [idSlot('id', fx.nodes.FUND[0]!), { arg: 'status', values: [...ENUMS('ACTIVE'), ['ACTIVE', 'CLOSED', 'DELETED'], [], [null], Array.from({ length: 5_000 }, () => 'CLOSED')], literal: true }, { arg: 'includeDescendants', values: BOOLS, literal: true }, ...pageSlots('PortfolioNode.positions')],
  },
  { label: 'PortfolioNode.descendants', base: () => ({ id: fx.nodes.FUND[1], maxDepth: 2 }), slots: () => [{ arg: 'maxDepth', values: INTS, literal: true }] },
  {
    label: 'PortfolioNode.marketValue', base: () => ({ id: fx.nodes.FUND[0], asOf: '2026-10-30', currency: 'EUR' }),
    slots: () => [idSlot('id', fx.nodes.FUND[0]!), dateSlot('asOf', true), { arg: 'currency', values: HOSTILE_CURRENCIES, literal: true }],
  },
  {
    label: 'PortfolioNode.exposure', base: () => ({ id: fx.nodes.DESK[0], dimension: 'ISSUER', asOf: '2026-10-30', currency: 'USD', lookThrough: true, top: 3 }),
    slots: () => [{ arg: 'dimension', values: ENUMS('RATING'), literal: true }, dateSlot('asOf', true), { arg: 'currency', values: HOSTILE_CURRENCIES, literal: true }, { arg: 'lookThrough', values: BOOLS, literal: true }, { arg: 'top', values: INTS, literal: true }],
  },
  {
    label: 'PortfolioNode.snapshots', base: () => ({ id: fx.nodes.FUND[0], from: '2026-01-01', to: '2026-12-31', first: 5, date: '2026-10-30' }),
    slots: () => [dateSlot('from', true), dateSlot('to'), dateSlot('date', true), ...pageSlots('PortfolioNode.snapshots')],
  },
];

describe.each(sweeps().map((sw) => sw.label))('%s (sweep)', (label) => {
  it('answers each hostile value of each argument with data or well-formed errors', async () => {
    const sweep = sweeps().find((sw) => sw.label === label)!;
    const spec = cases.find((c) => c.spec.label === label)!.spec;
    const base = sweep.base();
    const sanity = await attemptOperation(api.url, spec, base, 'variables', findings, { log: api.log, label: `${label} › (valid base input)` });
    expect(sanity?.body?.errors ?? []).toEqual([]);
    for (const slot of sweep.slots()) {
      for (const value of slot.values) {
        const values = { ...base, [slot.arg]: value };
        await attemptOperation(api.url, spec, values, 'variables', findings, { log: api.log, label: `${label} › ${slot.arg}` });
        if (stringsIn(value).some((x) => LONE_SURROGATE.test(x))) await attemptOperation(api.url, spec, values, 'wtf8', findings, { log: api.log, label: `${label} › ${slot.arg}` });
        if (slot.literal) await attemptOperation(api.url, spec, values, 'literal', findings, { log: api.log, label: `${label} › ${slot.arg}` });
      }
    }
    expect(await alive(api.url)).toBe(true);
    expect(findings.reportPrefix(`${label} › `)).toBe('');
  });
});

describe('after the hostile queries', () => {
  it('keeps the process up, changed nothing stored and holds nothing invalid', async () => {
    expect(await alive(api.url)).toBe(true);
    const after = await tableState(t.db.sql);
    const changed = Object.entries(after.ids).filter(([k, v]) => v.size !== before.ids[k as keyof typeof before.ids].size).map(([k]) => k);
    expect({ changed, fx: after.fx.size - before.fx.size }).toEqual({ changed: [], fx: 0 });
    expect([...(await storedDataProblems(t.db.sql)), ...prototypePollution()]).toEqual([]);
  });
});
