// Loads a generated world in one transaction with set-based inserts
// (INSERT ... SELECT FROM unnest($1::type[], ...)): one statement per table
// chunk instead of one per row, on PostgreSQL and PGlite alike.
import { createHash } from 'node:crypto';
import type { SqlRunner, SqlSession } from '../../db/sql';
import { positionChunks } from './positions';
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
): Promise<void> {
  const names = columns.map(([name]) => `"${name}"`).join(', ');
  const arrays = columns.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ');
  const select = columns.map(([, , cast], i) => (cast ? `c${i}::${cast}` : `c${i}`)).join(', ');
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
const RATING_COLUMNS: readonly Column[] = [['id', 'uuid'], ['entity_id', 'uuid'], ['agency', 'text', 'rating_agency'], ['rating', 'text'], ['as_of_date', 'date']];
const INSTRUMENT_COLUMNS: readonly Column[] = [
  ['id', 'uuid'], ['name', 'text'], ['asset_class', 'text', 'asset_class'], ['currency', 'text'], ['isin', 'text'], ['cusip', 'text'],
  ['ticker', 'text'], ['issuer_id', 'uuid'], ['maturity_date', 'date'], ['attributes_json', 'jsonb'],
];
const NODE_COLUMNS: readonly Column[] = [['id', 'uuid'], ['name', 'text'], ['node_type', 'text', 'node_type'], ['parent_id', 'uuid'], ['base_ccy', 'text'], ['tags_json', 'jsonb']];
const POSITION_COLUMNS: readonly Column[] = [
  ['id', 'uuid'], ['portfolio_node_id', 'uuid'], ['instrument_id', 'uuid'], ['quantity', 'numeric'], ['base_ccy', 'text'], ['status', 'text', 'position_status'],
  ['opened_on', 'date'], ['closed_on', 'date'], ['state_from', 'date'],
];
const VALUATION_COLUMNS: readonly Column[] = [
  ['id', 'uuid'], ['position_id', 'uuid'], ['as_of_date', 'date'], ['valid_to', 'date'], ['market_value', 'numeric'], ['currency', 'text'],
];

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
  valuations: number;
  fxFeeds: number;
}

export class SeedTargetNotEmptyError extends Error {
  constructor() {
    super('The database already holds portfolio data; run the seed with --reset to replace it.');
    this.name = 'SeedTargetNotEmptyError';
  }
}

// content_change and reference_change are never truncated: their sums are versions that
// cached results are checked against, and must never come back to an earlier value
// (the tables' TRUNCATE triggers count this truncation in them).
const DATA_TABLES = [
  'snapshot_probe', 'valuation_result', 'position_version', 'position', 'portfolio_snapshot', 'portfolio_node', 'fx_spot', 'data_lineage',
  'market_data_feed', 'ingestion_batch', 'rating_history', 'instrument_version', 'instrument', 'reference_data_version', 'reference_data',
];

const FEED_COLUMNS: readonly Column[] = [
  ['id', 'uuid'], ['feed_type', 'text', 'feed_type'], ['as_of_date', 'date'], ['source', 'text'], ['payload_json', 'jsonb'],
  ['payload_hash', 'text'], ['validation_status', 'text', 'validation_status'], ['validation_json', 'jsonb'],
];
const FX_COLUMNS: readonly Column[] = [['pair', 'text'], ['snapshot_id', 'uuid'], ['rate', 'numeric']];
const LINEAGE_COLUMNS: readonly Column[] = [
  ['feed_id', 'uuid'], ['source_system', 'text'], ['transformation_chain', 'text', 'text[]'], ['quality_checks', 'jsonb'], ['metadata_json', 'jsonb'],
];

interface Batch {
  table: string;
  columns: readonly Column[];
  rows: readonly object[];
}

/** Every row of the world, table by table in foreign-key order, positions in chunks. */
export function* worldBatches(world: World, chunkSize = 20_000): Generator<Batch> {
  yield { table: 'reference_data', columns: REFERENCE_COLUMNS, rows: world.referenceData };
  yield { table: 'rating_history', columns: RATING_COLUMNS, rows: world.ratings };
  yield { table: 'instrument', columns: INSTRUMENT_COLUMNS, rows: world.instruments };
  yield { table: 'portfolio_node', columns: NODE_COLUMNS, rows: world.nodes };
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
      quality_checks: JSON.stringify(f.checks), metadata_json: JSON.stringify({ seed: world.options.seed }),
    })),
  };
  for (const chunk of positionChunks(world, chunkSize)) {
    yield { table: 'position', columns: POSITION_COLUMNS, rows: chunk.positions };
    yield { table: 'valuation_result', columns: VALUATION_COLUMNS, rows: chunk.valuations };
  }
}

/** SHA-256 over every row the world would load, in load order: equal for equal seeds and options. */
export function worldContentHash(world: World): string {
  const digest = createHash('sha256');
  for (const batch of worldBatches(world)) digest.update(`${batch.table}\n${JSON.stringify(batch.rows)}\n`);
  return digest.digest('hex');
}

export async function loadWorld(
  sql: SqlRunner,
  world: World,
  options: { reset?: boolean; chunkSize?: number; onProgress?: (p: SeedProgress) => void } = {},
): Promise<SeedSummary> {
  const totalPositions = world.holders.reduce((a, h) => a + h.positionCount, 0);
  const counts = new Map<string, number>();
  await sql.transaction(async (tx) => {
    if (options.reset) {
      await tx.exec(`TRUNCATE ${DATA_TABLES.map((t) => `"${t}"`).join(', ')}`);
    } else {
      const [row] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolio_node');
      if ((row?.n ?? 0) > 0) throw new SeedTargetNotEmptyError();
    }
    for (const batch of worldBatches(world, options.chunkSize)) {
      await bulkInsert(tx, batch.table, batch.columns, batch.rows, batch.table === 'valuation_result' ? 20_000 : 10_000);
      counts.set(batch.table, (counts.get(batch.table) ?? 0) + batch.rows.length);
      if (batch.table === 'valuation_result') {
        options.onProgress?.({ positions: counts.get('position') ?? 0, valuations: counts.get('valuation_result') ?? 0, totalPositions });
      }
    }
  });
  // Fresh statistics, so the first queries on a new data set get sane plans.
  await sql.exec('ANALYZE');
  return {
    referenceEntities: world.referenceData.length,
    ratings: world.ratings.length,
    instruments: world.instruments.length,
    nodes: world.nodes.length,
    positions: counts.get('position') ?? 0,
    valuations: counts.get('valuation_result') ?? 0,
    fxFeeds: world.fxFeeds.length,
  };
}
