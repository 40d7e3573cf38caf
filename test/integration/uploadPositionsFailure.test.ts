// A batch killed mid-way: the rows' transaction fails after whole chunks were
// already written (a CHECK constraint added here for the test fires on a row
// of the third chunk; a source that breaks after 7,000 rows), and nothing of
// the batch stays behind while the batch row itself records FAILED and why.
// Also the per-call row limit, the cap on kept errors, and fund entitlements.
import type { Database } from '../../src/db/database';
import { failBatch } from '../../src/services/ingestion/batches';
import { ingestPositionRows, type IngestOptions } from '../../src/services/ingestion/ingestRows';
import type { IncomingRow } from '../../src/services/ingestion/types';
import { uploadPositions } from '../../src/services/ingestion/uploadPositions';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 300, funds: 2 });
const books = world.nodes.filter((n) => n.node_type === 'BOOK');
const isins = world.instruments.filter((i) => i.isin).map((i) => i.isin!);
const MARKER = '666.66';
const UPLOAD = `mutation($input: PositionUploadInput!) { uploadPositions(input: $input) {
  id status rowCount acceptedCount rejectedCount completedAt lineage { transformationChain qualityChecks } errors { row field code message } } }`;

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, world);
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

function row(i: number, marketValue = `${i}.5`): Record<string, string> {
  return { nodeId: books[i % books.length]!.id, isin: isins[i % isins.length]!, quantity: `${i + 1}`, baseCurrency: 'USD', marketValue, asOfDate: '2026-11-30' };
}
const options = (over: Partial<IngestOptions> = {}): IngestOptions => ({
  batchType: 'POSITION_UPLOAD', mode: 'ALL_OR_NOTHING', sourceSystem: 'failure-test', origin: { kind: 'api', step: 'test' }, ...over,
});
const counts = async () =>
  (await t.db.sql.query<{ p: number; v: number }>('SELECT (SELECT count(*) FROM position)::int AS p, (SELECT count(*) FROM valuation_result)::int AS v'))[0];

