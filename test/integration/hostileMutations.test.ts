// Property: every mutation, given random and hostile input (full Unicode, NUL,
// lone surrogates sent both escaped and as invalid UTF-8, 1 MiB strings,
// NaN/Infinity/1e400/2^53+1/30-digit decimals, impossible dates, non-UUID and
// foreign ids, prototype keys and deep JSON) mixed with valid values and real
// ids of a seeded world, as variables or inline literals, answers 200/400/413
// with either data or well-formed errors (a string message, a code of the
// contract, a field for BAD_USER_INPUT, no SQL, stack or path); never an
// internal error, never a dropped connection. Afterwards the process is alive
// and the database holds nothing invalid and no row that a successful
// mutation does not account for.
import fc from 'fast-check';
import { cusipCheckDigit, isinCheckDigit, leiCheckDigits } from '../../src/domain/identifiers';
import { AGENCIES, ratingSymbols } from '../../src/domain/ratings';
import {
  ABSENT, alive, attemptOperation, calendarDate, currencyArb, deepJsonText, decimalText, fcParams, FC_SEED, field, fieldDefaults, Findings, formArb, growthProblems,
  hostileCurrency, hostileDate, hostileDecimal, hostileEnum, hostileId, hostileJsonObject, hostileJsonValue, hostileString, inputObject, Ledger,
  MUTATIONS, nested, objectOf, prototypePollution, Raw, seedFixture, startHostileService, storedDataProblems, tableState, type Fixture,
  type HostileService, type OperationSpec, type TableState, type Value,
} from '../support/hostile';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose: typeof Jose = require('jose');

// Inputs here combine many fields: a higher share of valid values per field lets a fair share of the
// combinations succeed (and so exercise the write paths), while most still carry something hostile.
fieldDefaults.validWeight = 14;

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
  console.log(`hostileMutations: fast-check seed ${FC_SEED} (set FC_SEED to replay another)`);
}, 120_000);

afterAll(async () => {
  console.log(`hostileMutations: ${findings.tried} hostile inputs tried (seed ${FC_SEED}), per mutation and outcome:\n${findings.summary()}`);
  await api?.stop();
  await t?.drop();
});

// ------------------------------------------------------------ valid parts

