// Systematic counterpart of hostileMutations.test.ts: for every mutation, a
// valid input (real ids of a seeded world) is sent with ONE field replaced by
// each value of the hostile catalog of its kind (text, identifier, id, enum,
// currency, decimal, date, JSON, list) - as JSON variables, as WTF-8 variables
// when the value holds a lone surrogate (so it reaches the server as invalid
// UTF-8), and inline as a literal for scalar kinds. Every answer must be data
// or well-formed errors (never INTERNAL_SERVER_ERROR, never HTTP 500, never a
// dropped connection, no leak); afterwards the process is up and the database
// holds nothing invalid and no row a successful mutation does not account for.
import { isinCheckDigit, leiCheckDigits } from '../../src/domain/identifiers';
import {
  ABSENT, alive, attemptOperation, Bytes, deepJsonText, describe as show, Findings, FC_SEED, growthProblems, HOSTILE_CURRENCIES, HOSTILE_DATES,
  HOSTILE_DECIMAL_TEXT, HOSTILE_JSON_OBJECTS, HUGE_STRING, hostileIdValues, Ledger, LONE_SURROGATE, MUTATIONS, NASTY_STRINGS, objectOf,
  prototypePollution, Raw, RAW_NUMBERS, seedFixture, startHostileService, storedDataProblems, stringsIn, succeeded, tableState, type Fixture,
  type Form, type HostileService, type MutationName, type TableState, type Value,
} from '../support/hostile';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: HostileService;
let fx: Fixture;
let before: TableState;
const ledger = new Ledger();
const findings = new Findings();

beforeAll(async () => {
  t = await createTestDatabase();
  fx = await seedFixture(t.db.sql);
  api = await startHostileService(t.db);
  before = await tableState(t.db.sql);
}, 120_000);

afterAll(async () => {
  console.log(`hostileSweep: ${findings.tried} hostile inputs tried (deterministic; fast-check seed of the sibling files ${FC_SEED}), per mutation and outcome:\n${findings.summary()}`);
  await api?.stop();
  await t?.drop();
});

// ------------------------------------------------------------- catalogs

type Kind = 'text' | 'short' | 'identifier' | 'decimals' | 'id' | 'enum' | 'currency' | 'decimal' | 'date' | 'json' | 'list';

const WRONG_TYPES: readonly Value[] = [null, ABSENT, 0, -1, 1.5, true, [], {}, ['x'], objectOf([['__proto__', 'x']]), new Raw('1e400'), new Raw('-0')];
const TEXT: readonly Value[] = [...NASTY_STRINGS, HUGE_STRING, new Bytes(Buffer.from([0xff, 0xfe, 0x41])), new Bytes(Buffer.from([0xc0, 0x80])), new Bytes(Buffer.from([0xed, 0xb0, 0x80])), ...WRONG_TYPES];
/** A shorter text catalog for secondary text fields (each kind of hostility once). */
const SHORT_TEXT: readonly Value[] = [
  '', ' ', '\u0000', 'a\u0000b', '\ud800', 'x\ud800', '\udc00x', '\ude00\ud83d', '\u0001\u001f\u007f', '\u202e', '\ufeff', "'; DROP TABLE portfolio_node; --", 'SELECT * FROM pg_catalog.pg_user',
  '%_%', '\\', '\\u0000', '"', '${7*7}', '__proto__', 'constructor', 'ınr', 'x'.repeat(201), '\u{1f600}'.repeat(150), 'x'.repeat(10_240), HUGE_STRING,
  new Bytes(Buffer.from([0xff, 0xfe, 0x41])), new Bytes(Buffer.from([0xed, 0xb0, 0x80])), ...WRONG_TYPES,
];
const isin = (body: string) => `${body}${isinCheckDigit(body)}`;
const IDENTIFIER: readonly Value[] = [
  ...SHORT_TEXT.filter((v) => v !== HUGE_STRING), 'us0378331005', ' US0378331005 ', 'US0378331006', 'US037833100', 'US03783310055', 'US-037833100', '037833100', '037833109',
  '0378331O0', '5493001KJTIIGC8Y1R12', '5493001KJTIIGC8Y1R1', '5493001kjtiigc8y1r12', 'AAPL', 'aapl', 'A'.repeat(33), 'ＡＡＰＬ', 'ıbm', 'CASH.USD', '*@#',
];
const DECIMAL: readonly Value[] = [...HOSTILE_DECIMAL_TEXT, ...RAW_NUMBERS, 0, -1, 1.5, 2 ** 53 + 2, 1e21, -1e-7, ...WRONG_TYPES];
const DATE: readonly Value[] = [...HOSTILE_DATES, null, ABSENT];
const CURRENCY: readonly Value[] = [...HOSTILE_CURRENCIES, ABSENT, new Bytes(Buffer.from([0x55, 0x53, 0xff]))];
const JSON_VALUES: readonly Value[] = [...HOSTILE_JSON_OBJECTS, ABSENT, deepJsonText(10_000), deepJsonText(10_000, 'object'), deepJsonText(100_000)];
const enumValues = (valid: string): Value[] => [valid.toLowerCase(), ` ${valid} `, `${valid}\u0000`, 'UNKNOWN', '', '__proto__', 'constructor', 'NaN', 0, true, null, ABSENT, [], {}, [valid]];

