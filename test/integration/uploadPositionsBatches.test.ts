// The batch life cycle (STARTED -> VALIDATING -> COMPLETED or FAILED, each
// state committed and visible when reached), the ingestionBatch(es) queries
// (filters, newest-first order, keyset pagination, page limits) and the
// lineage recorded for every batch.
import { ingestPositionRows, type IngestOptions } from '../../src/services/ingestion/ingestRows';
import { listBatches } from '../../src/services/ingestion/queries';
import type { IncomingRow } from '../../src/services/ingestion/types';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 300, funds: 2 });
const book = world.nodes.find((n) => n.node_type === 'BOOK')!;
const isin = world.instruments.find((i) => i.isin)!.isin!;
const good = (n: number): IncomingRow[] => Array.from({ length: n }, (_, i) => ({ values: { nodeId: book.id, isin, quantity: `${i + 1}`, baseCurrency: 'USD' } }));
const bad: IncomingRow = { values: { nodeId: book.id, isin, quantity: 'many', baseCurrency: 'USD' } };

const options = (over: Partial<IngestOptions> = {}): IngestOptions => ({
  batchType: 'POSITION_UPLOAD', mode: 'ALL_OR_NOTHING', sourceSystem: 'batches-test', origin: { kind: 'api', step: 'test' }, ...over,
});

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, world);
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

const stored = async (id: string) =>
  (await t.db.sql.query<{ status: string; completed: boolean }>(
    'SELECT status::text AS status, completed_at IS NOT NULL AS completed FROM ingestion_batch WHERE id = $1', [id],
  ))[0];

describe('status transitions', () => {
  async function transitions(rows: IncomingRow[], over: Partial<IngestOptions> = {}) {
    const seen: string[] = [];
    const result = await ingestPositionRows(t.db, rows, options({
      ...over,
      onStatus: async (status, id) => {
        // Each state is committed when reported: another session already sees it.
        const row = await stored(id);
        seen.push(`${status}=${row!.status}${row!.completed ? ' done' : ''}`);
      },
    }));
    return { seen, batch: result.batch };
  }

  it('goes STARTED -> VALIDATING -> COMPLETED', async () => {
    const { seen, batch } = await transitions(good(12));
    expect(seen).toEqual(['STARTED=STARTED', 'VALIDATING=VALIDATING', 'COMPLETED=COMPLETED done']);
    expect(batch.completedAt!.getTime()).toBeGreaterThanOrEqual(batch.startedAt.getTime());
  });

  it('goes STARTED -> VALIDATING -> FAILED with an invalid row under ALL_OR_NOTHING (SKIP_INVALID completes)', async () => {
    expect((await transitions([...good(3), bad])).seen).toEqual(['STARTED=STARTED', 'VALIDATING=VALIDATING', 'FAILED=FAILED done']);
    const skip = await transitions([...good(3), bad], { mode: 'SKIP_INVALID' });
    expect(skip.seen.at(-1)).toBe('COMPLETED=COMPLETED done');
    expect(skip.batch).toMatchObject({ acceptedCount: 3, rejectedCount: 1 });
  });
});

