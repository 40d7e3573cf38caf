// Loads a generated world in one transaction with set-based inserts
// (INSERT ... SELECT FROM unnest($1::type[], ...)): one statement per table
// chunk instead of one per row, on PostgreSQL and PGlite alike. The world
// brings its own recorded history (position versions, superseded valuations,
// a restated feed, recorded times in the past), written as it is rather than
// stamped with the loading transaction's moment.
import { createHash } from 'node:crypto';
import type { SqlRunner, SqlSession } from '../../db/sql';
import { positionChunks, type PositionChunk, type ValuationRow } from './positions';
import type { World } from './world';

/**
 * [column, element type of the parameter array, optional cast of the element].
 * Enum columns travel as text[] and are cast per element: a driver only knows
 * how to serialise arrays of types it has seen (PGlite learns enum array types
 * at start-up, before a first migration has created them).
 */
type Column = readonly [name: string, sqlType: string, cast?: string];

/** Rows are objects keyed by column name; values are strings (numerics, dates, JSON) or null. */
export async function bulkInsert(
  tx: SqlSession,
  table: string,
  columns: readonly Column[],
  rows: readonly object[],
  chunkSize = 10_000,
  /** Columns given one value per statement: [column, SQL expression without parameters], e.g. an InitPlan. */
  perStatement: readonly (readonly [name: string, expression: string])[] = [],
): Promise<void> {
  const names = [...columns.map(([name]) => `"${name}"`), ...perStatement.map(([name]) => `"${name}"`)].join(', ');
  const arrays = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  const select = [...columns.map(([, , cast], i) => (cast ? `c${i}::${cast}` : `c${i}`)), ...perStatement.map(([, expression]) => expression)].join(', ');
  const aliases = columns.map((_c, i) => `c${i}`).join(', ');
  const sql = `INSERT INTO "${table}" (${names}) SELECT ${select} FROM unnest(${arrays}) AS u(${aliases})`;
  for (let start = 0; start < rows.length; start += chunkSize) {
    const slice = rows.slice(start, start + chunkSize) as Record<string, unknown>[];
    await tx.query(sql, columns.map(([name]) => slice.map((row) => row[name] ?? null)));
  }
}

const REFERENCE_COLUMNS: readonly Column[] = [
  ['id', 'uuid'], ['entity_type', 'text', 'reference_entity_type'], ['name', 'text'], ['code', 'text'], ['ticker', 'text'],
  ['lei', 'text'], ['parent_entity_id', 'uuid'], ['sector_id', 'uuid'], ['geography_id', 'uuid'], ['attributes_json', 'jsonb'],
];
const RATING_COLUMNS: readonly Column[] = [
  ['id', 'uuid'], ['entity_id', 'uuid'], ['agency', 'text', 'rating_agency'], ['rating', 'text'], ['as_of_date', 'date'], ['recorded_at', 'timestamptz'],
];
const INSTRUMENT_COLUMNS: readonly Column[] = [
  ['id', 'uuid'], ['name', 'text'], ['asset_class', 'text', 'asset_class'], ['currency', 'text'], ['isin', 'text'], ['cusip', 'text'],
  ['ticker', 'text'], ['issuer_id', 'uuid'], ['maturity_date', 'date'], ['attributes_json', 'jsonb'],
];
const NODE_COLUMNS: readonly Column[] = [['id', 'uuid'], ['name', 'text'], ['node_type', 'text', 'node_type'], ['parent_id', 'uuid'], ['base_ccy', 'text'], ['tags_json', 'jsonb']];
const POSITION_COLUMNS: readonly Column[] = [
  ['id', 'uuid'], ['portfolio_node_id', 'uuid'], ['instrument_id', 'uuid'], ['quantity', 'numeric'], ['base_ccy', 'text'], ['status', 'text', 'position_status'],
  ['opened_on', 'date'], ['closed_on', 'date'], ['state_from', 'date'], ['last_recorded_at', 'timestamptz'],
];
const VERSION_COLUMNS: readonly Column[] = [
  ['position_id', 'uuid'], ['valid_from', 'date'], ['valid_to', 'date'], ['quantity', 'numeric'], ['status', 'text', 'position_status'],
  ['recorded_at', 'timestamptz'], ['superseded_at', 'timestamptz'],
];
const VALUATION_COLUMNS: readonly Column[] = [
  ['id', 'uuid'], ['position_id', 'uuid'], ['portfolio_node_id', 'uuid'], ['as_of_date', 'date'], ['valid_to', 'date'], ['market_value', 'numeric'], ['currency', 'text'],
  ['recorded_at', 'timestamptz'], ['superseded_at', 'timestamptz'],
];
const STATE_FROM_COLUMNS: readonly Column[] = [['id', 'uuid'], ['state_from', 'date']];

