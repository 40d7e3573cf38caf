// The migration runner: fresh apply, idempotent re-run, the ledger in Prisma's
// exact format, refusal of a changed applied migration, all-or-nothing per
// migration, and two runners at once.
import { cpSync, mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_MIGRATIONS_DIR, migrate, MigrationError, migrationChecksum, readMigrations } from '../../src/db/migrate';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

const INIT = readMigrations()[0]!.name;

function copyMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pds-migrations-'));
  cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

function addMigration(dir: string, name: string, sql: string): void {
  mkdirSync(join(dir, name));
  writeFileSync(join(dir, name, 'migration.sql'), sql);
}

async function tables(t: TestDatabase): Promise<string[]> {
  const rows = await t.db.sql.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name);
}

describe('migration runner', () => {
  let t: TestDatabase;
  beforeEach(async () => {
    t = await createTestDatabase({ migrated: false });
  });
  afterEach(() => t.drop());

  it('applies every migration to an empty database, then finds nothing to do', async () => {
    const first = await migrate(t.db.sql);
    expect(first.applied).toEqual(readMigrations().map((m) => m.name));
    expect(await tables(t)).toEqual([
      '_prisma_migrations', 'content_change', 'data_lineage', 'fx_spot', 'ingestion_batch', 'instrument', 'instrument_version', 'market_data_feed',
      'node_position_change', 'node_position_count', 'portfolio_node', 'portfolio_node_version', 'portfolio_snapshot', 'position', 'position_version', 'rating_history', 'reference_change', 'reference_data',
      'reference_data_version', 'snapshot_probe', 'valuation_result',
    ]);
    const second = await migrate(t.db.sql);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(first.applied);
    const [{ n }] = (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM "_prisma_migrations"')) as [{ n: number }];
    expect(n).toBe(first.applied.length);
  });

  it('records each migration in _prisma_migrations exactly as Prisma does', async () => {
    await migrate(t.db.sql);
    const columns = await t.db.sql.query<{ column_name: string; data_type: string; is_nullable: string; character_maximum_length: number | null }>(
      `SELECT column_name, data_type, is_nullable, character_maximum_length FROM information_schema.columns
       WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => [c.column_name, c.data_type, c.is_nullable, c.character_maximum_length])).toEqual([
      ['id', 'character varying', 'NO', 36],
      ['checksum', 'character varying', 'NO', 64],
      ['finished_at', 'timestamp with time zone', 'YES', null],
      ['migration_name', 'character varying', 'NO', 255],
      ['logs', 'text', 'YES', null],
      ['rolled_back_at', 'timestamp with time zone', 'YES', null],
      ['started_at', 'timestamp with time zone', 'NO', null],
      ['applied_steps_count', 'integer', 'NO', null],
    ]);
    const rows = await t.db.sql.query<Record<string, unknown>>('SELECT * FROM "_prisma_migrations"');
    const file = readFileSync(join(DEFAULT_MIGRATIONS_DIR, INIT, 'migration.sql'));
    const row = rows.find((r) => r.migration_name === INIT)!;
    expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Prisma's checksum: SHA-256 hex of the file's bytes.
    expect(row.checksum).toBe(require('node:crypto').createHash('sha256').update(file).digest('hex'));
    expect(row.checksum).toBe(migrationChecksum(file.toString('utf8')));
    expect(row.finished_at).toBeInstanceOf(Date);
    expect(row.rolled_back_at).toBeNull();
    expect(row.logs).toBeNull();
    expect(row.applied_steps_count).toBe(1);
    expect((row.finished_at as Date).getTime()).toBeGreaterThanOrEqual((row.started_at as Date).getTime());
  });

  it('refuses to continue when an applied migration was changed, naming it, and applies nothing', async () => {
    const dir = copyMigrations();
    await migrate(t.db.sql, { dir });
    writeFileSync(join(dir, INIT, 'migration.sql'), `${readFileSync(join(dir, INIT, 'migration.sql'), 'utf8')}\n-- edited\n`);
    addMigration(dir, '29990101000000_later', 'CREATE TABLE later_table (id int);');
    const run = migrate(t.db.sql, { dir });
    await expect(run).rejects.toBeInstanceOf(MigrationError);
    await expect(migrate(t.db.sql, { dir })).rejects.toThrow(new RegExp(`${INIT} was modified after it was applied`));
    expect(await tables(t)).not.toContain('later_table');
  });

  it('accepts a checksum recorded before git changed line endings (as Prisma does)', async () => {
    const dir = copyMigrations();
    const path = join(dir, INIT, 'migration.sql');
    await migrate(t.db.sql, { dir });
    writeFileSync(path, readFileSync(path, 'utf8').replace(/\n/g, '\r\n'));
    await expect(migrate(t.db.sql, { dir })).resolves.toMatchObject({ applied: [] });
  });

  it('applies a new migration whole or not at all, and names the one that failed', async () => {
    const dir = copyMigrations();
    await migrate(t.db.sql, { dir });
    addMigration(dir, '29990101000000_broken', 'CREATE TABLE half_done (id int);\nALTER TABLE no_such_table ADD COLUMN x int;');
    await expect(migrate(t.db.sql, { dir })).rejects.toThrow(/29990101000000_broken failed and was rolled back/);
    expect(await tables(t)).not.toContain('half_done');
    const names = await t.db.sql.query<{ migration_name: string }>('SELECT migration_name FROM "_prisma_migrations"');
    expect(names.map((r) => r.migration_name).sort()).toEqual(readMigrations().map((m) => m.name));
  });

  it('stops on a migration that Prisma recorded as failed', async () => {
    await migrate(t.db.sql);
    await t.db.sql.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ('00000000-0000-4000-8000-000000000000', $1, '20000101000000_failed', now(), 0)`,
      ['0'.repeat(64)],
    );
    await expect(migrate(t.db.sql)).rejects.toThrow(/20000101000000_failed failed earlier/);
  });

  it('lets two runners race without applying anything twice', async () => {
    const results = await Promise.all([migrate(t.db.sql), migrate(t.db.sql), migrate(t.db.sql)]);
    const applied = results.flatMap((r) => r.applied);
    expect(applied.sort()).toEqual(readMigrations().map((m) => m.name));
    const rows = await t.db.sql.query('SELECT 1 FROM "_prisma_migrations"');
    expect(rows).toHaveLength(readMigrations().length);
  });
});
