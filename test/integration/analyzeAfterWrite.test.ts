// After a large batch the importer refreshes the statistics of the tables it
// wrote (analyzeAfterWrite), so that the next reads are planned for the tables
// as they are, not as they were: the planner's estimate of the positions
// follows the batch at once, without waiting for autovacuum. Small batches,
// small against the table, leave the statistics alone.
import { analyzeAfterWrite, ingestPositionRows, type IngestOptions } from '../../src/services/ingestion/ingestRows';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 300, funds: 2 });
const books = world.nodes.filter((n) => n.node_type === 'BOOK');
const isins = world.instruments.filter((i) => i.isin).map((i) => i.isin!);

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, world); // ends with ANALYZE
}, 60_000);
afterAll(() => t?.drop());

const options = (over: Partial<IngestOptions> = {}): IngestOptions => ({
  batchType: 'POSITION_UPLOAD', mode: 'ALL_OR_NOTHING', sourceSystem: 'analyze-test', origin: { kind: 'api', step: 'test' }, ...over,
});
const rows = (n: number, from = 0) => Array.from({ length: n }, (_, k) => {
  const i = from + k;
  return { values: { nodeId: books[i % books.length]!.id, isin: isins[i % isins.length]!, quantity: `${i + 1}`, baseCurrency: 'USD', marketValue: `${i}.5`, asOfDate: '2026-11-30' } };
});
/** What the planner believes the position table holds (pg_class.reltuples, set by ANALYZE). */
const estimated = async () => (await t.db.sql.query<{ n: number }>(`SELECT reltuples::float8 AS n FROM pg_class WHERE oid = 'position'::regclass`))[0]!.n;
const real = async () => (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM position'))[0]!.n;

it('refreshes the statistics after a batch large against the table, so the estimate follows the data at once', async () => {
  const before = await estimated();
  expect(before).toBe(await real());
  const { batch } = await ingestPositionRows(t.db, rows(3_000), options({ analyzeAfterRows: 1_000 }));
  expect(batch.status).toBe('COMPLETED');
  expect(batch.acceptedCount).toBe(3_000);
  // The estimate is the table after the batch (ANALYZE counted it), not the 300 positions before.
  expect(await estimated()).toBe(await real());
  expect(await estimated()).toBeGreaterThanOrEqual(before + 3_000);
});

it('leaves the statistics alone for a small batch, or one small against the table', async () => {
  expect(await analyzeAfterWrite(t.db, 999, 1_000)).toBe(false);
  // 3,300 positions now: 150 rows are less than a twentieth of them.
  expect(await analyzeAfterWrite(t.db, 150, 100)).toBe(false);
  expect(await analyzeAfterWrite(t.db, 200, 100)).toBe(true);
  // The default threshold: 10,000 rows.
  expect(await analyzeAfterWrite(t.db, 9_999)).toBe(false);
});
