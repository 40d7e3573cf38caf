// Real databases for integration tests: a throw-away database per test file on
// the PostgreSQL server named by TEST_DATABASE_URL, or a fresh embedded PGlite
// instance when it is not set. Migrated databases are cloned from a template
// that globalSetup built with our migration runner, so every file starts from
// exactly what `npm run db:migrate` produces.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createPGlite, openDatabase, type Database } from '../../src/db/database';
import { migrate, migrationChecksum, readMigrations } from '../../src/db/migrate';
import { pgliteRunner } from '../../src/db/sql';
import { checkSnapshotsReproducible } from './snapshotReplay';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL?.trim() || undefined;
export const onPostgres = TEST_DATABASE_URL !== undefined;
/**
 * `npm run test:production`: the service as production runs it. Services start with production
 * settings and JWT authentication (test/support/http.ts), and an embedded database is created and
 * migrated in the process that uses it, as `npm start` does on its first start, instead of being
 * loaded from the migrated template.
 */
export const productionMode = process.env.NODE_ENV === 'production';

/** A name that changes whenever a migration file changes, so a stale template is never used. */
export function templateKey(): string {
  // v2: C collation
  return migrationChecksum(`v2${readMigrations().map((m) => m.checksum).join('')}`).slice(0, 12);
}

export const templateDatabaseName = () => `pds_template_${templateKey()}`;
export const pgliteTemplatePath = () => join(tmpdir(), `pds-pglite-template-${templateKey()}.tar.gz`);

export function databaseUrl(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  db: Database;
  /** The connection string (PostgreSQL only). */
  url?: string;
  name: string;
  drop(): Promise<void>;
}

async function createPostgres(migrated: boolean): Promise<TestDatabase> {
  const name = `pds_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${migrated ? templateDatabaseName() : 'template0'}" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  const url = databaseUrl(TEST_DATABASE_URL as string, name);
  const db = await openDatabase({
    kind: 'postgres', url, poolMax: 5, connectTimeoutMs: 5_000, statementTimeoutMs: 60_000, idleTimeoutMs: 10_000, jit: false,
  });
  return {
    db,
    url,
    name,
    drop: async () => {
      try {
        if (migrated) await checkSnapshotsReproducible(db);
      } finally {
        await db.close();
        await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      }
    },
  };
}

async function createEmbedded(migrated: boolean): Promise<TestDatabase> {
  const pglite = migrated && !productionMode
    ? await createPGlite(undefined, { loadDataDir: new Blob([readFileSync(pgliteTemplatePath())]) })
    : await createPGlite();
  if (migrated && productionMode) await migrate(pgliteRunner(pglite));
  const db = await openDatabase({ kind: 'embedded', dataDir: ':memory:' }, { pglite });
  return {
    db,
    name: 'pglite',
    drop: async () => {
      try {
        if (migrated) await checkSnapshotsReproducible(db);
      } finally {
        await db.close();
      }
    },
  };
}

/** A database of its own for one test file; migrated unless asked otherwise. */
export function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const migrated = options.migrated ?? true;
  return onPostgres ? createPostgres(migrated) : createEmbedded(migrated);
}