/** Where literals are worth sending too: the kinds whose scalars parse literals their own way. */
const LITERAL_KINDS: ReadonlySet<Kind> = new Set(['id', 'enum', 'currency', 'decimal', 'decimals', 'date', 'json']);

interface Slot {
  path: (string | number)[];
  kind: Kind;
  /** For ids: the real id the hostile forms are made of; for enums: a valid value; for lists: the catalog. */
  real?: string;
  values?: readonly Value[];
}

interface SweepCase {
  label: string;
  mutation: MutationName;
  base: () => Record<string, Value>;
  slots: () => Slot[];
}

function catalog(slot: Slot): readonly Value[] {
  switch (slot.kind) {
    case 'text': return TEXT;
    case 'short': return SHORT_TEXT;
    case 'identifier': return IDENTIFIER;
    case 'id': return hostileIdValues(slot.real ?? '00000000-0000-4000-8000-000000000000');
    case 'enum': return enumValues(slot.real ?? 'X');
    case 'currency': return CURRENCY;
    case 'decimal': return DECIMAL;
    case 'decimals': return DECIMAL.filter((_v, i) => i % 3 === 0);
    case 'date': return DATE;
    case 'json': return JSON_VALUES;
    case 'list': return slot.values ?? [];
  }
}

/** A copy of `root` with the value at `path` replaced (objects rebuilt with their own keys, `__proto__` included). */
function setPath(root: Value, path: readonly (string | number)[], value: Value): Value {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(root)) {
    const copy = root.slice();
    copy[head as number] = setPath(copy[head as number], rest, value);
    return copy;
  }
  const obj = (root ?? {}) as Record<string, unknown>;
  const pairs = Object.keys(obj).map((k) => [k, k === head ? setPath(obj[k], rest, value) : obj[k]] as const);
  if (!Object.keys(obj).includes(head as string)) pairs.push([head as string, setPath(undefined, rest, value)]);
  return objectOf(pairs);
}

// ---------------------------------------------------------------- cases

const lei = (body: string) => `${body}${leiCheckDigits(body)}`;
const ids = (kind: Kind, real: string, ...path: (string | number)[]): Slot => ({ path, kind, real });
const slot = (kind: Kind, ...path: (string | number)[]): Slot => ({ path, kind });

