// npm run seed's loader on a real database: complete, deterministic down to the
// stored rows, identifiers valid, a history the database's own rules accept
// (versions that tile, summaries equal to the latest version, corrections,
// a restated FX feed) and that the API shows, and a non-empty database is
// never overwritten by accident.
import { createHash } from 'node:crypto';
import type { SqlSession } from '../../src/db/sql';
import { isValidCusip, isValidIsin, isValidLei } from '../../src/domain/identifiers';
import { loadWorld, SeedTargetNotEmptyError } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

const options = { ...DEFAULT_SEED_OPTIONS, positions: 1_500, funds: 2 };

/**
 * SHA-256 over every business column of every table, in a stable order. Timestamps are excluded
 * (recorded times follow the moment of seeding), but not their order: versions are listed in
 * recorded order, with whether they are still current.
 */
async function databaseDigest(sql: SqlSession): Promise<string> {
  const queries = [
    `SELECT id, entity_type, name, code, ticker, lei, parent_entity_id, sector_id, geography_id, attributes_json FROM reference_data ORDER BY id`,
    `SELECT id, entity_id, agency, rating, as_of_date::text, superseded_at IS NULL AS current FROM rating_history ORDER BY id`,
    `SELECT id, name, asset_class, currency, isin, cusip, ticker, issuer_id, maturity_date::text, attributes_json FROM instrument ORDER BY id`,
    `SELECT id, name, node_type, parent_id, base_ccy, tags_json FROM portfolio_node ORDER BY id`,
    `SELECT id, portfolio_node_id, instrument_id, quantity::text, base_ccy, status, opened_on::text, closed_on::text, state_from::text,
            latest_as_of::text, latest_market_value::text FROM position ORDER BY id`,
    `SELECT position_id, valid_from::text, valid_to::text, quantity::text, status, superseded_at IS NULL AS current FROM position_version
     ORDER BY position_id, recorded_at, valid_from`,
    `SELECT id, position_id, as_of_date::text, valid_to::text, market_value::text, currency, superseded_at IS NULL AS current FROM valuation_result ORDER BY id`,
    `SELECT id, feed_type, as_of_date::text, source, payload_json, payload_hash, validation_status FROM market_data_feed ORDER BY as_of_date, recorded_at, id`,
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

  it('stores identical content for the same seed (two databases, one digest), seeded later and in other chunks', async () => {
    // Another moment (timestamps move, content does not), and chunks small enough that several are
    // written while the next ones are generated.
    const progress: number[] = [];
    await loadWorld(b.db.sql, buildWorld(options), { chunkSize: 200, onProgress: (p) => progress.push(p.positions) });
    expect(progress.length).toBeGreaterThan(5);
    expect(progress[progress.length - 1]).toBe(options.positions);
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

  it('stores a history the database accepts: versions that tile, summaries of the latest version, nothing in the future', async () => {
    const [row] = await a.db.sql.query<Record<string, number>>(`
      WITH current AS (
        SELECT position_id, valid_from, valid_to, lead(valid_from) OVER (PARTITION BY position_id ORDER BY valid_from) AS next_from,
               row_number() OVER (PARTITION BY position_id ORDER BY valid_from) AS n
        FROM position_version WHERE superseded_at IS NULL
      )
      SELECT
        (SELECT count(*)::int FROM current WHERE valid_to IS DISTINCT FROM next_from) AS gaps,
        (SELECT count(*)::int FROM position p JOIN current c ON c.position_id = p.id AND c.n = 1 WHERE c.valid_from <> p.opened_on) AS wrong_open,
        (SELECT count(*)::int FROM position p WHERE NOT EXISTS (SELECT 1 FROM current c WHERE c.position_id = p.id)) AS unversioned,
        (SELECT count(*)::int FROM position p, LATERAL position_summary(p.id) s
          WHERE (s.quantity, s.status, s.opened_on, s.closed_on, s.state_from) IS DISTINCT FROM (p.quantity, p.status, p.opened_on, p.closed_on, p.state_from)) AS wrong_summary,
        (SELECT count(*)::int FROM (SELECT position_id FROM current GROUP BY position_id HAVING count(*) > 1) m) AS multi_version,
        (SELECT count(*)::int FROM position_version WHERE superseded_at IS NOT NULL) AS superseded_versions,
        (SELECT count(*)::int FROM position WHERE state_from > opened_on AND status = 'ACTIVE') AS adjusted_active,
        (SELECT count(DISTINCT opened_on)::int FROM position) AS trade_dates,
        (SELECT count(*)::int FROM position p WHERE p.status = 'DELETED'
           AND (SELECT count(*) FROM current c WHERE c.position_id = p.id) <> 1) AS deleted_not_single,
        (SELECT count(*)::int FROM valuation_result WHERE superseded_at IS NOT NULL) AS superseded_valuations,
        (SELECT count(*)::int FROM valuation_result s WHERE s.superseded_at IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM valuation_result c WHERE c.position_id = s.position_id AND c.as_of_date = s.as_of_date AND c.superseded_at IS NULL)) AS orphan_corrections,
        (SELECT count(*)::int FROM position p WHERE p.latest_as_of IS DISTINCT FROM
           (SELECT max(as_of_date) FROM valuation_result v WHERE v.position_id = p.id AND v.superseded_at IS NULL)) AS wrong_latest,
        (SELECT count(*)::int FROM (
           SELECT recorded_at, superseded_at FROM position_version UNION ALL SELECT recorded_at, superseded_at FROM valuation_result
           UNION ALL SELECT recorded_at, superseded_at FROM rating_history UNION ALL SELECT recorded_at, NULL FROM market_data_feed
           UNION ALL SELECT recorded_at, superseded_at FROM instrument_version UNION ALL SELECT recorded_at, superseded_at FROM reference_data_version
         ) t WHERE t.recorded_at > now() OR t.superseded_at > now()) AS in_future,
        (SELECT count(*)::int FROM instrument_version WHERE recorded_at >= (SELECT min(recorded_at) FROM position_version)) AS late_instruments`);
    expect(row).toMatchObject({
      gaps: 0, wrong_open: 0, unversioned: 0, wrong_summary: 0, deleted_not_single: 0, orphan_corrections: 0, wrong_latest: 0, in_future: 0, late_instruments: 0,
    });
    expect(row!.multi_version).toBeGreaterThan(0);
    expect(row!.superseded_versions).toBeGreaterThan(0);
    expect(row!.adjusted_active).toBeGreaterThan(0);
    expect(row!.trade_dates).toBeGreaterThan(20);
    expect(row!.superseded_valuations).toBeGreaterThan(0);
  });

  it('restates an FX_SPOT feed: a second feed for the same date with other rates, recorded later', async () => {
    const feeds = await a.db.sql.query<{ as_of_date: string; recorded_at: Date; payload_hash: string; rates: string }>(`
      SELECT f.as_of_date::text, f.recorded_at, f.payload_hash, (SELECT string_agg(x.pair || '=' || x.rate::text, ',' ORDER BY x.pair) FROM fx_spot x WHERE x.snapshot_id = f.id) AS rates
      FROM market_data_feed f
      WHERE f.feed_type = 'FX_SPOT' AND f.as_of_date IN (SELECT as_of_date FROM market_data_feed WHERE feed_type = 'FX_SPOT' GROUP BY as_of_date HAVING count(*) > 1)
      ORDER BY f.recorded_at`);
    expect(feeds).toHaveLength(2);
    const [original, restated] = feeds as [typeof feeds[0], typeof feeds[0]];
    expect(restated.as_of_date).toBe(original.as_of_date);
    expect(restated.payload_hash).not.toBe(original.payload_hash);
    expect(restated.rates).not.toBe(original.rates);
    expect(restated.recorded_at.getTime()).toBeGreaterThan(original.recorded_at.getTime());
  });

  it('answers differently as of the last month-end known a week ago and known now', async () => {
    const api = await startService(a.db);
    try {
      const world = buildWorld(options);
      const asOf = world.valuationDates[world.valuationDates.length - 1];
      const previous = world.valuationDates[world.valuationDates.length - 2];
      const weekAgo = new Date(Date.now() - 7 * 86_400_000).toISOString();
      const res = await graphql(api.url, `query($asOf: Date!, $previous: Date!, $weekAgo: DateTime!) { portfolioRoots { name
          then: marketValue(asOf: $asOf, knownAt: $weekAgo) { amount } now: marketValue(asOf: $asOf) { amount }
          before: marketValue(asOf: $previous) { amount }
          restated: holdingsChange(from: { asOf: $asOf, knownAt: $weekAgo }, to: { asOf: $asOf }) { changes(first: 0) { totalCount } }
          held: positions(asOf: $previous, includeDescendants: true, first: 0) { totalCount }
          heldNow: positions(asOf: $asOf, includeDescendants: true, first: 0) { totalCount } } }`, { asOf, previous, weekAgo });
      expect(res.errors).toBeUndefined();
      const funds = res.data!.portfolioRoots as {
        then: { amount: string }; now: { amount: string }; before: { amount: string }; restated: { changes: { totalCount: number } };
        held: { totalCount: number }; heldNow: { totalCount: number };
      }[];
      expect(funds).toHaveLength(options.funds);
      expect(funds.some((f) => f.then.amount !== f.now.amount)).toBe(true);
      expect(funds.some((f) => f.restated.changes.totalCount > 0)).toBe(true);
      expect(funds.every((f) => f.before.amount !== f.now.amount)).toBe(true);
      expect(funds.some((f) => f.held.totalCount !== f.heldNow.totalCount)).toBe(true);
    } finally {
      await api.stop();
    }
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