export interface SeedProgress {
  positions: number;
  valuations: number;
  totalPositions: number;
}

export interface SeedSummary {
  referenceEntities: number;
  ratings: number;
  instruments: number;
  nodes: number;
  positions: number;
  /** Every version of every position, current and superseded. */
  positionVersions: number;
  /** Every valuation version, current and superseded. */
  valuations: number;
  /** Valuation versions superseded by a correction. */
  supersededValuations: number;
  fxFeeds: number;
  /** FX_SPOT feeds that restate an earlier feed of the same date (counted in fxFeeds too). */
  restatedFxFeeds: number;
}

export class SeedTargetNotEmptyError extends Error {
  constructor() {
    super('The database already holds portfolio data; run the seed with --reset to replace it.');
    this.name = 'SeedTargetNotEmptyError';
  }
}

// content_change and reference_change are never truncated: their sums are versions that
// cached results are checked against, and must never come back to an earlier value
// (the tables' TRUNCATE triggers count this truncation in them). CASCADE: also the tables
// that only hang off these (versions kept by triggers).
const DATA_TABLES = [
  'snapshot_probe', 'valuation_result', 'position_version', 'position', 'portfolio_snapshot', 'portfolio_node', 'fx_spot', 'data_lineage',
  'market_data_feed', 'ingestion_batch', 'rating_history', 'instrument_version', 'instrument', 'reference_data_version', 'reference_data',
];

const FEED_COLUMNS: readonly Column[] = [
  ['id', 'uuid'], ['feed_type', 'text', 'feed_type'], ['as_of_date', 'date'], ['source', 'text'], ['payload_json', 'jsonb'],
  ['payload_hash', 'text'], ['validation_status', 'text', 'validation_status'], ['validation_json', 'jsonb'], ['recorded_at', 'timestamptz'],
];
const FX_COLUMNS: readonly Column[] = [['pair', 'text'], ['snapshot_id', 'uuid'], ['rate', 'numeric']];
const LINEAGE_COLUMNS: readonly Column[] = [
  ['feed_id', 'uuid'], ['source_system', 'text'], ['transformation_chain', 'text', 'text[]'], ['quality_checks', 'jsonb'], ['metadata_json', 'jsonb'],
];

interface Batch {
  table: string;
  columns: readonly Column[];
  rows: readonly object[];
  /**
   * insert (default); or state_from: set these positions' state_from (an ACTIVE position's insert
   * trigger takes it from opened_on; the loader's versions start its latest state later).
   */
  mode?: 'insert' | 'state_from';
  /** The recording stamp of what triggers record for these rows (reference data, instrument and node versions). */
  recordedAt?: string;
}