const cases = (): SweepCase[] => [
  {
    label: 'createPortfolioNode', mutation: 'createPortfolioNode',
    base: () => ({ input: { name: 'Sweep desk', nodeType: 'DESK', parentId: fx.nodes.FUND[0], baseCurrency: 'USD', tags: { sweep: true } } }),
    slots: () => [slot('text', 'input', 'name'), ids('enum', 'DESK', 'input', 'nodeType'), ids('id', fx.nodes.FUND[0]!, 'input', 'parentId'), slot('currency', 'input', 'baseCurrency'), slot('json', 'input', 'tags'),
      { path: ['input'], kind: 'list', values: [null, ABSENT, 'x', [], 1, objectOf([['__proto__', { name: 'x', nodeType: 'FUND', baseCurrency: 'USD' }]])] }],
  },
  {
    label: 'movePortfolioNode', mutation: 'movePortfolioNode',
    base: () => ({ id: fx.nodes.BOOK[0], parentId: fx.nodes.DESK[1] }),
    slots: () => [ids('id', fx.nodes.BOOK[0]!, 'id'), ids('id', fx.nodes.DESK[1]!, 'parentId')],
  },
  {
    label: 'upsertReferenceEntity', mutation: 'upsertReferenceEntity',
    base: () => ({ input: { entityType: 'ISSUER', name: 'Sweep issuer', code: 'SWEEP-1', lei: lei('SWEEP0000000000001'), attributes: { sweep: true } } }),
    slots: () => [ids('id', fx.references.ISSUER[0]!, 'input', 'id'), ids('enum', 'ISSUER', 'input', 'entityType'), slot('short', 'input', 'name'), slot('identifier', 'input', 'code'),
      slot('identifier', 'input', 'ticker'), slot('identifier', 'input', 'cusip'), slot('identifier', 'input', 'isin'), slot('identifier', 'input', 'lei'),
      ids('id', fx.references.ISSUER[1]!, 'input', 'parentId'), ids('id', fx.references.SECTOR[3]!, 'input', 'sectorId'), ids('id', fx.references.GEOGRAPHY[2]!, 'input', 'geographyId'),
      slot('json', 'input', 'attributes')],
  },
  {
    label: 'upsertReferenceEntity (CURRENCY, GEOGRAPHY codes)', mutation: 'upsertReferenceEntity',
    base: () => ({ input: { entityType: 'GEOGRAPHY', name: 'Sweep region', code: '999' } }),
    slots: () => [{ path: ['input', 'code'], kind: 'list', values: [...IDENTIFIER, 'gb', ' GB ', 'XK', 'ZZ', '1000', '01', '０１２', 'US\u0000', 'usd'] },
      { path: ['input'], kind: 'list', values: [{ entityType: 'CURRENCY', name: 'Sweep currency', code: 'xts' }, { entityType: 'CURRENCY', name: 'x', code: 'ınr' }, { entityType: 'CURRENCY', name: 'x', code: 'uſd' }, { entityType: 'SECTOR', name: 'x', code: '-SECT' }] }],
  },
  {
    label: 'upsertInstrument', mutation: 'upsertInstrument',
    base: () => ({ input: { name: 'Sweep bond 2031', assetClass: 'BOND', currency: 'USD', isin: isin('XS000SWEEP1'), issuerId: fx.references.ISSUER[0], maturityDate: '2031-06-15' } }),
    slots: () => [ids('id', fx.instruments[5]!, 'input', 'id'), slot('text', 'input', 'name'), { path: ['input', 'assetClass'], kind: 'list', values: [...enumValues('BOND'), ...SHORT_TEXT] },
      slot('currency', 'input', 'currency'), slot('identifier', 'input', 'isin'), slot('identifier', 'input', 'cusip'), slot('identifier', 'input', 'ticker'),
      ids('id', fx.references.ISSUER[0]!, 'input', 'issuerId'), slot('date', 'input', 'maturityDate')],
  },
  {
    label: 'recordRating', mutation: 'recordRating',
    base: () => ({ input: { entityId: fx.references.ISSUER[2], agency: 'MOODYS', rating: 'Baa1', asOfDate: '2026-06-30' } }),
    slots: () => [ids('id', fx.references.ISSUER[2]!, 'input', 'entityId'), ids('enum', 'MOODYS', 'input', 'agency'), slot('text', 'input', 'rating'),
      { path: ['input', 'rating'], kind: 'list', values: ['baa1', ' BAA1 ', 'Baa 1', 'Baa1 (high)', 'AAA', 'Aaa', 'C', 'WR', 'NR', 'D', 'Baa1\u0000', 'Ba\ud8001'] }, slot('date', 'input', 'asOfDate')],
  },
  {
    label: 'openPosition', mutation: 'openPosition',
    base: () => ({ input: { nodeId: fx.nodes.BOOK[2], instrumentId: fx.instruments[7], quantity: '1500.25', baseCurrency: 'EUR', tradeDate: '2026-06-30' } }),
    slots: () => [ids('id', fx.nodes.BOOK[2]!, 'input', 'nodeId'), ids('id', fx.instruments[7]!, 'input', 'instrumentId'), slot('decimal', 'input', 'quantity'), slot('currency', 'input', 'baseCurrency'),
      slot('date', 'input', 'tradeDate'),
      { path: ['input', 'nodeId'], kind: 'list', values: [fx.nodes.FUND[0], fx.nodes.DESK[0], fx.nodes.STRATEGY[0], fx.instruments[0], fx.positions[0]] }],
  },
  {
    label: 'closePosition', mutation: 'closePosition',
    base: () => ({ id: fx.positions[3], effectiveDate: '2026-11-30' }),
    slots: () => [ids('id', fx.positions[3]!, 'id'), slot('date', 'effectiveDate')],
  },
  {
    label: 'adjustPosition', mutation: 'adjustPosition',
    base: () => ({ input: { positionId: fx.positions[6], quantity: '42.5', effectiveDate: '2026-10-30' } }),
    slots: () => [ids('id', fx.positions[6]!, 'input', 'positionId'), slot('decimal', 'input', 'quantity'), slot('date', 'input', 'effectiveDate')],
  },
  {
    label: 'deletePosition', mutation: 'deletePosition',
    base: () => ({ id: fx.positions[8] }),
    slots: () => [ids('id', fx.positions[8]!, 'id')],
  },
  {
    label: 'recordValuations', mutation: 'recordValuations',
    base: () => ({ input: [{ positionId: fx.positions[4], asOfDate: '2026-06-30', marketValue: '1000000.12345678', currency: 'USD' }] }),
    slots: () => {
      const one = { positionId: fx.positions[4], asOfDate: '2026-06-30', marketValue: '1', currency: 'USD' };
      return [ids('id', fx.positions[4]!, 'input', 0, 'positionId'), slot('date', 'input', 0, 'asOfDate'), slot('decimal', 'input', 0, 'marketValue'), slot('currency', 'input', 0, 'currency'),
        { path: ['input'], kind: 'list', values: [null, ABSENT, [], [null], one, 'x', [one, one], [one, { ...one, positionId: fx.positions[4]!.toUpperCase() }], Array.from({ length: 10_001 }, () => one), Array.from({ length: 200 }, (_v, i) => ({ ...one, positionId: fx.positions[i % fx.positions.length] }))] }];
    },
  },
  {
    label: 'ingestMarketData (FX_SPOT)', mutation: 'ingestMarketData',
    base: () => ({ input: { feedType: 'FX_SPOT', asOfDate: '2026-06-30', source: 'SWEEP-FX', payload: { rates: [{ pair: 'EURUSD', rate: '1.0850' }] }, lineage: { sourceSystem: 'sweep', transformationChain: ['parse'], metadata: { file: 'fx.json' } } } }),
    slots: () => [ids('enum', 'FX_SPOT', 'input', 'feedType'), slot('date', 'input', 'asOfDate'), slot('short', 'input', 'source'), slot('json', 'input', 'payload'),
      slot('short', 'input', 'payload', 'rates', 0, 'pair'), slot('decimals', 'input', 'payload', 'rates', 0, 'rate'),
      { path: ['input', 'payload', 'rates'], kind: 'list', values: [null, 'x', {}, [], [null], [{}], Array.from({ length: 10_001 }, () => ({ pair: 'EURUSD', rate: '1.1' })), [{ pair: 'EURUSD', rate: '1.1' }, { pair: 'EURUSD', rate: '1.2' }], [{ pair: 'USDUSD', rate: '1' }], [{ pair: 'EURUSD', rate: '0' }], [{ pair: 'EURUSD', rate: '-1' }]] },
      slot('short', 'input', 'lineage', 'sourceSystem'), slot('json', 'input', 'lineage', 'metadata'),
      { path: ['input', 'lineage', 'transformationChain'], kind: 'list', values: [...SHORT_TEXT.filter((v) => typeof v === 'string').map((v) => [v]), null, 'x', [], Array.from({ length: 101 }, () => 'step'), Array.from({ length: 100 }, () => 'x'.repeat(500))] },
      { path: ['input', 'lineage'], kind: 'list', values: [null, ABSENT, 'x', [], {}] }],
  },
  {
    label: 'ingestMarketData (RATING)', mutation: 'ingestMarketData',
    base: () => ({ input: { feedType: 'RATING', asOfDate: '2026-06-29', source: 'SWEEP-RATING', payload: { ratings: [{ entity: { lei: fx.leis[0] }, agency: 'SP', rating: 'BBB+' }] }, lineage: { sourceSystem: 'sweep', transformationChain: [] } } }),
    slots: () => [slot('json', 'input', 'payload', 'ratings', 0, 'entity'), slot('identifier', 'input', 'payload', 'ratings', 0, 'entity', 'lei'), slot('identifier', 'input', 'payload', 'ratings', 0, 'entity', 'isin'),
      ids('id', fx.references.ISSUER[0]!, 'input', 'payload', 'ratings', 0, 'entity', 'id'), slot('short', 'input', 'payload', 'ratings', 0, 'agency'), slot('short', 'input', 'payload', 'ratings', 0, 'rating')],
  },
  {
    label: 'ingestMarketData (YIELD_CURVE, CREDIT_SPREAD)', mutation: 'ingestMarketData',
    base: () => ({ input: { feedType: 'YIELD_CURVE', asOfDate: '2026-06-29', source: 'SWEEP-CURVE', payload: { currency: 'USD', points: [{ tenor: '1Y', rate: '0.0412', discountFactor: '0.9605' }] }, lineage: { sourceSystem: 'sweep', transformationChain: [] } } }),
    slots: () => [slot('short', 'input', 'payload', 'currency'), slot('short', 'input', 'payload', 'points', 0, 'tenor'), slot('decimals', 'input', 'payload', 'points', 0, 'rate'), slot('decimals', 'input', 'payload', 'points', 0, 'discountFactor'),
      { path: ['input'], kind: 'list', values: [
        { feedType: 'CREDIT_SPREAD', asOfDate: '2026-06-29', source: 'SWEEP-CS', payload: { spreads: [{ entity: { isin: fx.isins[0] }, tenor: '5Y', bps: '125.5' }] }, lineage: { sourceSystem: 's', transformationChain: [] } },
        ...DECIMAL.filter((_v, i) => i % 4 === 0).map((bps) => ({ feedType: 'CREDIT_SPREAD', asOfDate: '2026-06-29', source: 'SWEEP-CS', payload: { spreads: [{ entity: { isin: fx.isins[0] }, tenor: '5Y', bps }] }, lineage: { sourceSystem: 's', transformationChain: [] } })),
        ...SHORT_TEXT.filter((v) => typeof v === 'string' && v.length < 300).map((tenor) => ({ feedType: 'CREDIT_SPREAD', asOfDate: '2026-06-29', source: 'SWEEP-CS', payload: { spreads: [{ entity: { ticker: tenor }, tenor, bps: '1' }] }, lineage: { sourceSystem: 's', transformationChain: [] } })),
      ] }],
  },
  {
    label: 'uploadPositions', mutation: 'uploadPositions',
    base: () => ({ input: { sourceSystem: 'sweep', mode: 'SKIP_INVALID', rows: [{ nodeId: fx.nodes.BOOK[3], instrumentId: fx.instruments[9], quantity: '10', baseCurrency: 'USD', marketValue: '11.5', asOfDate: '2026-06-30' }] } }),
    slots: () => [slot('short', 'input', 'sourceSystem'), ids('enum', 'POSITION_UPLOAD', 'input', 'batchType'), ids('enum', 'SKIP_INVALID', 'input', 'mode'),
      { path: ['input', 'idempotencyKey'], kind: 'list', values: [...SHORT_TEXT, 'sweep-key', 'SWEEP-KEY', ' sweep-key '] },
      ids('id', fx.nodes.BOOK[3]!, 'input', 'rows', 0, 'nodeId'), ids('id', fx.instruments[9]!, 'input', 'rows', 0, 'instrumentId'), slot('decimal', 'input', 'rows', 0, 'quantity'),
      slot('currency', 'input', 'rows', 0, 'baseCurrency'), slot('decimals', 'input', 'rows', 0, 'marketValue'), slot('date', 'input', 'rows', 0, 'asOfDate'),
      { path: ['input', 'rows'], kind: 'list', values: [null, [], [null], 'x', [{}], { nodeId: fx.nodes.BOOK[3], ticker: fx.tickers[0], quantity: '1', baseCurrency: 'USD' }, Array.from({ length: 2_000 }, () => ({ nodeId: fx.nodes.BOOK[3], instrumentId: fx.instruments[9], quantity: 'x', baseCurrency: 'USD' }))] }],
  },
  {
    label: 'uploadPositions (by identifier)', mutation: 'uploadPositions',
    base: () => ({ input: { sourceSystem: 'sweep', mode: 'ALL_OR_NOTHING', rows: [{ nodeId: fx.nodes.STRATEGY[0], isin: fx.isins[1], quantity: '-5', baseCurrency: 'GBP' }] } }),
    slots: () => [slot('identifier', 'input', 'rows', 0, 'isin'), slot('identifier', 'input', 'rows', 0, 'cusip'), slot('identifier', 'input', 'rows', 0, 'ticker')],
  },
  {
    label: 'createPortfolioSnapshot', mutation: 'createPortfolioSnapshot',
    base: () => ({ nodeId: fx.nodes.DESK[0], asOfDate: '2026-10-30' }),
    slots: () => [ids('id', fx.nodes.DESK[0]!, 'nodeId'), slot('date', 'asOfDate')],
  },
];