const validName = fc.oneof(fc.constant('Hostile test node'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((s) => `N ${s}`));
const isinArb = fc.tuple(fc.constantFrom('US', 'GB', 'DE', 'XS'), fc.stringMatching(/^[A-Z0-9]{9}$/)).map(([cc, body]) => `${cc}${body}${isinCheckDigit(`${cc}${body}`)}`);
const cusipArb = fc.stringMatching(/^[A-Z0-9]{8}$/).map((body) => `${body}${cusipCheckDigit(body)}`);
const leiArb = fc.stringMatching(/^[A-Z0-9]{18}$/).map((body) => `${body}${leiCheckDigits(body)}`);
const tickerArb = fc.stringMatching(/^[A-Z][A-Z0-9.]{1,8}$/);
/** A valid identifier with its check digit broken. */
const broken = (arb: fc.Arbitrary<string>) => arb.map((v) => `${v.slice(0, -1)}${(Number(v.slice(-1)) + 1) % 10}`);

function identifier(valid: fc.Arbitrary<string>, real: readonly string[]): fc.Arbitrary<Value> {
  const good = real.length > 0 ? fc.oneof(valid, valid.map((v) => ` ${v.toLowerCase()} `), fc.constantFrom(...real)) : valid;
  return field(fc.oneof({ weight: 1, arbitrary: good }, { weight: 3, arbitrary: fc.constant(ABSENT) }), fc.oneof(broken(valid), hostileString(), fc.constantFrom<Value>('', 123, new Raw('1e400'))), { optional: true, validWeight: 14 });
}

const ratingSymbol = fc.constantFrom(...new Set(AGENCIES.flatMap((a) => ratingSymbols(a))), 'SD', 'RD');
const pastDate = calendarDate(2024, 2026);
const quantity = decimalText(18, 10);
const money = decimalText(20, 8);
const positiveRate = decimalText(6, 8, { positive: true });

// ----------------------------------------------------------- operations

interface MutationCase {
  spec: OperationSpec;
  values: (fx: Fixture) => fc.Arbitrary<Record<string, Value>>;
  runs: number;
}

const NODE_TYPES = ['FUND', 'DESK', 'BOOK', 'STRATEGY'];
/** Codes valid for each entity type (with one that a seeded entity already holds, for CONFLICT). */
const CODES: Record<string, string[]> = { ISSUER: ['ISS-HOSTILE', 'iss.h2'], SECTOR: ['SECT-H1', 'h_2'], GEOGRAPHY: ['XK', 'gb', '999', '150'], CURRENCY: ['XTS', 'usd', 'XAU'] };
const PARENT: Record<string, 'FUND' | 'DESK' | 'BOOK' | undefined> = { DESK: 'FUND', BOOK: 'DESK', STRATEGY: 'BOOK' };

const cases: MutationCase[] = [
  {
    spec: MUTATIONS.createPortfolioNode,
    values: (f) => fc.record({
      input: fc.oneof(
        { weight: 12, arbitrary: fc.constantFrom(...NODE_TYPES).chain((type) => inputObject({
          name: field(validName, hostileString({ huge: true })),
          nodeType: field(fc.constant(type), hostileEnum(NODE_TYPES)),
          parentId: type === 'FUND'
            ? field(fc.constant(ABSENT), hostileId(f.allNodes, f.instruments), { optional: true })
            : field(fc.constantFrom(...f.nodes[PARENT[type]!]), hostileId(f.allNodes, f.instruments), { optional: true }),
          baseCurrency: field(currencyArb, hostileCurrency),
          tags: field(fc.constant({ team: 'hostile' }), hostileJsonObject, { optional: true }),
        })) },
        { weight: 1, arbitrary: fc.constantFrom<Value>(null, 'x', [], 1, ABSENT, objectOf([['__proto__', { name: 'x' }]])) },
      ),
    }),
    runs: 256,
  },
  {
    spec: MUTATIONS.movePortfolioNode,
    values: (f) => fc.constantFrom('DESK', 'BOOK', 'STRATEGY', 'FUND').chain((type) => fc.record({
      id: hostileId(f.nodes[type as keyof Fixture['nodes']], f.positions),
      parentId: type === 'FUND' ? hostileId(f.allNodes) : hostileId(f.nodes[PARENT[type]!], f.allNodes),
    })),
    runs: 160,
  },
  {
    spec: MUTATIONS.upsertReferenceEntity,
    values: (f) => fc.constantFrom('ISSUER', 'SECTOR', 'GEOGRAPHY', 'CURRENCY').chain((type) => fc.record({
      input: inputObject({
        id: field(hostileId(f.references[type as keyof Fixture['references']], f.allNodes), hostileId([]), { optional: true, validWeight: 1 }),
        entityType: field(fc.constant(type), hostileEnum(['ISSUER', 'SECTOR', 'GEOGRAPHY', 'CURRENCY']), { validWeight: 20 }),
        name: field(validName, hostileString({ huge: true }), { validWeight: 12 }),
        code: field(fc.constantFrom(...CODES[type]!), fc.oneof(hostileString(), fc.constantFrom('USD', 'GB', '150', 'SECT-1', 'xx', '999', 'ZZZ')), { optional: true, validWeight: 12 }),
        ticker: identifier(tickerArb, []),
        cusip: identifier(cusipArb, fx.cusips),
        isin: identifier(isinArb, fx.isins),
        lei: identifier(leiArb, fx.leis),
        parentId: field(fc.constant(ABSENT), hostileId(f.references[type as keyof Fixture['references']], f.allNodes), { optional: true, validWeight: 12 }),
        sectorId: field(type === 'ISSUER' ? fc.constantFrom(...f.references.SECTOR) : fc.constant(ABSENT), hostileId(f.references.SECTOR, f.references.ISSUER), { optional: true, validWeight: 12 }),
        geographyId: field(type === 'ISSUER' ? fc.constantFrom(...f.references.GEOGRAPHY) : fc.constant(ABSENT), hostileId(f.references.GEOGRAPHY, f.references.CURRENCY), { optional: true, validWeight: 12 }),
        attributes: field(fc.constant({ source: 'hostile' }), hostileJsonObject, { optional: true }),
      }),
    })),
    runs: 240,
  },
  {
    spec: MUTATIONS.upsertInstrument,
    values: (f) => fc.record({
      input: inputObject({
        id: field(hostileId(f.instruments, f.positions), hostileId([]), { optional: true, validWeight: 1 }),
        name: field(validName, hostileString({ huge: true })),
        assetClass: field(fc.constantFrom('BOND', 'LOAN', 'EQUITY', 'CDS', 'CASH', 'OTHER'), hostileEnum(['BOND', 'LOAN', 'EQUITY', 'CDS', 'CASH', 'OTHER'])),
        currency: field(currencyArb, hostileCurrency),
        isin: identifier(isinArb, fx.isins),
        cusip: identifier(cusipArb, fx.cusips),
        ticker: identifier(tickerArb, fx.tickers),
        issuerId: field(hostileId(f.references.ISSUER, f.references.SECTOR), hostileId([]), { optional: true }),
        maturityDate: field(calendarDate(2027, 2045), hostileDate(calendarDate(2027, 2045)), { optional: true }),
      }),
    }),
    runs: 240,
  },
  {
    spec: MUTATIONS.recordRating,
    values: (f) => fc.record({
      input: inputObject({
        entityId: field(fc.constantFrom(...f.references.ISSUER), hostileId(f.references.ISSUER, f.allNodes)),
        agency: field(fc.constantFrom(...AGENCIES), hostileEnum(AGENCIES)),
        rating: field(fc.oneof(ratingSymbol, ratingSymbol.map((s) => ` ${s.toLowerCase()} `), ratingSymbol.map((s) => s.replace(' ', '   '))), hostileString()),
        asOfDate: field(pastDate, hostileDate(pastDate)),
      }),
    }),
    runs: 200,
  },
  {
    spec: MUTATIONS.openPosition,
    values: (f) => fc.record({
      input: inputObject({
        nodeId: field(fc.constantFrom(...f.nodes.BOOK, ...f.nodes.STRATEGY), hostileId([...f.nodes.BOOK, ...f.nodes.STRATEGY], [...f.nodes.FUND, ...f.nodes.DESK])),
        instrumentId: field(fc.constantFrom(...f.instruments), hostileId(f.instruments, f.allReferences)),
        quantity: field(quantity, hostileDecimal(quantity)),
        baseCurrency: field(currencyArb, hostileCurrency),
        tradeDate: field(pastDate, hostileDate(pastDate), { optional: true }),
      }),
    }),
    runs: 240,
  },
  {
    spec: MUTATIONS.closePosition,
    values: (f) => fc.record({
      id: hostileId(f.positions, f.allNodes),
      effectiveDate: field(fc.constantFrom(...f.valuationDates, '2026-11-30'), hostileDate(fc.constantFrom(...f.valuationDates)), { optional: true }),
    }),
    runs: 120,
  },
  {
    spec: MUTATIONS.adjustPosition,
    values: (f) => fc.record({
      input: inputObject({
        positionId: field(fc.constantFrom(...f.positions), hostileId(f.positions, f.allNodes)),
        quantity: field(quantity, hostileDecimal(quantity)),
        effectiveDate: field(fc.constantFrom(...f.valuationDates, '2026-11-30'), hostileDate(fc.constantFrom(...f.valuationDates))),
      }),
    }),
    runs: 160,
  },
  {
    spec: MUTATIONS.deletePosition,
    values: (f) => fc.record({ id: hostileId(f.positions, f.allNodes) }),
    runs: 60,
  },
  {
    spec: MUTATIONS.recordValuations,
    values: (f) => {
      const valuation = inputObject({
        positionId: field(fc.constantFrom(...f.positions), hostileId(f.positions, f.allNodes)),
        asOfDate: field(fc.constantFrom(...f.valuationDates, '2026-06-30'), hostileDate(fc.constantFrom(...f.valuationDates, '2026-06-30'))),
        marketValue: field(money, hostileDecimal(money)),
        currency: field(currencyArb, hostileCurrency),
      });
      const tooMany = Array.from({ length: 10_001 }, (_v, i) => ({ positionId: f.positions[i % f.positions.length], asOfDate: '2026-01-30', marketValue: '1', currency: 'USD' }));
      return fc.record({
        input: fc.oneof(
          { weight: 12, arbitrary: fc.array(valuation, { maxLength: 4 }) },
          { weight: 2, arbitrary: valuation },
          { weight: 1, arbitrary: fc.constantFrom<Value>(null, [null], [], 'x', 1, tooMany, [{}]) },
        ),
      });
    },
    runs: 240,
  },
  {
    spec: MUTATIONS.ingestMarketData,
    values: (f) => {
      const entityRef = fc.oneof(
        fc.constantFrom(...f.leis).map((lei) => ({ lei })),
        fc.constantFrom(...f.isins).map((isin) => ({ isin })),
        fc.constantFrom(...f.references.ISSUER).map((id) => ({ id })),
        hostileId(f.references.ISSUER).map((id) => ({ id })),
        hostileString().map((lei) => ({ lei })),
        hostileJsonValue,
      );
      const fxPayload = fc.record({
        rates: fc.oneof(
          fc.array(fc.record({ pair: fc.oneof(fc.constantFrom('EURUSD', 'GBPUSD', 'USDJPY', 'eurusd', 'USDUSD'), hostileString()), rate: hostileDecimal(positiveRate) }), { maxLength: 3 }),
          hostileJsonValue,
        ),
      });
      const ratingPayload = fc.record({
        ratings: fc.array(fc.record({ entity: entityRef, agency: hostileEnum(AGENCIES), rating: fc.oneof(ratingSymbol, hostileString()) }), { maxLength: 3 }),
      });
      const curvePayload = fc.record({
        currency: hostileCurrency,
        points: fc.array(fc.record({ tenor: fc.oneof(fc.constantFrom('1M', '1Y', '5Y', '30Y', '0D', '-1Y', '1000Y'), hostileString()), rate: hostileDecimal(decimalText(1, 6)), discountFactor: hostileDecimal(decimalText(1, 6, { positive: true })) }), { maxLength: 3 }),
      });
      const spreadPayload = fc.record({
        spreads: fc.array(fc.record({ entity: entityRef, tenor: fc.oneof(fc.constantFrom('5Y', '1Y'), hostileString()), bps: hostileDecimal(decimalText(4, 2)) }), { maxLength: 3 }),
      });
      return fc.record({
        input: inputObject({
          feedType: field(fc.constantFrom('YIELD_CURVE', 'CREDIT_SPREAD', 'FX_SPOT', 'RATING'), hostileEnum(['YIELD_CURVE', 'CREDIT_SPREAD', 'FX_SPOT', 'RATING'])),
          asOfDate: field(pastDate, hostileDate(pastDate)),
          source: field(fc.constantFrom('HOSTILE-TEST', 'BLOOMBERG-BFIX'), hostileString({ huge: true })),
          payload: fc.oneof(
            { weight: 2, arbitrary: fxPayload }, { weight: 2, arbitrary: ratingPayload }, { weight: 1, arbitrary: curvePayload }, { weight: 1, arbitrary: spreadPayload },
            { weight: 2, arbitrary: hostileJsonValue },
            { weight: 1, arbitrary: fc.constantFrom<Value>(nested(33), deepJsonText(2_000, 'object'), deepJsonText(10_000), { rates: nested(40) }, { rates: Array.from({ length: 10_001 }, () => ({ pair: 'EURUSD', rate: '1.1' })) }, ABSENT, null) },
          ),
          lineage: fc.oneof(
            { weight: 8, arbitrary: inputObject({
              sourceSystem: field(fc.constant('hostile-suite'), hostileString()),
              transformationChain: fc.oneof(fc.array(field(fc.constant('parse'), hostileString(), { validWeight: 2 }), { maxLength: 3 }), hostileString(), fc.constantFrom<Value>(null, [], Array.from({ length: 101 }, () => 'step'))),
              metadata: field(fc.constant({ file: 'x.json' }), hostileJsonObject, { optional: true }),
            }) },
            { weight: 1, arbitrary: fc.constantFrom<Value>(null, ABSENT, 'x', []) },
          ),
        }),
      });
    },
    runs: 256,
  },
  {
    spec: MUTATIONS.uploadPositions,
    values: (f) => {
      const row = inputObject({
        nodeId: field(fc.constantFrom(...f.nodes.BOOK, ...f.nodes.STRATEGY), hostileId([...f.nodes.BOOK, ...f.nodes.STRATEGY], [...f.nodes.FUND, ...f.nodes.DESK])),
        instrumentId: field(hostileId(f.instruments, f.allReferences), hostileId([]), { optional: true, validWeight: 4 }),
        isin: field(fc.constantFrom(...f.isins), identifier(isinArb, []), { optional: true, validWeight: 1 }),
        cusip: field(fc.constantFrom(...f.cusips), identifier(cusipArb, []), { optional: true, validWeight: 1 }),
        ticker: field(fc.constantFrom(...f.tickers), hostileString(), { optional: true, validWeight: 1 }),
        quantity: field(quantity, hostileDecimal(quantity)),
        baseCurrency: field(currencyArb, hostileCurrency),
        marketValue: field(money, hostileDecimal(money), { optional: true }),
        asOfDate: field(pastDate, hostileDate(pastDate), { optional: true }),
      });
      return fc.record({
        input: inputObject({
          sourceSystem: field(fc.constant('hostile-suite'), hostileString({ huge: true })),
          batchType: field(hostileEnum(['POSITION_UPLOAD', 'LOAN_SERVICING', 'MARKET_DATA']), hostileEnum(['BATCH']), { optional: true }),
          mode: field(hostileEnum(['ALL_OR_NOTHING', 'SKIP_INVALID']), hostileEnum(['PARTIAL']), { optional: true }),
          idempotencyKey: field(fc.constantFrom('hostile-key-1', 'hostile-key-2', 'HOSTILE-KEY-1'), hostileString(), { optional: true }),
          rows: fc.oneof({ weight: 10, arbitrary: fc.array(row, { maxLength: 4 }) }, { weight: 1, arbitrary: row }, { weight: 1, arbitrary: fc.constantFrom<Value>(null, [], [null], 'x', [{}]) }),
        }),
      });
    },
    runs: 256,
  },
  {
    spec: MUTATIONS.createPortfolioSnapshot,
    values: (f) => fc.record({
      nodeId: hostileId([...f.nodes.BOOK, ...f.nodes.STRATEGY, ...f.nodes.DESK], f.positions),
      asOfDate: hostileDate(fc.constantFrom(...f.valuationDates, '2026-01-01')),
    }),
    runs: 120,
  },
];

describe.each(cases.map((c) => [c.spec.label, c] as const))('%s', (label, c) => {
  it('answers random and hostile input with data or well-formed errors, never an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(c.values(fx), formArb, async (values, form) => {
        await attemptOperation(api.url, c.spec, values, form, findings, { log: api.log, ledger });
      }),
      fcParams(c.runs),
    );
    expect(await alive(api.url)).toBe(true);
    expect(findings.report(label)).toBe('');
  });
});

