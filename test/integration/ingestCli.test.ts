// `npm run ingest` end to end, as a child process on a real database: the
// embedded one in a DATA_DIR of its own (opened by one process at a time, so
// the test opens it only between runs), or the PostgreSQL test database via
// DATABASE_URL. Checks exit codes, the batch and the rows written.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openDatabase, type Database } from '../../src/db/database';
import { migrate } from '../../src/db/migrate';
import { isinCheckDigit } from '../../src/domain/identifiers';
import { createChain, createInstrument } from '../support/factories';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/testDatabase';

jest.setTimeout(180_000);

const ROOT = resolve(__dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'ingest-cli-'));

interface Target {
  env: Record<string, string>;
  use<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  drop(): Promise<void>;
}

async function postgresTarget(): Promise<Target> {
  const t: TestDatabase = await createTestDatabase();
  return { env: { DATABASE_URL: t.url!, DATA_DIR: '' }, use: (fn) => fn(t.db), drop: () => t.drop() };
}

async function embeddedTarget(): Promise<Target> {
  const dataDir = join(dir, 'data');
  const use = async <T>(fn: (db: Database) => Promise<T>): Promise<T> => {
    const db = await openDatabase({ kind: 'embedded', dataDir });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };
  await use((db) => migrate(db.sql));
  return { env: { DATABASE_URL: '', DATA_DIR: dataDir }, use, drop: async () => undefined };
}

