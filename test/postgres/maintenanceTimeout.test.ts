// PostgreSQL only: migrations run without the request statement timeout. A
// migration's backfill of a large table (e.g. the latest valuation of a million
// positions) can take longer than DB_STATEMENT_TIMEOUT_MS; under that timeout it
// was cancelled and rolled back, so `npm run db:migrate` could not upgrade a
// large database.
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { databaseConfigFrom } from '../../src/config';
import { maintenanceConfig, openDatabase, type Database } from '../../src/db/database';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ migrated: false });
});
afterAll(() => t?.drop());

const SLOW = 'SELECT pg_sleep(0.6)';

it('a maintenance connection has no statement timeout; a request connection keeps it', async () => {
  const config = databaseConfigFrom({ DATABASE_URL: t.url, DB_STATEMENT_TIMEOUT_MS: '200' });
  const opened: Database[] = [];
  try {
    const request = await openDatabase(config);
    opened.push(request);
    await expect(request.sql.query(SLOW)).rejects.toMatchObject({ code: '57014' });
    const maintenance = await openDatabase(maintenanceConfig(config));
    opened.push(maintenance);
    await expect(maintenance.sql.query(SLOW)).resolves.toHaveLength(1);
  } finally {
    for (const db of opened) await db.close();
  }
});

it('npm run db:migrate applies a migration slower than the request statement timeout', async () => {
  // An event trigger makes one statement of the first migration (CREATE TABLE portfolio_node)
  // take 0.5 s: with DB_STATEMENT_TIMEOUT_MS=100 applied to it, the migration was cancelled.
  await t.db.sql.exec(`
    CREATE FUNCTION slow_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' AND object_identity = 'public.portfolio_node') THEN
        PERFORM pg_sleep(0.5);
      END IF;
    END $$;
    CREATE EVENT TRIGGER slow_ddl ON ddl_command_end EXECUTE FUNCTION slow_ddl();`);
  const root = join(__dirname, '../..');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/migrate.ts'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: t.url, DB_STATEMENT_TIMEOUT_MS: '100' },
  });
  expect(stdout).toMatch(/applied \d+ migration\(s\)/);
  const rows = await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL');
  const files = readdirSync(join(root, 'prisma/migrations')).filter((f) => /^\d{14}_/.test(f));
  expect(rows[0]!.n).toBe(files.length);
}, 60_000);
