// PostgreSQL only: Prisma's own migration engine and our runner (`npm run db:migrate`,
// src/db/migrate.ts) must agree on prisma/migrations. Users deploy with `prisma migrate deploy`
// on connected machines and with our runner where the Prisma CLI cannot fetch its engine; a
// database migrated by either must look fully migrated to the other, and both must build the
// same schema, hand-written constraints, triggers and plpgsql functions included. The engine is
// Prisma 6.19's WebAssembly build on a driver adapter (test/support/prismaEngine.ts), the only
// one that runs offline. The migration list is read from the folder at run time, so new
// migrations are covered without touching this file.
import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { migrate, readMigrations } from '../../src/db/migrate';
import { pgRunner } from '../../src/db/sql';
import {
  catalogSnapshot, preparePrismaEngine, type CatalogSnapshot, type CliResult, type PrismaEngine,
} from '../support/prismaEngine';
import { TEST_DATABASE_URL, adminQuery, databaseUrl } from '../support/testDatabase';

const migrations = readMigrations();
const names = migrations.map((m) => m.name);
const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
/** Migrated by Prisma's engine first, then offered to our runner. */
const byPrisma = `pds_prisma_engine_${suffix}`;
/** Migrated by our runner first, then offered to Prisma's engine. */
const byRunner = `pds_our_runner_${suffix}`;
const url = (name: string) => databaseUrl(TEST_DATABASE_URL as string, name);

let engine: PrismaEngine;

beforeAll(async () => {
  engine = preparePrismaEngine();
  for (const name of [byPrisma, byRunner]) {
    await adminQuery(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  }
});

afterAll(async () => {
  engine?.dispose();
  for (const name of [byPrisma, byRunner]) await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
});

async function withClient<T>(name: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url(name) });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function runOurMigrations(name: string) {
  const pool = new Pool({ connectionString: url(name), max: 2 });
  try {
    return await migrate(pgRunner(pool));
  } finally {
    await pool.end();
  }
}

interface LedgerRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished: boolean;
  rolled_back: boolean;
  logs: string | null;
  applied_steps_count: number;
}

const readLedger = (name: string) =>
  withClient(name, async (client) => {
    const { rows } = await client.query<LedgerRow>(
      `SELECT id, migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at IS NOT NULL AS rolled_back,
              logs, applied_steps_count
         FROM "_prisma_migrations" ORDER BY migration_name, started_at`,
    );
    return rows;
  });

/** Fails with Prisma's own output, which says why far better than an exit code. */
function expectExit(result: CliResult, expected: 'success' | 'failure'): void {
  const ok = expected === 'success' ? result.code === 0 : result.code !== 0 && result.code !== null;
  if (!ok) throw new Error(`prisma exited with ${result.code}, expected ${expected}:\n${result.output}`);
}

const snapshot = (name: string): Promise<CatalogSnapshot> =>
  withClient(name, (client) => catalogSnapshot(async (sql) => (await client.query(sql)).rows));

it('the migrations folder has migrations to judge', () => {
  expect(names.length).toBeGreaterThan(0);
});

it("Prisma's migrate deploy applies every migration on a fresh database; our runner then finds nothing to do", async () => {
  // The engine reads the folder and sees every migration as pending (non-zero exit: not up to date).
  const before = await engine.migrate('status', url(byPrisma));
  expectExit(before, 'failure');
  expect(before.output).toMatch(/not yet been applied/);
  for (const name of names) expect(before.output).toContain(name);

  const deploy = await engine.migrate('deploy', url(byPrisma));
  expectExit(deploy, 'success');
  expect(deploy.output).toMatch(/All migrations have been successfully applied/);

  // Prisma recorded each one as applied once, with the file's checksum.
  const ledger = await readLedger(byPrisma);
  expect(ledger.map((r) => [r.migration_name, r.checksum, r.finished, r.rolled_back])).toEqual(
    migrations.map((m) => [m.name, m.checksum, true, false]),
  );

  const report = await runOurMigrations(byPrisma);
  expect(report).toEqual({ applied: [], alreadyApplied: names, unknown: [] });
  expect(await readLedger(byPrisma)).toEqual(ledger);
});

it("after our runner, Prisma's migrate status reports the database up to date and migrate deploy applies nothing", async () => {
  const report = await runOurMigrations(byRunner);
  expect(report).toEqual({ applied: names, alreadyApplied: [], unknown: [] });
  const ledger = await readLedger(byRunner);

  const status = await engine.migrate('status', url(byRunner));
  expectExit(status, 'success');
  expect(status.output).toMatch(/Database schema is up to date/);
  expect(status.output).not.toMatch(/not yet been applied|failed|modified/i);

  const deploy = await engine.migrate('deploy', url(byRunner));
  expectExit(deploy, 'success');
  expect(deploy.output).toMatch(/No pending migrations to apply/);
  // Nothing was applied, re-recorded or marked: the ledger is row for row what our runner wrote.
  expect(await readLedger(byRunner)).toEqual(ledger);
});

it('both databases end up with the same schema and the same ledger', async () => {
  const [prisma, ours] = await Promise.all([snapshot(byPrisma), snapshot(byRunner)]);
  // Not two empty snapshots: the migrations created tables, and the ledger table is among them.
  expect(prisma.relations).toEqual(expect.arrayContaining([expect.objectContaining({ relname: '_prisma_migrations' })]));
  expect(prisma.columns!.length).toBeGreaterThan(names.length);
  // Tables, columns, indexes, constraints, triggers, functions, types, extensions... and also the
  // `_prisma_migrations` table Prisma created against the one our runner created.
  expect(ours).toEqual(prisma);

  const ledgerShape = (rows: LedgerRow[]) => rows.map(({ id: _id, ...row }) => row);
  expect(ledgerShape(await readLedger(byRunner))).toEqual(ledgerShape(await readLedger(byPrisma)));
});