/** The rows of the world besides positions, table by table in foreign-key order. */
function* referenceBatches(world: World): Generator<Batch> {
  const recordedAt = world.referenceRecordedAt;
  yield { table: 'reference_data', columns: REFERENCE_COLUMNS, rows: world.referenceData, recordedAt };
  yield { table: 'rating_history', columns: RATING_COLUMNS, rows: world.ratings };
  yield { table: 'instrument', columns: INSTRUMENT_COLUMNS, rows: world.instruments, recordedAt };
  yield { table: 'portfolio_node', columns: NODE_COLUMNS, rows: world.nodes, recordedAt };
  const feeds = world.fxFeeds;
  yield {
    table: 'market_data_feed',
    columns: FEED_COLUMNS,
    rows: feeds.map((f) => ({
      ...f, feed_type: 'FX_SPOT', payload_json: JSON.stringify(f.payload), validation_status: 'PASS', validation_json: JSON.stringify(f.checks),
    })),
  };
  yield { table: 'fx_spot', columns: FX_COLUMNS, rows: feeds.flatMap((f) => f.payload.rates.map((r) => ({ ...r, snapshot_id: f.id }))) };
  yield {
    table: 'data_lineage',
    columns: LINEAGE_COLUMNS,
    rows: feeds.map((f) => ({
      feed_id: f.id, source_system: 'seed-generator', transformation_chain: '{generate,"canonicalize (RFC 8785)",sha256}',
      quality_checks: JSON.stringify(f.checks), metadata_json: JSON.stringify(f.restates ? { seed: world.options.seed, restates: f.restates } : { seed: world.options.seed }),
    })),
  };
}

/** A chunk of positions: the positions, their versions, the state_from of those whose latest state began later, their valuations. */
function* chunkBatches(chunk: PositionChunk): Generator<Batch> {
  yield { table: 'position', columns: POSITION_COLUMNS, rows: chunk.positions };
  yield { table: 'position_version', columns: VERSION_COLUMNS, rows: chunk.versions };
  const laterState = chunk.positions.filter((p) => p.status === 'ACTIVE' && p.state_from !== p.opened_on);
  if (laterState.length > 0) yield { table: 'position', columns: STATE_FROM_COLUMNS, rows: laterState, mode: 'state_from' };
  yield { table: 'valuation_result', columns: VALUATION_COLUMNS, rows: chunk.valuations };
}

/** Every row of the world, table by table in foreign-key order, positions in chunks. */
export function* worldBatches(world: World, chunkSize = 20_000): Generator<Batch> {
  yield* referenceBatches(world);
  for (const chunk of positionChunks(world, chunkSize)) yield* chunkBatches(chunk);
}

/** SHA-256 over every row the world would load, in load order: equal for equal seeds and options. */
export function worldContentHash(world: World): string {
  const digest = createHash('sha256');
  for (const batch of worldBatches(world)) digest.update(`${batch.table}\n${JSON.stringify(batch.rows)}\n`);
  return digest.digest('hex');
}

interface Tally {
  counts: Map<string, number>;
  supersededValuations: number;
  totalPositions: number;
  onProgress?: (p: SeedProgress) => void;
}

/** Writes one batch (see Batch), counting what it wrote. */
async function writeBatch(tx: SqlSession, batch: Batch, tally: Tally): Promise<void> {
  if (batch.mode === 'state_from') {
    // The position's summary follows its versions: the update trigger lets it through, as it does
    // for position_change().
    await tx.query(`SELECT set_config('pds.position_summary', 'on', true)`);
    await tx.query(
      `UPDATE "position" p SET "state_from" = u.state_from FROM unnest($1::uuid[], $2::date[]) AS u(id, state_from)
       WHERE p.id = u.id AND p."state_from" IS DISTINCT FROM u.state_from`,
      STATE_FROM_COLUMNS.map(([name]) => batch.rows.map((row) => (row as Record<string, unknown>)[name])),
    );
    await tx.query(`SELECT set_config('pds.position_summary', 'off', true)`);
    return;
  }
  if (batch.recordedAt) await tx.query(`SELECT set_config('pds.recording_stamp', $1, true)`, [batch.recordedAt]);
  await bulkInsert(tx, batch.table, batch.columns, batch.rows, batch.table === 'valuation_result' ? 20_000 : 10_000);
  if (batch.recordedAt) await tx.query(`SELECT set_config('pds.recording_stamp', '', true)`);
  const { counts } = tally;
  counts.set(batch.table, (counts.get(batch.table) ?? 0) + batch.rows.length);
  if (batch.table === 'valuation_result') {
    for (const row of batch.rows as ValuationRow[]) if (row.superseded_at !== null) tally.supersededValuations++;
    tally.onProgress?.({ positions: counts.get('position') ?? 0, valuations: counts.get('valuation_result') ?? 0, totalPositions: tally.totalPositions });
  }
}

