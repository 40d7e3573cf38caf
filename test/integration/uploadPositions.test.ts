// uploadPositions through HTTP on the seeded world: ALL_OR_NOTHING and
// SKIP_INVALID outcomes counted in the tables, every row error kind with its
// row, field and code, exact decimals, and idempotency (sequential and 10
// simultaneous calls with the same key).
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 300, funds: 2 });
const books = world.nodes.filter((n) => n.node_type === 'BOOK');
const strategy = world.nodes.find((n) => n.node_type === 'STRATEGY')!;
const fund = world.nodes.find((n) => n.node_type === 'FUND')!;
const desk = world.nodes.find((n) => n.node_type === 'DESK')!;
const withIsin = world.instruments.filter((i) => i.isin);
const withCusip = world.instruments.find((i) => i.cusip)!;
const withTicker = world.instruments.find((i) => i.ticker)!;

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, world);
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

const UPLOAD = `mutation($input: PositionUploadInput!) { uploadPositions(input: $input) {
  id batchType status sourceSystem idempotencyKey rowCount acceptedCount rejectedCount startedAt completedAt
  errors { row field code message } } }`;

const count = async (table: string) => (await t.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;

/** A valid row; every third one also carries a valuation. */
function row(i: number): Record<string, unknown> {
  return {
    nodeId: books[i % books.length]!.id,
    isin: withIsin[i % withIsin.length]!.isin,
    quantity: `${i + 1}.5`,
    baseCurrency: 'USD',
    ...(i % 3 === 0 ? { marketValue: `${(i + 1) * 10}.25`, asOfDate: '2026-11-30' } : {}),
  };
}
const rows = (n: number) => Array.from({ length: n }, (_, i) => row(i));

async function upload(input: Record<string, unknown>) {
  const res = await graphql(api.url, UPLOAD, { input: { sourceSystem: 'test-upload', ...input } });
  expect(res.errors).toBeUndefined();
  return res.data!.uploadPositions;
}

describe('ALL_OR_NOTHING (the default)', () => {
  it('fails the whole batch for one bad row among 500, writes nothing and reports the row', async () => {
    const [positions, valuations] = [await count('position'), await count('valuation_result')];
    const input = rows(500);
    input[316] = { ...input[316], quantity: '1.12345678901' };
    const batch = await upload({ rows: input });
    expect(batch).toMatchObject({ batchType: 'POSITION_UPLOAD', status: 'FAILED', rowCount: 500, acceptedCount: 0, rejectedCount: 1 });
    expect(batch.completedAt).not.toBeNull();
    expect(batch.errors.map((e: { row: number; field: string; code: string }) => [e.row, e.field, e.code])).toEqual([
      [0, null, 'ROWS_REJECTED'], [317, 'quantity', 'BAD_USER_INPUT'],
    ]);
    expect([await count('position'), await count('valuation_result')]).toEqual([positions, valuations]);
  });

  it('writes every row, with its valuation, when all are valid', async () => {
    const [positions, valuations] = [await count('position'), await count('valuation_result')];
    const batch = await upload({ rows: rows(300), mode: 'ALL_OR_NOTHING' });
    expect(batch).toMatchObject({ status: 'COMPLETED', rowCount: 300, acceptedCount: 300, rejectedCount: 0, errors: [] });
    expect(await count('position')).toBe(positions + 300);
    expect(await count('valuation_result')).toBe(valuations + 100);
  });
});

describe('SKIP_INVALID', () => {
  it('writes the valid rows exactly and reports the invalid ones', async () => {
    const [positions, valuations] = [await count('position'), await count('valuation_result')];
    const input = rows(200);
    input[9] = { ...input[9], quantity: '123456789012345678.1234567891', marketValue: '-98765432109876543210.12345678', asOfDate: '2026-12-31' };
    for (const i of [3, 50, 51, 120, 199]) input[i] = { ...input[i], nodeId: fund.id };
    const batch = await upload({ rows: input, mode: 'SKIP_INVALID', batchType: 'LOAN_SERVICING' });
    expect(batch).toMatchObject({ batchType: 'LOAN_SERVICING', status: 'COMPLETED', rowCount: 200, acceptedCount: 195, rejectedCount: 5 });
    expect(batch.errors.map((e: { row: number }) => e.row)).toEqual([4, 51, 52, 121, 200]);
    expect(await count('position')).toBe(positions + 195);
    const valued = input.filter((r, i) => r.marketValue && ![3, 50, 51, 120, 199].includes(i)).length;
    expect(await count('valuation_result')).toBe(valuations + valued);
    const [exact] = await t.db.sql.query<{ quantity: string; market_value: string; status: string }>(
      `SELECT p.quantity::text AS quantity, v.market_value::text AS market_value, p.status::text AS status
       FROM position p JOIN valuation_result v ON v.position_id = p.id AND v.as_of_date = '2026-12-31'`,
    );
    expect(exact).toEqual({ quantity: '123456789012345678.1234567891', market_value: '-98765432109876543210.12345678', status: 'ACTIVE' });
  });

  it('reports every kind of row error with its row (from 1), field and code', async () => {
    const ok = row(0);
    const { isin: _isin, ...noInstrument } = ok;
    const input = [
      ok,
      { ...ok, nodeId: '00000000-0000-4000-8000-000000000000' },
      { ...ok, nodeId: 'not-a-uuid' },
      { ...ok, nodeId: fund.id },
      { ...ok, nodeId: desk.id },
      noInstrument,
      { ...ok, ticker: withTicker.ticker },
      { ...ok, isin: 'US0378331006' },
      { ...ok, isin: 'US0378331005' },
      { ...noInstrument, cusip: '037833101' },
      { ...noInstrument, cusip: '037833100' },
      { ...noInstrument, ticker: 'NO.SUCH.TICKER' },
      { ...noInstrument, instrumentId: '00000000-0000-4000-8000-000000000000' },
      { ...ok, quantity: '1.12345678901' },
      { ...ok, quantity: '1234567890123456789' },
      { ...ok, marketValue: '1.123456789', asOfDate: '2026-11-30' },
      { ...ok, marketValue: '5', asOfDate: null },
      { ...ok, marketValue: null, asOfDate: '2026-11-30' },
      { ...ok, nodeId: fund.id, quantity: '0.00000000001' },
      { ...noInstrument, nodeId: strategy.id, isin: ` ${withIsin[1]!.isin!.toLowerCase()} ` },
      { ...noInstrument, cusip: withCusip.cusip },
      { ...noInstrument, ticker: withTicker.ticker!.toLowerCase() },
      { ...noInstrument, instrumentId: withTicker.id.toUpperCase() },
    ];
    const batch = await upload({ rows: input, mode: 'SKIP_INVALID' });
    expect(batch).toMatchObject({ status: 'COMPLETED', rowCount: 23, acceptedCount: 5, rejectedCount: 18 });
    expect(batch.errors.map((e: { row: number; field: string; code: string }) => [e.row, e.field, e.code])).toEqual([
      [2, 'nodeId', 'NOT_FOUND'], [3, 'nodeId', 'NOT_FOUND'], [4, 'nodeId', 'HIERARCHY_VIOLATION'], [5, 'nodeId', 'HIERARCHY_VIOLATION'],
      [6, 'instrumentId', 'BAD_USER_INPUT'], [7, 'isin,ticker', 'BAD_USER_INPUT'], [8, 'isin', 'BAD_USER_INPUT'], [9, 'isin', 'NOT_FOUND'],
      [10, 'cusip', 'BAD_USER_INPUT'], [11, 'cusip', 'NOT_FOUND'], [12, 'ticker', 'NOT_FOUND'], [13, 'instrumentId', 'NOT_FOUND'],
      [14, 'quantity', 'BAD_USER_INPUT'], [15, 'quantity', 'BAD_USER_INPUT'], [16, 'marketValue', 'BAD_USER_INPUT'],
      [17, 'asOfDate', 'BAD_USER_INPUT'], [18, 'marketValue', 'BAD_USER_INPUT'],
      [19, 'quantity', 'BAD_USER_INPUT'], [19, 'nodeId', 'HIERARCHY_VIOLATION'],
    ]);
    for (const e of batch.errors) expect(e.message.length).toBeGreaterThan(10);
  });
});

describe('the upload as a whole', () => {
  it('refuses MARKET_DATA, an empty source and a bad Decimal before any batch exists', async () => {
    const before = await count('ingestion_batch');
    const market = await graphql(api.url, UPLOAD, { input: { sourceSystem: 'x', batchType: 'MARKET_DATA', rows: rows(1) } });
    expect(market.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.batchType' });
    const blank = await graphql(api.url, UPLOAD, { input: { sourceSystem: '  ', rows: rows(1) } });
    expect(blank.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.sourceSystem' });
    const decimal = await graphql(api.url, UPLOAD, { input: { sourceSystem: 'x', rows: [{ ...row(0), quantity: 'NaN' }] } });
    expect(decimal.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(await count('ingestion_batch')).toBe(before);
  });
});

describe('idempotencyKey', () => {
  it('returns the first batch for the same key and writes nothing again', async () => {
    const first = await upload({ rows: rows(20), idempotencyKey: 'upload-seq-1' });
    const positions = await count('position');
    const again = await upload({ rows: rows(35), idempotencyKey: 'upload-seq-1', mode: 'SKIP_INVALID' });
    expect(again).toEqual(first);
    expect(await count('position')).toBe(positions);
    const lineage = await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM data_lineage WHERE ingestion_batch_id = $1', [first.id]);
    expect(lineage[0]!.n).toBe(1);
  });

  it('makes one batch and one set of rows of 10 simultaneous uploads with the same key', async () => {
    const positions = await count('position');
    const results = await Promise.all(Array.from({ length: 10 }, () => upload({ rows: rows(50), idempotencyKey: 'upload-concurrent-1' })));
    expect(new Set(results.map((b) => b.id)).size).toBe(1);
    const batches = await t.db.sql.query<{ status: string; accepted_count: number }>(
      `SELECT status::text AS status, accepted_count FROM ingestion_batch WHERE idempotency_key = 'upload-concurrent-1'`,
    );
    expect(batches).toEqual([{ status: 'COMPLETED', accepted_count: 50 }]);
    expect(await count('position')).toBe(positions + 50);
  });
});
