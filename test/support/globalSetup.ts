// Builds the migrated template database once per test run (see testDatabase.ts).
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { createPGlite } from '../../src/db/database';
import { pgliteRunner, pgRunner } from '../../src/db/sql';
import { migrate } from '../../src/db/migrate';
import { Client, Pool } from 'pg';
import {
  TEST_DATABASE_URL, adminQuery, databaseUrl, onPostgres, pgliteTemplatePath, templateDatabaseName,
} from './testDatabase';

async function postgresTemplate(): Promise<void> {
  const name = templateDatabaseName();
  const admin = new Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  await admin.end();
  if (rowCount) return;
  const building = `${name}_building`;
  await adminQuery(`DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
  // C collation: tests compare orderings with JavaScript's, whatever the server's default locale.
  await adminQuery(`CREATE DATABASE "${building}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
  const pool = new Pool({ connectionString: databaseUrl(TEST_DATABASE_URL as string, building), max: 1 });
  try {
    await migrate(pgRunner(pool));
  } finally {
    await pool.end();
  }
  await adminQuery(`ALTER DATABASE "${building}" RENAME TO "${name}"`);
}

async function pgliteTemplate(): Promise<void> {
  const path = pgliteTemplatePath();
  if (existsSync(path)) return;
  const db = await createPGlite();
  await migrate(pgliteRunner(db));
  const dump = await db.dumpDataDir('gzip');
  // Write then rename, so a concurrent run never reads half a file.
  writeFileSync(`${path}.${process.pid}`, Buffer.from(await dump.arrayBuffer()));
  renameSync(`${path}.${process.pid}`, path);
  await db.close();
}

export default async function globalSetup(): Promise<void> {
  await (onPostgres ? postgresTemplate() : pgliteTemplate());
}
