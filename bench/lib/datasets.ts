// Benchmark data sets: one PostgreSQL database per size on the server of
// DATABASE_URL (`<db>_bench_10k`, `<db>_bench_100k`, `<db>_bench_1m`), created
// through an admin connection, migrated with the project's runner and seeded
// with the project's seed generator. A database is reused when its comment
// (the cache marker) says it holds exactly this seed, size, schema and
// generator; anything else (missing marker, a half-finished seed, a new
// migration, a changed generator) drops and rebuilds it. The marker is written
// last, so an interrupted seed is never mistaken for a finished one. The data
// sets of an earlier commit (--before, ./before.ts) follow the same protocol
// (cachedDatabase) and are read with presentDatasetFacts (no two clocks there).
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
      // (clock.ts and history.ts decide the recorded times and versions of the two clocks.)
      .filter((f) => ['world.ts', 'positions.ts', 'catalog.ts', 'random.ts', 'clock.ts', 'history.ts'].includes(f))
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

/** `<db>_bench_<label>`: the bench database of a size, next to the database of the admin URL. */
export function benchDatabaseName(adminUrl: string, positions: number): string {
  const base = decodeURIComponent(new URL(adminUrl).pathname.replace(/^\//, '')) || 'postgres';
  return `${base}_bench_${sizeLabel(positions)}`;
}

/**
 * The cache protocol of a bench database (ours here, an earlier commit's in bench/lib/before.ts):
 * under an advisory lock on its name, a database whose comment is `marker` is reused as it is;
 * else `update` may bring a cached one up to date in place (true: done); else it is dropped,
 * created, filled by `build`, vacuumed and analysed, and the marker is written last.
 */
export async function cachedDatabase(
  adminUrl: string,
  database: string,
  marker: string,
  log: (line: string) => void,
  steps: { build: (url: string) => Promise<void>; update?: (url: string, comment: string) => Promise<boolean> },
): Promise<{ url: string; seeded: boolean; seedSeconds: number | null }> {
  const url = withDatabase(adminUrl, database);
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
      return { url, seeded: false, seedSeconds: null };
    }
    const comment = found.rows[0]?.comment ?? '';
    if (comment && steps.update && (await steps.update(url, comment))) {
      await admin.query(`COMMENT ON DATABASE ${ident(database)} IS ${literal(marker)}`);
      return { url, seeded: false, seedSeconds: null };
    }
    if (found.rows.length > 0) {
      log(`  ${database}: marker ${comment ? 'differs' : 'missing'}, rebuilding`);
      await admin.query(`DROP DATABASE ${ident(database)} WITH (FORCE)`);
    }
    await admin.query(`CREATE DATABASE ${ident(database)}`);
    const started = Date.now();
    await steps.build(url);
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
    return { url, seeded: true, seedSeconds };
  } finally {
    await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [database]).catch(() => undefined);
    await admin.end();
  }
}

/**
 * Returns a database holding the seeded world of `positions` positions,
 * reusing a cached one when its marker matches.
 */
export async function prepareDataset(adminUrl: string, positions: number, log: (line: string) => void): Promise<Dataset> {
  const options = seedOptionsFor(positions);
  const label = sizeLabel(positions);
  const database = benchDatabaseName(adminUrl, positions);
  const marker = cacheMarker(options);
  const prepared = await cachedDatabase(adminUrl, database, marker, log, {
    // Same seed and generator, older schema: migrations are made to run on existing data, so apply them.
    update: async (url, comment) => {
      if (withoutSchema(comment) !== withoutSchema(marker)) return false;
      await migrateForward(url, database, log);
      return true;
    },
    build: async (url) => {
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
    },
  });
  return { positionsAsked: positions, label, database, marker, ...prepared };
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
  /** What the two-clock queries (group `history`) are asked about. Absent in results of runs before it. */
  history: HistoryFacts;
}