/**
 * Positions in chunks of `chunkSize`, one chunk written while the next is generated. Generation runs in
 * small steps with a turn of the event loop after each, so the statements' parameters go out and their
 * answers come back meanwhile: the database works while the generator does. One statement at a time,
 * in order; at most two chunks in memory.
 */
async function writePositions(tx: SqlSession, world: World, chunkSize: number, tally: Tally): Promise<void> {
  let writing: Promise<void> = Promise.resolve();
  const flush = async (chunk: PositionChunk) => {
    await writing;
    writing = (async () => {
      for (const batch of chunkBatches(chunk)) await writeBatch(tx, batch, tally);
    })();
    writing.catch(() => undefined); // awaited by the next flush or at the end, not unhandled meanwhile
  };
  let pending: PositionChunk = { positions: [], versions: [], valuations: [] };
  for (const step of positionChunks(world, Math.min(chunkSize, 1_000))) {
    for (const row of step.positions) pending.positions.push(row);
    for (const row of step.versions) pending.versions.push(row);
    for (const row of step.valuations) pending.valuations.push(row);
    if (pending.positions.length >= chunkSize) {
      await flush(pending);
      pending = { positions: [], versions: [], valuations: [] };
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (pending.positions.length > 0) await flush(pending);
  await writing;
}

/**
 * Loads the world in one transaction. Recorded times are the world's own (rows say when they were
 * recorded), not the transaction's: position versions are written here, not by the position
 * trigger (pds.position_versions = 'loader'), and what triggers record for reference data,
 * instruments and nodes takes the world's reference moment as its recording stamp.
 */
export async function loadWorld(
  sql: SqlRunner,
  world: World,
  options: { reset?: boolean; chunkSize?: number; onProgress?: (p: SeedProgress) => void } = {},
): Promise<SeedSummary> {
  const totalPositions = world.holders.reduce((a, h) => a + h.positionCount, 0);
  const tally: Tally = { counts: new Map(), supersededValuations: 0, totalPositions, onProgress: options.onProgress };
  await sql.transaction(async (tx) => {
    if (options.reset) {
      await tx.exec(`TRUNCATE ${DATA_TABLES.map((t) => `"${t}"`).join(', ')} CASCADE`);
    } else {
      const [row] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolio_node');
      if ((row?.n ?? 0) > 0) throw new SeedTargetNotEmptyError();
    }
    await tx.query(`SELECT set_config('pds.position_versions', 'loader', true)`);
    for (const batch of referenceBatches(world)) await writeBatch(tx, batch, tally);
    await writePositions(tx, world, options.chunkSize ?? 20_000, tally);
  });
  // Fresh statistics, so the first queries on a new data set get sane plans.
  await sql.exec('ANALYZE');
  return {
    referenceEntities: world.referenceData.length,
    ratings: world.ratings.length,
    instruments: world.instruments.length,
    nodes: world.nodes.length,
    positions: tally.counts.get('position') ?? 0,
    positionVersions: tally.counts.get('position_version') ?? 0,
    valuations: tally.counts.get('valuation_result') ?? 0,
    supersededValuations: tally.supersededValuations,
    fxFeeds: world.fxFeeds.length,
    restatedFxFeeds: world.fxFeeds.filter((f) => f.restates !== null).length,
  };
}
