// npm run seed's loader on a real database: complete, deterministic down to the
// stored rows, identifiers valid, and a non-empty database is never overwritten
// by accident.
import { createHash } from 'node:crypto';
import type { SqlSession } from '../../src/db/sql';
import { isValidCusip, isValidIsin, isValidLei } from '../../src/domain/identifiers';
import { loadWorld, SeedTargetNotEmptyError } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

const options = { ...DEFAULT_SEED_OPTIONS, positions: 1_500, funds: 2 };

/** SHA-256 over every business column of every table, in a stable order (timestamps excluded). */
async function databaseDigest(sql: SqlSession): Promise<string> {
  const queries = [
    `SELECT id, entity_type, name, code, ticker, lei, parent_entity_id, sector_id, geography_id, attributes_json FROM reference_data ORDER BY id`,
    `SELECT id, entity_id, agency, rating, as_of_date::text FROM rating_history ORDER BY id`,
    `SELECT id, name, asset_class, currency, isin, cusip, ticker, issuer_id, maturity_date::text, attributes_json FROM instrument ORDER BY id`,
    `SELECT id, name, node_type, parent_id, base_ccy, tags_json FROM portfolio_node ORDER BY id`,
    `SELECT id, portfolio_node_id, instrument_id, quantity::text, base_ccy, status FROM position ORDER BY id`,
    `SELECT id, position_id, as_of_date::text, market_value::text, currency FROM valuation_result ORDER BY id`,
    `SELECT id, feed_type, as_of_date::text, source, payload_json, payload_hash, validation_status FROM market_data_feed ORDER BY id`,
    `SELECT pair, snapshot_id, rate::text FROM fx_spot ORDER BY pair, snapshot_id`,
  ];
  const digest = createHash('sha256');
  for (const q of queries) digest.update(JSON.stringify(await sql.query(q)));
  return digest.digest('hex');
}

describe('seed loader', () => {
  let a: TestDatabase;
  let b: TestDatabase;
  beforeAll(async () => {
    [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
  });
  afterAll(async () => {
    await a?.drop();
    await b?.drop();
  });

  it('loads the whole world and reports what it wrote', async () => {
    const world = buildWorld(options);
    const summary = await loadWorld(a.db.sql, world);
    expect(summary.positions).toBe(options.positions);
    const counts = await a.db.sql.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM position) AS positions, (SELECT count(*)::int FROM valuation_result) AS valuations,
              (SELECT count(*)::int FROM portfolio_node) AS nodes, (SELECT count(*)::int FROM instrument) AS instruments,
              (SELECT count(*)::int FROM reference_data) AS reference, (SELECT count(*)::int FROM rating_history) AS ratings,
              (SELECT count(*)::int FROM market_data_feed WHERE feed_type = 'FX_SPOT' AND validation_status = 'PASS') AS feeds,
              (SELECT count(*)::int FROM data_lineage) AS lineage,
              (SELECT count(DISTINCT agency)::int FROM rating_history) AS agencies`,
    );
    expect(counts[0]).toEqual({
      positions: summary.positions, valuations: summary.valuations, nodes: summary.nodes, instruments: summary.instruments,
      reference: summary.referenceEntities, ratings: summary.ratings, feeds: summary.fxFeeds, lineage: summary.fxFeeds, agencies: 4,
    });
  });

  it('stores identical content for the same seed (two databases, one digest)', async () => {
    await loadWorld(b.db.sql, buildWorld(options));
    expect(await databaseDigest(b.db.sql)).toBe(await databaseDigest(a.db.sql));
  });

  it('stores identifiers that pass their check digits', async () => {
    const ids = await a.db.sql.query<{ isin: string | null; cusip: string | null }>('SELECT isin, cusip FROM instrument');
    const leis = await a.db.sql.query<{ lei: string }>('SELECT lei FROM reference_data WHERE lei IS NOT NULL');
    expect(ids.filter((r) => r.isin && !isValidIsin(r.isin))).toEqual([]);
    expect(ids.filter((r) => r.cusip && !isValidCusip(r.cusip))).toEqual([]);
    expect(leis.filter((r) => !isValidLei(r.lei))).toEqual([]);
    expect(ids.filter((r) => r.isin).length).toBeGreaterThan(50);
  });

  it('refuses a non-empty database without --reset, and replaces everything with it', async () => {
    const before = await databaseDigest(b.db.sql);
    await expect(loadWorld(b.db.sql, buildWorld({ ...options, seed: 7 }))).rejects.toBeInstanceOf(SeedTargetNotEmptyError);
    expect(await databaseDigest(b.db.sql)).toBe(before);
    await loadWorld(b.db.sql, buildWorld({ ...options, seed: 7 }), { reset: true });
    expect(await databaseDigest(b.db.sql)).not.toBe(before);
    const [row] = await b.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM position');
    expect(row!.n).toBe(options.positions);
  });
});