/** The points in time and the rows of the `history` group, chosen deterministically from the data. */
export interface HistoryFacts {
  /** Dates of FX_SPOT feeds that are the last weekday of their month, newest first. */
  fxMonthEnds: string[];
  /** position_version rows, and how many are superseded; superseded valuations and ratings; FX feeds restating an earlier one. */
  positionVersions: number;
  supersededVersions: number;
  supersededValuations: number;
  supersededRatings: number;
  restatedFxFeeds: number;
  /** The earliest and latest recorded_at of position_version (ISO, to the millisecond), and how many distinct values. */
  recordedFrom: string | null;
  recordedTo: string | null;
  distinctRecorded: number;
  /** The past moment of knowledge asked about (ISO, to the millisecond, never in the future), and how it was chosen. */
  knownAt: string;
  knownAtRule: string;
  /** The position of the one-row lookups: one with several versions and/or a superseded valuation when there is one. */
  position: { id: string; status: string; versions: number; restated: boolean; valuationDate: string | null };
  /** The issuer of rating(knownAt): one with a superseded S&P rating when there is one, else ratedIssuer. */
  issuer: { id: string; name: string; restated: boolean };
}

/** More than a day between the first and the last recorded_at: the data was recorded over time (not in one seed). */
const HISTORY_SPAN_MS = 86_400_000;
const WEEK_MS = 7 * 86_400_000;