// Idempotency keys shared between callers (issue 11): several callers, each entitled to other funds, send
// uploads under the same few keys. A batch answered to one caller is never answered to another, and a
// caller never gets a batch whose source system is not the one they send (their own name).
describe('uploadPositions by callers sharing idempotency keys', () => {
  const SECRET = 'hostile-shared-keys-secret-of-32-bytes-or-more';
  let authed: HostileService;
  let callers: { subject: string; token: string }[];
  beforeAll(async () => {
    authed = await startHostileService(t.db, { auth: { mode: 'jwt', secret: SECRET, clockToleranceSec: 0 } });
    const key = new TextEncoder().encode(SECRET);
    const sign = (subject: string, funds: string[]) =>
      new jose.SignJWT({ roles: ['INGESTOR'], funds }).setProtectedHeader({ alg: 'HS256' }).setSubject(subject).setExpirationTime('30m').sign(key);
    const [f0, f1] = fx.nodes.FUND as [string, string];
    callers = await Promise.all(([['alice', [f0]], ['bob', [f1]], ['carol', ['*']], ['dave', []], ['erin', [f0, f1]]] as const)
      .map(async ([subject, funds]) => ({ subject, token: await sign(subject, [...funds]) })));
  });
  afterAll(() => authed?.stop());

  it('never answers one caller with another caller\'s batch', async () => {
    const owner = new Map<string, string>();
    const leaks: string[] = [];
    const row = inputObject({
      nodeId: field(fc.constantFrom(...fx.nodes.BOOK, ...fx.nodes.STRATEGY), hostileId([...fx.nodes.BOOK], [...fx.nodes.FUND, ...fx.nodes.DESK])),
      instrumentId: field(fc.constantFrom(...fx.instruments), hostileId([])),
      quantity: field(quantity, hostileDecimal(quantity)),
      baseCurrency: field(currencyArb, hostileCurrency),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: callers.length - 1 }),
        fc.constantFrom('shared-1', 'shared-2', 'SHARED-1', 'shared-3'),
        fc.constantFrom('ALL_OR_NOTHING', 'SKIP_INVALID'),
        fc.constantFrom('POSITION_UPLOAD', 'LOAN_SERVICING'),
        fc.array(row, { maxLength: 3 }),
        formArb,
        async (who, key, mode, batchType, rows, form) => {
          const caller = callers[who]!;
          const values = { input: { sourceSystem: caller.subject, idempotencyKey: key, mode, batchType, rows } } as Record<string, Value>;
          const answer = await attemptOperation(authed.url, MUTATIONS.uploadPositions, values, form, findings, {
            log: authed.log, ledger, label: 'uploadPositions (shared keys)', headers: { authorization: `Bearer ${caller.token}` },
          });
          const batch = (answer?.body?.data as { uploadPositions?: { id: string; sourceSystem: string } } | undefined)?.uploadPositions;
          if (!batch) return;
          if (batch.sourceSystem !== caller.subject) leaks.push(`${caller.subject} got a batch of source ${batch.sourceSystem} (${batch.id}) for key ${key}`);
          const first = owner.get(batch.id) ?? caller.subject;
          if (first !== caller.subject) leaks.push(`${caller.subject} got ${first}'s batch ${batch.id} for key ${key}`);
          owner.set(batch.id, first);
        },
      ),
      fcParams(160),
    );
    expect(leaks).toEqual([]);
    expect(findings.report('uploadPositions (shared keys)')).toBe('');
    // Several callers used each key: each has batches of its own under it.
    const perKey = await t.db.sql.query<{ key: string; senders: number }>(
      `SELECT idempotency_key AS key, count(DISTINCT created_by)::int AS senders FROM ingestion_batch WHERE idempotency_key LIKE 'shared-%' GROUP BY 1`,
    );
    expect(perKey.some((k) => k.senders > 1)).toBe(true);
  });
});

describe('after the hostile runs', () => {
  it('keeps the process up and stores nothing invalid or unaccounted for', async () => {
    expect(await alive(api.url)).toBe(true);
    const after = await tableState(t.db.sql);
    const problems = [...(await storedDataProblems(t.db.sql)), ...growthProblems(before, after, ledger), ...prototypePollution()];
    console.log(`hostileMutations: ${ledger.successes} successful mutations; new rows: ${Object.entries(after.ids).map(([k, v]) => `${k} +${v.size - before.ids[k as keyof typeof before.ids].size}`).join(', ')}`);
    expect(problems).toEqual([]);
  });
});