function ingest(target: Target, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'src/cli/ingest.ts', ...args], {
    cwd: ROOT, env: { ...process.env, ...target.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((done) => child.on('close', (code) => done({ code, stdout, stderr })));
}

let target: Target;
let nodes: string[];
let isins: string[];

beforeAll(async () => {
  target = onPostgres ? await postgresTarget() : await embeddedTarget();
  [nodes, isins] = await target.use(async (db) => {
    const { book, strategy } = await createChain(db, 'CLI');
    const bodies = Array.from({ length: 12 }, (_, i) => `XS${String(900_000_000 + i)}`);
    const instruments = await Promise.all(bodies.map((b) => createInstrument(db, { isin: `${b}${isinCheckDigit(b)}` })));
    return [[book.id, strategy.id], instruments.map((i) => i.isin!)];
  });
});
afterAll(async () => {
  await target?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const HEADER = 'nodeId,instrumentId,isin,cusip,ticker,quantity,baseCurrency,marketValue,asOfDate';
const ROWS = 3_000;
/** Row 1,500 has a cell too few, row 2,500 a quantity that is no number; every other row is valued. */
function csvLine(i: number): string {
  const row = i + 1;
  if (row === 1_500) return `${nodes[0]},,${isins[0]},,,5,USD,`;
  const quantity = row === 2_500 ? 'lots' : `${row}.25`;
  const isin = row === 2_000 ? isins[1]!.toLowerCase() : isins[i % isins.length];
  return `${nodes[i % 2]},,${isin},,,${quantity},USD,${row % 2 ? `${row}.5,2026-11-30` : ','}`;
}
const csvPath = join(dir, 'positions.csv');
const valuedValid = Array.from({ length: ROWS }, (_, i) => i + 1).filter((r) => r % 2 === 1 && r !== 1_500 && r !== 2_500).length;

interface StoredBatch {
  id: string;
  status: string;
  batch_type: string;
  source_system: string;
  row_count: number;
  accepted_count: number;
  rejected_count: number;
  validation_errors_json: { row: number; field: string | null; code: string }[];
}

const state = () =>
  target.use(async (db) => ({
    positions: (await db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM position'))[0]!.n,
    valuations: (await db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM valuation_result'))[0]!.n,
    batches: await db.sql.query<StoredBatch>(
      `SELECT id::text AS id, status::text AS status, batch_type::text AS batch_type, source_system, row_count, accepted_count,
              rejected_count, validation_errors_json FROM ingestion_batch ORDER BY started_at`,
    ),
  }));

describe('npm run ingest -- positions', () => {
  beforeAll(() => writeFileSync(csvPath, `${HEADER}\n${Array.from({ length: ROWS }, (_, i) => csvLine(i)).join('\n')}\n`));

  it('fails an ALL_OR_NOTHING file with a malformed line and a bad quantity: exit 1, nothing written', async () => {
    const run = await ingest(target, 'positions', csvPath);
    expect(run.stdout).toMatch(/POSITION_UPLOAD FAILED: 3,000 rows, 0 accepted, 2 rejected/);
    expect(run.code).toBe(1);
    const { positions, batches } = await state();
    expect(positions).toBe(0);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toMatchObject({ status: 'FAILED', row_count: 3_000, accepted_count: 0, rejected_count: 2, source_system: 'positions.csv' });
    expect(batches[0]!.validation_errors_json.map((e) => [e.row, e.field, e.code])).toEqual([
      [0, null, 'ROWS_REJECTED'], [1_500, null, 'BAD_USER_INPUT'], [2_500, 'quantity', 'BAD_USER_INPUT'],
    ]);
  });

  it('loads the valid rows with SKIP_INVALID (exit 0), once per idempotency key', async () => {
    const args = ['positions', csvPath, '--mode', 'SKIP_INVALID', '--batch-type', 'LOAN_SERVICING', '--source', 'servicer-x', '--idempotency-key', 'cli-1'];
    const run = await ingest(target, ...args);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/LOAN_SERVICING COMPLETED: 3,000 rows, 2,998 accepted, 2 rejected/);
    expect(run.stderr).toMatch(/rows 3,000/);
    const after = await state();
    expect(after.positions).toBe(2_998);
    expect(after.valuations).toBe(valuedValid);
    expect(after.batches[1]).toMatchObject({ status: 'COMPLETED', batch_type: 'LOAN_SERVICING', source_system: 'servicer-x', accepted_count: 2_998, rejected_count: 2 });
    const lineage = await target.use((db) => db.sql.query<{ metadata_json: Record<string, unknown> }>(
      'SELECT metadata_json FROM data_lineage WHERE ingestion_batch_id = $1', [after.batches[1]!.id],
    ));
    expect(lineage).toEqual([{ metadata_json: expect.objectContaining({ origin: 'cli', file: 'positions.csv', format: 'csv', positionsWritten: 2_998 }) }]);

    const again = await ingest(target, ...args);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`idempotency key seen before: batch ${after.batches[1]!.id}`));
    const last = await state();
    expect([last.positions, last.batches.length]).toEqual([2_998, 2]);
  });

  it('reads JSON { "rows": [...] } with numbers taken exactly, and --as-of for valuations without a date', async () => {
    const path = join(dir, 'positions.json');
    const rows = Array.from({ length: 40 }, (_, i) =>
      `{"nodeId": "${nodes[1]}", "isin": "${isins[2]}", "quantity": 123456789012345678.1234567891, "baseCurrency": "EUR", "marketValue": ${i}.12345678}`);
    writeFileSync(path, `{"source": "export", "rows": [\n${rows.join(',\n')}\n]}`);
    const run = await ingest(target, 'positions', path, '--as-of', '2026-12-31');
    expect(run.code).toBe(0);
    const stored = await target.use((db) => db.sql.query<{ q: string; v: string }>(
      `SELECT p.quantity::text AS q, v.market_value::text AS v FROM position p JOIN valuation_result v ON v.position_id = p.id
       WHERE v.as_of_date = '2026-12-31' ORDER BY v.market_value`,
    ));
    expect(stored).toHaveLength(40);
    expect(stored[7]).toEqual({ q: '123456789012345678.1234567891', v: '7.12345678' });
  });

  it('exits 2 with the usage on bad arguments, without touching the database', async () => {
    const cases = [[], ['positions'], ['trades', csvPath], ['positions', join(dir, 'missing.csv')], ['positions', csvPath, '--mode', 'SOME'],
      ['fx', csvPath, '--idempotency-key', 'k'], ['positions', csvPath, '--as-of', '2026-02-30'], ['positions', csvPath, '--frobnicate']];
    const runs = await Promise.all(cases.map((args) => ingest(target, ...args)));
    runs.forEach((run, i) => {
      expect([cases[i]!.join(' '), run.code]).toEqual([cases[i]!.join(' '), 2]);
      expect(run.stderr).toContain('usage: npm run ingest');
    });
  });
});