/** ISO text of a timestamptz to the millisecond (truncated), in SQL. */
const isoMs = (expr: string) => `to_char(date_trunc('milliseconds', ${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

async function historyFacts(client: Client, ratedIssuer: DatasetFacts['ratedIssuer']): Promise<HistoryFacts> {
  const rows = async <T>(sql: string, params: unknown[] = []): Promise<T[]> => (await client.query(sql, params)).rows as T[];
  // A month-end: no later weekday in the same month (Friday: + 3 days; Saturday + 2; else + 1).
  const fxMonthEnds = (await rows<{ d: string }>(`
    SELECT DISTINCT to_char(f.as_of_date, 'YYYY-MM-DD') AS d FROM market_data_feed f
    WHERE f.feed_type = 'FX_SPOT' AND f.validation_status IN ('PASS', 'WARN')
      AND date_trunc('month', f.as_of_date + CASE extract(isodow FROM f.as_of_date) WHEN 5 THEN 3 WHEN 6 THEN 2 ELSE 1 END)
          <> date_trunc('month', f.as_of_date)
    ORDER BY 1 DESC`)).map((r) => r.d);
  const [counts] = await rows<Omit<HistoryFacts, 'fxMonthEnds' | 'knownAt' | 'knownAtRule' | 'position' | 'issuer' | 'recordedFrom' | 'recordedTo'> & {
    from_ms: string | null; to_ms: string | null; recordedFrom: string | null; recordedTo: string | null;
  }>(`
    SELECT count(*)::int AS "positionVersions",
           count(*) FILTER (WHERE superseded_at IS NOT NULL)::int AS "supersededVersions",
           (SELECT count(*)::int FROM valuation_result WHERE superseded_at IS NOT NULL) AS "supersededValuations",
           (SELECT count(*)::int FROM rating_history WHERE superseded_at IS NOT NULL) AS "supersededRatings",
           (SELECT count(*)::int FROM (SELECT as_of_date FROM market_data_feed WHERE feed_type = 'FX_SPOT' AND validation_status IN ('PASS', 'WARN')
                                       GROUP BY as_of_date HAVING count(*) > 1) r) AS "restatedFxFeeds",
           (extract(epoch FROM min(recorded_at)) * 1000)::text AS from_ms, (extract(epoch FROM max(recorded_at)) * 1000)::text AS to_ms,
           ${isoMs('min(recorded_at)')} AS "recordedFrom", ${isoMs('max(recorded_at)')} AS "recordedTo",
           count(DISTINCT recorded_at)::int AS "distinctRecorded"
    FROM position_version`);
  if (!counts) throw new Error('no row: position_version counts');
  const { from_ms, to_ms, ...rest } = counts;
  // knownAt: with recorded history, the median of the distinct recorded_at values of position_version
  // (to the millisecond); without, a week before the data was recorded (the seed). Never in the future.
  let knownAt: string;
  let knownAtRule: string;
  if (from_ms !== null && to_ms !== null && Number(to_ms) - Number(from_ms) > HISTORY_SPAN_MS) {
    const [median] = await rows<{ k: string }>(`
      SELECT ${isoMs('percentile_disc(0.5) WITHIN GROUP (ORDER BY r)')} AS k FROM (SELECT DISTINCT recorded_at AS r FROM position_version) d`);
    knownAt = median!.k;
    knownAtRule = `the median of the ${rest.distinctRecorded.toLocaleString('en')} distinct recorded_at values of position_version (${rest.recordedFrom} to ${rest.recordedTo})`;
  } else {
    const seeded = from_ms === null ? Date.now() : Math.floor(Number(from_ms));
    knownAt = new Date(seeded - WEEK_MS).toISOString();
    knownAtRule = `a week before the data was recorded (${from_ms === null ? 'no position versions' : `first recorded_at ${rest.recordedFrom}`}; no recorded history)`;
  }
  if (Date.parse(knownAt) > Date.now()) {
    knownAt = new Date().toISOString();
    knownAtRule += ', capped at now';
  }

  // The position: several versions and a superseded valuation, else either (an ACTIVE one first, then the most
  // versions, then by id), else the first ACTIVE position by id.
  const [changed] = await rows<HistoryFacts['position']>(`
    WITH multi AS (SELECT position_id, count(*)::int AS n FROM position_version GROUP BY position_id HAVING count(*) > 1),
         restated AS (SELECT position_id, max(as_of_date) AS d FROM valuation_result WHERE superseded_at IS NOT NULL GROUP BY position_id),
         candidates AS (SELECT position_id FROM multi UNION SELECT position_id FROM restated)
    SELECT p.id::text AS id, p.status::text AS status, COALESCE(m.n, 1) AS versions, r.position_id IS NOT NULL AS restated,
           to_char(COALESCE(r.d, (SELECT max(v.as_of_date) FROM valuation_result v WHERE v.position_id = p.id)), 'YYYY-MM-DD') AS "valuationDate"
    FROM candidates c JOIN position p ON p.id = c.position_id
    LEFT JOIN multi m ON m.position_id = p.id LEFT JOIN restated r ON r.position_id = p.id
    ORDER BY (m.position_id IS NOT NULL AND r.position_id IS NOT NULL) DESC, p.status = 'ACTIVE' DESC, COALESCE(m.n, 1) DESC, p.id
    LIMIT 1`);
  const [anyActive] = changed ? [changed] : await rows<HistoryFacts['position']>(`
    SELECT p.id::text AS id, p.status::text AS status, 1 AS versions, false AS restated,
           to_char((SELECT max(v.as_of_date) FROM valuation_result v WHERE v.position_id = p.id), 'YYYY-MM-DD') AS "valuationDate"
    FROM position p WHERE p.status = 'ACTIVE' ORDER BY p.id LIMIT 1`);
  if (!anyActive) throw new Error('no position for the history lookups');

  const [restatedIssuer] = await rows<{ id: string; name: string }>(`
    SELECT h.entity_id::text AS id, r.name FROM rating_history h JOIN reference_data r ON r.id = h.entity_id
    WHERE h.agency = 'SP' AND h.superseded_at IS NOT NULL
    GROUP BY h.entity_id, r.name ORDER BY count(*) DESC, h.entity_id LIMIT 1`);
  const issuer = restatedIssuer ? { ...restatedIssuer, restated: true } : { ...ratedIssuer, restated: false };
  return { fxMonthEnds, ...rest, knownAt, knownAtRule, position: anyActive, issuer };
}

/** The facts the present-day queries ask about: all a schema without recorded history (an earlier commit's) can answer. */
export type PresentFacts = Omit<DatasetFacts, 'history'>;

async function presentFacts(client: Client): Promise<PresentFacts> {
  const one = async <T>(sql: string, params: unknown[] = []): Promise<T> => {
    const { rows } = await client.query(sql, params);
    if (!rows[0]) throw new Error(`no row: ${sql}`);
    return rows[0] as T;
  };
  const counts = await one<Omit<PresentFacts, 'fund' | 'largestHolder' | 'ratedIssuer'>>(`
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
}

async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, application_name: 'pds-bench-facts' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function datasetFacts(url: string): Promise<DatasetFacts> {
  return withClient(url, async (client) => {
    const present = await presentFacts(client);
    return { ...present, history: await historyFacts(client, present.ratedIssuer) };
  });
}

/** The facts of the present-day queries only (no `history`): what `--before` reads from an earlier commit's data set. */
export const presentDatasetFacts = (url: string): Promise<PresentFacts> => withClient(url, presentFacts);