let nonce = 0;
const hasLoneSurrogate = (value: Value) => stringsIn(value).some((s) => LONE_SURROGATE.test(s));

// The cases are built after the fixture is seeded (they need its ids), so one test per case label.
const LABELS = [
  'createPortfolioNode', 'movePortfolioNode', 'upsertReferenceEntity', 'upsertReferenceEntity (CURRENCY, GEOGRAPHY codes)', 'upsertInstrument', 'recordRating',
  'openPosition', 'closePosition', 'recordValuations', 'ingestMarketData (FX_SPOT)', 'ingestMarketData (RATING)', 'ingestMarketData (YIELD_CURVE, CREDIT_SPREAD)',
  'uploadPositions', 'uploadPositions (by identifier)', 'createPortfolioSnapshot',
];

describe.each(LABELS)('%s', (label) => {
  it('answers each hostile value of each field with data or well-formed errors', async () => {
    const c = cases().find((x) => x.label === label)!;
    const spec = MUTATIONS[c.mutation];
    const base = c.base();
    const sanity = await attemptOperation(api.url, spec, base, 'variables', findings, { log: api.log, ledger, label: `${label} › (valid base input)` });
    expect({ base: show(base), answer: sanity && succeeded(sanity) ? 'data' : sanity?.text.slice(0, 500) }).toEqual({ base: show(base), answer: 'data' });
    for (const s of c.slots()) {
      for (const value of catalog(s)) {
        let values = setPath(base, s.path, value) as Record<string, Value>;
        // The same feed again returns the stored one before anything is written: a nonce in the payload makes
        // every request a new feed, so that hostile lineage, source and date values reach the writes.
        const payload = (values.input as { payload?: unknown } | undefined)?.payload;
        if (c.mutation === 'ingestMarketData' && s.path.join('.') !== 'input.payload' && payload && typeof payload === 'object' && !Array.isArray(payload) && !(payload instanceof Raw)) {
          values = setPath(values, ['input', 'payload', 'nonce'], ++nonce) as Record<string, Value>;
        }
        const forms: Form[] = ['variables'];
        if (hasLoneSurrogate(value)) forms.push('wtf8');
        // Literals where a scalar parses them its own way (not inside a JSON payload, not when too big for a query text).
        const inJson = s.path.length > 2 && ['payload', 'tags', 'attributes', 'metadata'].some((k) => s.path.includes(k));
        // An id literal parses like its variable unless it is not a string (Int, Float, Boolean, list, object literals).
        const plainIdString = s.kind === 'id' && typeof value === 'string';
        if ((LITERAL_KINDS.has(s.kind) || s.kind === 'list') && !inJson && !plainIdString && stringsIn(value).join('').length < 2_000 && !(value instanceof Raw && value.json.length > 2_000)) forms.push('literal');
        for (const form of forms) {
          await attemptOperation(api.url, spec, values, form, findings, { log: api.log, ledger, label: `${label} › ${s.path.join('.')}` });
        }
      }
    }
    expect(await alive(api.url)).toBe(true);
    expect(findings.reportPrefix(`${label} › `)).toBe('');
  });
});

describe('after the sweep', () => {
  it('keeps the process up and stores nothing invalid or unaccounted for', async () => {
    expect(await alive(api.url)).toBe(true);
    const after = await tableState(t.db.sql);
    const problems = [...(await storedDataProblems(t.db.sql)), ...growthProblems(before, after, ledger), ...prototypePollution()];
    console.log(`hostileSweep: ${ledger.successes} successful mutations; new rows: ${Object.entries(after.ids).map(([k, v]) => `${k} +${v.size - before.ids[k as keyof typeof before.ids].size}`).join(', ')}`);
    expect(problems).toEqual([]);
  });
});