const LIST = `query($type: BatchType, $status: BatchStatus, $first: Int, $after: String) {
  ingestionBatches(batchType: $type, status: $status, first: $first, after: $after) {
    totalCount edges { cursor node { id batchType status startedAt } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;

async function walk(variables: Record<string, unknown>, first: number): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const res: any = await graphql(api.url, LIST, { ...variables, first, after });
    expect(res.errors).toBeUndefined();
    const page = res.data.ingestionBatches;
    expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
    ids.push(...page.edges.map((e: { node: { id: string } }) => e.node.id));
    if (!page.pageInfo.hasNextPage) return ids;
    after = page.pageInfo.endCursor;
  }
}

describe('ingestionBatches and ingestionBatch', () => {
  beforeAll(async () => {
    for (let i = 0; i < 4; i++) await ingestPositionRows(t.db, good(2), options({ batchType: 'LOAN_SERVICING' }));
    for (let i = 0; i < 3; i++) await ingestPositionRows(t.db, [bad], options());
    // Two batches started in the same instant: the order falls back to id.
    await t.db.sql.exec(`UPDATE ingestion_batch SET started_at = '2026-01-01T00:00:00.123456Z'
      WHERE id IN (SELECT id FROM ingestion_batch WHERE batch_type = 'LOAN_SERVICING' ORDER BY id LIMIT 2)`);
  });

  const expected = async (where: string) =>
    (await t.db.sql.query<{ id: string }>(`SELECT id::text AS id FROM ingestion_batch WHERE ${where} ORDER BY started_at DESC, id DESC`)).map((r) => r.id);

  it('lists newest first (then by id), filtered, page by page without gaps or repeats', async () => {
    const all = await expected('true');
    expect(await walk({}, 500)).toEqual(all);
    expect(await walk({}, 2)).toEqual(all);
    expect(await walk({ type: 'LOAN_SERVICING' }, 3)).toEqual(await expected(`batch_type = 'LOAN_SERVICING'`));
    expect(await walk({ status: 'FAILED' }, 1)).toEqual(await expected(`status = 'FAILED'`));
    expect(await walk({ type: 'POSITION_UPLOAD', status: 'COMPLETED' }, 2)).toEqual(await expected(`batch_type = 'POSITION_UPLOAD' AND status = 'COMPLETED'`));
    const counted = await graphql(api.url, LIST, { status: 'FAILED', first: 1 });
    expect(counted.data!.ingestionBatches.totalCount).toBe((await expected(`status = 'FAILED'`)).length);
  });

  it('reads each batch through the driver as Prisma reads it (timestamps, fund ids, JSON, NULLs)', async () => {
    await t.db.sql.exec(`UPDATE ingestion_batch SET started_at = '1969-12-31 23:59:59.000001+00', completed_at = '1969-12-31 23:59:59.999999+00', validation_errors_json = '[{"row": 2, "note": "é"}]'
      WHERE id = (SELECT id FROM ingestion_batch ORDER BY id DESC LIMIT 1)`);
    const page = await listBatches(t.db.read, {}, { first: 500 }, { subject: 'test', roles: new Set(), funds: 'ALL', authenticated: false });
    const byPrisma = await t.db.prisma.ingestionBatch.findMany();
    expect(page.rows).toHaveLength(byPrisma.length);
    expect(page.totalCount).toBe(byPrisma.length);
    const expected = new Map(byPrisma.map((b) => [b.id, b]));
    for (const batch of page.rows) expect(batch).toEqual(expected.get(batch.id));
    expect(page.rows.some((b) => b.completedAt?.getTime() === -1)).toBe(true);
  });

  it('enforces the page limits and refuses foreign cursors', async () => {
    const big = await graphql(api.url, LIST, { first: 501 });
    expect(big.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const foreign = Buffer.from(JSON.stringify(['yesterday', 'x'])).toString('base64url');
    const cursor = await graphql(api.url, LIST, { first: 5, after: foreign });
    expect(cursor.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const empty = await graphql(api.url, LIST, { first: 0 });
    expect(empty.data!.ingestionBatches).toMatchObject({ edges: [], pageInfo: { hasNextPage: true, startCursor: null } });
  });

  it('finds a batch by id, and null for an unknown or malformed id', async () => {
    const [id] = await expected(`status = 'FAILED'`);
    const one = `query($id: ID!) { ingestionBatch(id: $id) { id status errors { row field code message } } }`;
    const found = await graphql(api.url, one, { id: ` ${id!.toUpperCase()} ` });
    expect(found.data!.ingestionBatch).toMatchObject({ id, status: 'FAILED' });
    expect(found.data!.ingestionBatch.errors.map((e: { row: number; code: string }) => [e.row, e.code])).toEqual([[0, 'ROWS_REJECTED'], [1, 'BAD_USER_INPUT']]);
    for (const missing of ['00000000-0000-4000-8000-000000000000', 'batch-1']) {
      const res = await graphql(api.url, one, { id: missing });
      expect(res.errors).toBeUndefined();
      expect(res.data!.ingestionBatch).toBeNull();
    }
  });
});

describe('lineage', () => {
  it('records one lineage row per batch, COMPLETED or FAILED, readable through the API with one loader call', async () => {
    const done = await ingestPositionRows(t.db, good(5), options({ sourceSystem: 'lineage-ok', origin: { kind: 'api', step: 'unit', details: { note: 'x' } } }));
    const failed = await ingestPositionRows(t.db, [...good(5), bad], options({ sourceSystem: 'lineage-bad' }));
    const q = `query($a: ID!, $b: ID!) {
      a: ingestionBatch(id: $a) { lineage { sourceSystem transformationChain qualityChecks metadata feed { id } } }
      b: ingestionBatch(id: $b) { lineage { sourceSystem transformationChain qualityChecks metadata } } }`;
    let statements = 0;
    const stop = t.db.onQuery(() => statements++);
    const res = await graphql(api.url, q, { a: done.batch.id, b: failed.batch.id });
    stop();
    expect(res.errors).toBeUndefined();
    expect(statements).toBe(2); // the two batches in one statement, their lineage in another
    const [a, b] = [res.data!.a.lineage, res.data!.b.lineage];
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({
      sourceSystem: 'lineage-ok', feed: null,
      metadata: { origin: 'api', mode: 'ALL_OR_NOTHING', batchType: 'POSITION_UPLOAD', positionsWritten: 5, valuationsWritten: 0, note: 'x' },
    });
    expect(a[0].transformationChain[0]).toBe('unit');
    expect(a[0].qualityChecks.map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([['row validation', 'PASS'], ['write', 'PASS']]);
    expect(b).toHaveLength(1);
    expect(b[0].transformationChain.at(-1)).toBe('rolled back');
    expect(b[0].qualityChecks[0]).toMatchObject({ status: 'FAIL', observed: { rows: 6, accepted: 5, rejected: 1, errorsByCode: { BAD_USER_INPUT: 1 } } });
    expect(b[0].metadata).toMatchObject({ positionsWritten: 0 });
    const [{ n }] = (await t.db.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ingestion_batch b WHERE (SELECT count(*) FROM data_lineage l WHERE l.ingestion_batch_id = b.id) <> 1
         AND b.status IN ('COMPLETED', 'FAILED')`,
    )) as [{ n: number }];
    expect(n).toBe(0);
  });
});