describe('a batch killed mid-way', () => {
  beforeAll(() => t.db.sql.exec(`ALTER TABLE valuation_result ADD CONSTRAINT test_marker_check CHECK (market_value <> ${MARKER})`));
  afterAll(() => t.db.sql.exec('ALTER TABLE valuation_result DROP CONSTRAINT test_marker_check'));

  // 15,000 rows: chunks 1 and 2 (10,000 positions and valuations) are written before row 12,345 breaks the write.
  const input = () => Array.from({ length: 15_000 }, (_, i) => row(i, i === 12_344 ? MARKER : `${i}.5`));

  it.each(['ALL_OR_NOTHING', 'SKIP_INVALID'])('leaves no rows and the batch FAILED with its reason (%s, through HTTP)', async (mode) => {
    const before = await counts();
    const res = await graphql(api.url, UPLOAD, {
      input: { sourceSystem: 'kill-test', mode, rows: input() },
    });
    expect(res.errors).toBeUndefined();
    const batch = res.data!.uploadPositions;
    expect(batch).toMatchObject({ status: 'FAILED', acceptedCount: 0, rejectedCount: 0 });
    expect(batch.completedAt).not.toBeNull();
    expect(batch.errors).toHaveLength(1);
    expect(batch.errors[0]).toMatchObject({ row: 0, field: null, code: 'WRITE_FAILED' });
    expect(batch.errors[0].message).toMatch(/constraint test_marker_check.*nothing of the batch was written/);
    expect(batch.errors[0].message).not.toMatch(/violates|INSERT|valuation_result \(/);
    expect(batch.lineage[0].transformationChain.at(-1)).toBe('rolled back');
    expect(batch.lineage[0].qualityChecks[1]).toMatchObject({ name: 'write', status: 'FAIL' });
    expect(await counts()).toEqual(before);
    const stored = await t.db.sql.query<{ status: string }>('SELECT status::text AS status FROM ingestion_batch WHERE id = $1', [batch.id]);
    expect(stored).toEqual([{ status: 'FAILED' }]);
  });

  it('leaves no rows when the source breaks after 7,000 rows', async () => {
    const before = await counts();
    function* breaking(): Generator<IncomingRow> {
      for (let i = 0; i < 7_000; i++) yield { values: row(i) };
      throw new Error('connection to the file server lost');
    }
    const { batch, failure } = await ingestPositionRows(t.db, breaking(), options({ mode: 'SKIP_INVALID' }));
    expect(failure).toBeInstanceOf(Error);
    expect(batch).toMatchObject({ status: 'FAILED', acceptedCount: 0 });
    expect((batch.validationErrorsJson as { code: string; message: string }[])[0]).toMatchObject({
      code: 'UNREADABLE_INPUT', message: expect.stringContaining('connection to the file server lost'),
    });
    expect(await counts()).toEqual(before);
  });
});

describe('a database that goes away', () => {
  const statusOf = async (source: string) =>
    (await t.db.sql.query<{ status: string }>('SELECT status::text AS status FROM ingestion_batch WHERE source_system = $1', [source]))[0]?.status;

  it('throws the original error, then marks the batch FAILED as soon as the database answers again', async () => {
    let down = true;
    // The same database, except that transactions fail while "down" (as when the server is unreachable).
    const flaky: Database = {
      ...t.db,
      sql: { ...t.db.sql, transaction: (fn) => (down ? Promise.reject(new Error('Connection terminated unexpectedly')) : t.db.sql.transaction(fn)) },
    };
    await expect(ingestPositionRows(flaky, [{ values: row(1) }], options({ sourceSystem: 'outage', failMarkRetryMs: 20_000 })))
      .rejects.toThrow('Connection terminated unexpectedly');
    expect(await statusOf('outage')).toBe('VALIDATING');
    down = false;
    for (let i = 0; i < 100 && (await statusOf('outage')) === 'VALIDATING'; i++) await new Promise((r) => setTimeout(r, 100));
    const [batch] = await t.db.sql.query<{ status: string; errors: { code: string; message: string }[] }>(
      `SELECT status::text AS status, validation_errors_json AS errors FROM ingestion_batch WHERE source_system = 'outage'`,
    );
    expect(batch).toMatchObject({ status: 'FAILED', errors: [{ code: 'WRITE_FAILED', message: expect.stringContaining('connection was lost') }] });
  });

  it('never turns a COMPLETED batch FAILED (a commit whose answer was lost)', async () => {
    const { batch } = await ingestPositionRows(t.db, [{ values: row(2) }], options({ sourceSystem: 'committed' }));
    const lineage = { sourceSystem: 'x', transformationChain: [], qualityChecks: [], metadata: {} };
    const again = await failBatch(t.db.sql, batch.id, { rowCount: 1, acceptedCount: 0, rejectedCount: 0, errors: [], fundIds: [] }, lineage);
    expect(again).toMatchObject({ id: batch.id, status: 'COMPLETED', acceptedCount: 1 });
    const [{ n }] = (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM data_lineage WHERE ingestion_batch_id = $1', [batch.id])) as [{ n: number }];
    expect(n).toBe(1);
  });
});

describe('limits', () => {
  it('refuses more than 100,000 rows per API call (through HTTP) before creating a batch', async () => {
    const [{ n: before }] = (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM ingestion_batch')) as [{ n: number }];
    const res = await graphql(api.url, UPLOAD, { input: { sourceSystem: 'big', rows: Array.from({ length: 100_001 }, () => row(1)) } });
    expect(res.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', field: 'input.rows' }, message: expect.stringContaining('npm run ingest') });
    await expect(uploadPositions(t.db, { sourceSystem: 'big', rows: Array.from({ length: 100_001 }, () => row(1)) })).rejects.toMatchObject({
      code: 'BAD_USER_INPUT', field: 'input.rows',
    });
    const [{ n: after }] = (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM ingestion_batch')) as [{ n: number }];
    expect(after).toBe(before);
  });

  it('keeps the first errors in detail and counts the rest', async () => {
    const rows: IncomingRow[] = Array.from({ length: 40 }, (_, i) => ({ values: i % 2 ? row(i) : { ...row(i), quantity: 'x' } }));
    const { batch } = await ingestPositionRows(t.db, rows, options({ mode: 'SKIP_INVALID', maxKeptErrors: 10, chunkSize: 7 }));
    expect(batch).toMatchObject({ status: 'COMPLETED', rowCount: 40, acceptedCount: 20, rejectedCount: 20 });
    const errors = batch.validationErrorsJson as { row: number; code: string; message: string }[];
    expect(errors.map((e) => e.row)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 0]);
    expect(errors[10]).toMatchObject({ code: 'ERRORS_TRUNCATED', message: expect.stringContaining('10 more errors') });
  });
});

describe('entitlements', () => {
  it('treats nodes of funds the caller may not see as not found', async () => {
    const funds = world.nodes.filter((n) => n.node_type === 'FUND');
    const parent = new Map(world.nodes.map((n) => [n.id, n.parent_id]));
    const fundOf = (id: string): string => (parent.get(id) ? fundOf(parent.get(id)!) : id);
    const mine = books.find((b) => fundOf(b.id) === funds[0]!.id)!;
    const theirs = books.find((b) => fundOf(b.id) === funds[1]!.id)!;
    const rows = [{ ...row(1), nodeId: mine.id }, { ...row(2), nodeId: theirs.id }];
    const batch = await uploadPositions(t.db, { sourceSystem: 'scoped', mode: 'SKIP_INVALID', rows }, { funds: [funds[0]!.id] });
    expect(batch).toMatchObject({ status: 'COMPLETED', acceptedCount: 1, rejectedCount: 1 });
    expect(batch.validationErrorsJson).toEqual([expect.objectContaining({ row: 2, field: 'nodeId', code: 'NOT_FOUND' })]);
  });
});
