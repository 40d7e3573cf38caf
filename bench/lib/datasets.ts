// Benchmark data sets: one PostgreSQL database per size on the server of
// DATABASE_URL (`<db>_bench_10k`, `<db>_bench_100k`, `<db>_bench_1m`), created
// through an admin connection, migrated with the project's runner and seeded
// with the project's seed generator. A database is reused when its comment
// (the cache marker) says it holds exactly this seed, size, schema and
// generator; anything else (missing marker, a half-finished seed, a new
// migration, a changed generator) drops and rebuilds it. The marker is written
// last, so an interrupted seed is never mistaken for a finished one.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { databaseConfigFrom } from '../../src/config';
import { openDatabase } from '../../src/db/database';
import { migrate, readMigrations } from '../../src/db/migrate';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS, type SeedOptions } from '../../src/services/seed/world';

export const BENCH_SEED = 42;
export const BENCH_AS_OF = DEFAULT_SEED_OPTIONS.asOf;

export interface Dataset {
  positionsAsked: number;
  label: string;
  database: string;
  url: string;
  /** True when the database was (re)built by this run. */
  seeded: boolean;
  seedSeconds: number | null;
  marker: string;
}

/** 10000 -> 10k, 1000000 -> 1m, 2500 -> 2500. */
export function sizeLabel(n: number): string {
  if (n >= 1_000_000 && n % 1_000_000 === 0) return `${n / 1_000_000}m`;
  if (n >= 1_000 && n % 1_000 === 0) return `${n / 1_000}k`;
  return String(n);
}

export function seedOptionsFor(positions: number): SeedOptions {
  return { ...DEFAULT_SEED_OPTIONS, seed: BENCH_SEED, positions };
}

