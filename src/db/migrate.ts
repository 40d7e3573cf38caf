// Applies prisma/migrations where the Prisma CLI cannot run (machines without
// Prisma's schema engine, air-gapped sites, the embedded database), and
// records them in `_prisma_migrations` exactly as `prisma migrate deploy`
// does, so that Prisma later finds nothing to do.
//
// Invariants:
// - migrations are applied in directory-name order, each in its own
//   transaction together with its ledger row: a migration is either applied
//   and recorded, or neither;
// - every transaction holds Prisma's own advisory lock (72707369), so this
//   runner, a second copy of it and `prisma migrate deploy` exclude each other;
// - an applied migration whose file changed, or a migration Prisma recorded
//   as failed, stops the run before anything is applied.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { SqlRunner, SqlSession } from './sql';

/** The advisory lock key Prisma Migrate takes (schema-engine, postgres connector). */
export const PRISMA_MIGRATE_LOCK_KEY = 72707369;

export const DEFAULT_MIGRATIONS_DIR = resolve(__dirname, '../../prisma/migrations');

export interface MigrationFile {
  name: string;
  script: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
  /** Recorded in the database but absent from the directory (applied by a newer release). */
  unknown: string[];
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly migration: string,
  ) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** SHA-256 hex of the script's bytes: the checksum Prisma stores. */
export function migrationChecksum(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex');
}

/** Prisma accepts a checksum computed before or after git changed the line endings. */
function checksumMatches(script: string, checksum: string): boolean {
  const lf = script.replace(/\r\n/g, '\n');
  return [script, lf, lf.replace(/\n/g, '\r\n')].some((variant) => migrationChecksum(variant) === checksum);
}

export function readMigrations(dir: string = DEFAULT_MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, 'migration.sql')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const script = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, script, checksum: migrationChecksum(script) };
    });
}

// The ledger exactly as Prisma's schema engine creates it on PostgreSQL.
const CREATE_LEDGER = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface LedgerRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

async function lockAndReadLedger(tx: SqlSession): Promise<LedgerRow[]> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [PRISMA_MIGRATE_LOCK_KEY]);
  await tx.exec(CREATE_LEDGER);
  return tx.query<LedgerRow>(
    'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at, migration_name',
  );
}

/** Throws when the ledger and the directory disagree in a way that must stop a deploy. */
function verifyLedger(ledger: LedgerRow[], files: MigrationFile[]): void {
  for (const row of ledger) {
    if (row.finished_at === null && row.rolled_back_at === null) {
      throw new MigrationError(
        `Migration ${row.migration_name} failed earlier and is not resolved; ` +
          'fix the database, then mark it with `prisma migrate resolve`.',
        row.migration_name,
      );
    }
    const file = files.find((f) => f.name === row.migration_name);
    if (file && row.rolled_back_at === null && !checksumMatches(file.script, row.checksum)) {
      throw new MigrationError(
        `Migration ${row.migration_name} was modified after it was applied ` +
          `(recorded checksum ${row.checksum}, file ${file.checksum}). ` +
          'Restore the file; make changes in a new migration.',
        row.migration_name,
      );
    }
  }
}

function isApplied(ledger: LedgerRow[], name: string): boolean {
  return ledger.some((row) => row.migration_name === name && row.finished_at !== null && row.rolled_back_at === null);
}

export async function migrate(
  sql: SqlRunner,
  options: { dir?: string; onApply?: (name: string) => void } = {},
): Promise<MigrationReport> {
  const files = readMigrations(options.dir);
  const report: MigrationReport = { applied: [], alreadyApplied: [], unknown: [] };

  const initial = await sql.transaction((tx) => lockAndReadLedger(tx));
  verifyLedger(initial, files);
  report.unknown = [...new Set(initial.map((r) => r.migration_name))].filter(
    (name) => !files.some((f) => f.name === name),
  );

  for (const file of files) {
    // Re-read under the lock: another runner may have applied it meanwhile.
    const applied = await sql.transaction(async (tx) => {
      const ledger = await lockAndReadLedger(tx);
      verifyLedger(ledger, files);
      if (isApplied(ledger, file.name)) return false;
      options.onApply?.(file.name);
      const [clock] = await tx.query<{ started_at: Date }>('SELECT clock_timestamp() AS started_at');
      try {
        await tx.exec(file.script);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new MigrationError(`Migration ${file.name} failed and was rolled back: ${reason}`, file.name);
      }
      await tx.query(
        `INSERT INTO "_prisma_migrations"
           (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
         VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, $4, 1)`,
        [randomUUID(), file.checksum, file.name, clock?.started_at],
      );
      return true;
    });
    (applied ? report.applied : report.alreadyApplied).push(file.name);
  }
  return report;
}