const short = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** Checksums of the migrations and of the seed generator's sources: a change to either invalidates the cache. */
export function cacheMarker(options: SeedOptions): string {
  const schema = short(readMigrations().map((m) => `${m.name}:${m.checksum}`).join('\n'));
  const seedDir = resolve(__dirname, '../../src/services/seed');
  const generator = short(
    readdirSync(seedDir)
      // The files that decide what is generated (not how it is loaded).
      .filter((f) => ['world.ts', 'positions.ts', 'catalog.ts', 'random.ts'].includes(f))
      .sort()
      .map((f) => `${f}:${readFileSync(join(seedDir, f), 'utf8')}`)
      .join('\n'),
  );
  return `pds-bench seed=${options.seed} positions=${options.positions} funds=${options.funds} dates=${options.valuationDates} asOf=${options.asOf} schema=${schema} generator=${generator}`;
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

const withoutSchema = (marker: string) => marker.replace(/ schema=\S+/, '');

async function migrateForward(url: string, database: string, log: (line: string) => void): Promise<void> {
  const started = Date.now();
  const db = await openDatabase(databaseConfigFrom({ DATABASE_URL: url, DB_STATEMENT_TIMEOUT_MS: '3600000', DB_POOL_MAX: '2' }));
  try {
    const report = await migrate(db.sql);
    await db.sql.exec('VACUUM (ANALYZE)');
    log(`  ${database}: cached data, applied ${report.applied.join(', ') || 'no'} migration(s) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await db.close();
  }
}

/**
 * Returns a database holding the seeded world of `positions` positions,
 * reusing a cached one when its marker matches.
 */
export async function prepareDataset(adminUrl: string, positions: number, log: (line: string) => void): Promise<Dataset> {
  const options = seedOptionsFor(positions);
  const base = decodeURIComponent(new URL(adminUrl).pathname.replace(/^\//, '')) || 'postgres';
  const label = sizeLabel(positions);
  const database = `${base}_bench_${label}`;
  const url = withDatabase(adminUrl, database);
  const marker = cacheMarker(options);
  const admin = new Client({ connectionString: adminUrl, application_name: 'pds-bench-admin' });
  await admin.connect();
  try {
    // Two bench runs preparing the same size wait for each other instead of racing.
    await admin.query('SELECT pg_advisory_lock(hashtext($1))', [database]);
    const found = await admin.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [database],
    );
    if (found.rows[0]?.comment === marker) {
      log(`  ${database}: cached (${marker.split(' ').slice(1, 3).join(' ')})`);
      return { positionsAsked: positions, label, database, url, seeded: false, seedSeconds: null, marker };
    }
    // Same seed and generator, older schema: migrations are made to run on existing data, so apply them.
    const comment = found.rows[0]?.comment ?? '';
    if (comment && withoutSchema(comment) === withoutSchema(marker)) {
      await migrateForward(url, database, log);
      await admin.query(`COMMENT ON DATABASE ${ident(database)} IS ${literal(marker)}`);
      return { positionsAsked: positions, label, database, url, seeded: false, seedSeconds: null, marker };
    }
    if (found.rows.length > 0) {
      log(`  ${database}: marker ${found.rows[0]?.comment ? 'differs' : 'missing'}, rebuilding`);
      await admin.query(`DROP DATABASE ${ident(database)} WITH (FORCE)`);
    }
    await admin.query(`CREATE DATABASE ${ident(database)}`);
    const started = Date.now();
    const db = await openDatabase(databaseConfigFrom({ DATABASE_URL: url, DB_STATEMENT_TIMEOUT_MS: '3600000', DB_POOL_MAX: '2' }));
    try {
      await migrate(db.sql);
      const world = buildWorld(options);
      let last = 0;
      const summary = await loadWorld(db.sql, world, {
        reset: true,
        onProgress: (p) => {
          if (Date.now() - last < 10_000 && p.positions < p.totalPositions) return;
          last = Date.now();
          log(`  ${database}: ${p.positions.toLocaleString('en')}/${p.totalPositions.toLocaleString('en')} positions, ${p.valuations.toLocaleString('en')} valuations, ${((Date.now() - started) / 1000).toFixed(0)} s`);
        },
      });
      log(`  ${database}: loaded ${JSON.stringify(summary)}`);
    } finally {
      await db.close();
    }
    // The steady state of a table autovacuum has visited: visibility map set (index-only scans), fresh statistics.
    const target = new Client({ connectionString: url, application_name: 'pds-bench-admin' });
    await target.connect();
    try {
      await target.query('VACUUM (ANALYZE)');
    } finally {
      await target.end();
    }
    await admin.query(`COMMENT ON DATABASE ${ident(database)} IS ${literal(marker)}`);
    const seedSeconds = (Date.now() - started) / 1000;
    log(`  ${database}: seeded in ${seedSeconds.toFixed(0)} s`);
    return { positionsAsked: positions, label, database, url, seeded: true, seedSeconds, marker };
  } finally {
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [database]).catch(() => undefined);
    await admin.end();
  }
}

export interface DatasetFacts {
  positions: number;
  activePositions: number;
  nodes: number;
  valuations: number;
  instruments: number;
  issuers: number;
  ratings: number;
  fxFeeds: number;
  databaseBytes: number;
  fund: { id: string; name: string; baseCcy: string; nodes: number; positions: number; activePositions: number; depth: number };
  /** A BOOK or STRATEGY node of the largest fund holding the most positions. */
  largestHolder: { id: string; name: string; positions: number };
  /** The issuer with the longest S&P history (for the rating lookup). */
  ratedIssuer: { id: string; name: string };
}

export async function datasetFacts(url: string): Promise<DatasetFacts> {
  const client = new Client({ connectionString: url, application_name: 'pds-bench-facts' });
  await client.connect();
  try {
    const one = async <T>(sql: string, params: unknown[] = []): Promise<T> => {
      const { rows } = await client.query(sql, params);
      if (!rows[0]) throw new Error(`no row: ${sql}`);
      return rows[0] as T;
    };
    const counts = await one<Omit<DatasetFacts, 'fund' | 'largestHolder' | 'ratedIssuer'>>(`
      SELECT (SELECT count(*)::int FROM position) AS positions,
             (SELECT count(*)::int FROM position WHERE status = 'ACTIVE') AS "activePositions",
             (SELECT count(*)::int FROM portfolio_node) AS nodes,
             (SELECT count(*)::int FROM valuation_result) AS valuations,
             (SELECT count(*)::int FROM instrument) AS instruments,
             (SELECT count(*)::int FROM reference_data WHERE entity_type = 'ISSUER') AS issuers,
             (SELECT count(*)::int FROM rating_history) AS ratings,
             (SELECT count(*)::int FROM market_data_feed WHERE feed_type = 'FX_SPOT') AS "fxFeeds",
             pg_database_size(current_database())::float8 AS "databaseBytes"`);
    const fund = await one<DatasetFacts['fund']>(`
      SELECT f.id::text AS id, f.name, f.base_ccy AS "baseCcy",
             (SELECT count(*)::int FROM portfolio_node n WHERE n.fund_id = f.id) AS nodes,
             count(p.id)::int AS positions, count(p.id) FILTER (WHERE p.status = 'ACTIVE')::int AS "activePositions",
             4 AS depth
      FROM portfolio_node f JOIN portfolio_node n ON n.fund_id = f.id JOIN position p ON p.portfolio_node_id = n.id
      WHERE f.parent_id IS NULL GROUP BY f.id ORDER BY positions DESC, f.id LIMIT 1`);
    const holder = await one<DatasetFacts['largestHolder']>(`
      SELECT n.id::text AS id, n.name, count(*)::int AS positions FROM portfolio_node n JOIN position p ON p.portfolio_node_id = n.id
      WHERE n.fund_id = $1 GROUP BY n.id ORDER BY positions DESC, n.id LIMIT 1`, [fund.id]);
    const rated = await one<DatasetFacts['ratedIssuer']>(`
      SELECT r.id::text AS id, r.name FROM reference_data r JOIN rating_history h ON h.entity_id = r.id AND h.agency = 'SP'
      GROUP BY r.id ORDER BY count(*) DESC, r.id LIMIT 1`);
    return { ...counts, fund, largestHolder: holder, ratedIssuer: rated };
  } finally {
    await client.end();
  }
}
