// Cached analytics (src/services/analytics/cache.ts) through HTTP: a repeated
// exposure or market value is answered after one small version statement, and
// every kind of write it depends on - positions, valuations, nodes,
// instruments, reference data, ratings, a new FX feed - is seen by the next
// request, which always answers exactly what a server without a cache answers.
import { randomUUID } from 'node:crypto';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService, type RunningService } from '../support/http';
import { statementsDuring } from '../support/statements';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let cached: RunningService;
let uncached: RunningService;
let funds: string[];
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 400, funds: 2 });
const asOf = world.options.asOf;

const ANALYTICS = `query($id: ID!, $asOf: Date!, $ccy: Currency) { portfolioNode(id: $id) {
  marketValue(asOf: $asOf, currency: $ccy) { amount currency }
  issuer: exposure(dimension: ISSUER, lookThrough: true, asOf: $asOf, currency: $ccy) { ...E }
  sector: exposure(dimension: SECTOR, asOf: $asOf, currency: $ccy) { ...E }
  geography: exposure(dimension: GEOGRAPHY, asOf: $asOf, currency: $ccy) { ...E }
  rating: exposure(dimension: RATING, asOf: $asOf, currency: $ccy, top: 5) { ...E }
  child: exposure(dimension: CHILD, asOf: $asOf, currency: $ccy) { ...E }
} }
fragment E on Exposure { total unvaluedPositionCount buckets { key marketValue weight positionCount } }`;

async function answer(api: RunningService, id: string, ccy = 'JPY') {
  const res = await graphql(api.url, ANALYTICS, { id, asOf, ccy });
  expect(res.errors).toBeUndefined();
  return res.data!.portfolioNode as Record<string, unknown>;
}

const statements = <T>(fn: () => Promise<T>) => statementsDuring(t.db, fn);

/** The cached server's answer equals the uncached one's (and is returned). */
async function agreed(id: string) {
  const [fromCache, fresh] = [await answer(cached, id), await answer(uncached, id)];
  expect(fromCache).toEqual(fresh);
  return fromCache;
}

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, world);
  cached = await startService(t.db);
  uncached = await startService(t.db, { analyticsCacheBytes: 0 });
  funds = (await t.db.sql.query<{ id: string }>(`SELECT id::text FROM portfolio_node WHERE node_type = 'FUND' ORDER BY name`)).map((r) => r.id);
}, 120_000);

afterAll(async () => {
  await cached?.stop();
  await uncached?.stop();
  await t?.drop();
});

const MV = `query($id: ID!, $asOf: Date!) { portfolioNode(id: $id) { marketValue(asOf: $asOf, currency: "JPY") { amount } } }`;
const marketValue = async (api: RunningService, id: string) =>
  ((await graphql(api.url, MV, { id, asOf })).data!.portfolioNode as { marketValue: { amount: string } }).marketValue.amount;

describe('analytics cache', () => {
  it('answers a repeated question after one version statement, with the same figures', async () => {
    const [first, cold] = await statements(() => marketValue(cached, funds[0]!));
    const [again, warm] = await statements(() => marketValue(cached, funds[0]!));
    expect(again).toBe(first);
    // The node's loader, then: cold, the subtree's ids and the market value statement; warm, the version check.
    expect(cold).toHaveLength(3);
    expect(warm).toHaveLength(2);
    expect(warm.join('\n')).not.toMatch(/valuation_result/);
    expect(cold.join('\n')).toMatch(/valuation_result/);
    expect(await marketValue(uncached, funds[0]!)).toBe(first);
  });

  it('sees every kind of write the figures depend on, and nothing else', async () => {
    const [fund, other] = funds as [string, string];
    const base = await agreed(fund);
    const unchanged = async () => expect(await agreed(fund)).toEqual(base);
    const changed = async () => {
      const now = await agreed(fund);
      expect(now).not.toEqual(base);
      return now;
    };
    await unchanged();

    // A write in the other fund changes nothing here (and the cache still answers).
    const [pos] = await t.db.sql.query<{ id: string; instrument_id: string }>(
      `SELECT p.id::text, p.instrument_id::text FROM position p JOIN portfolio_node n ON n.id = p.portfolio_node_id
       JOIN instrument i ON i.id = p.instrument_id
       WHERE n.fund_id = $1 AND p.status = 'ACTIVE' AND i.issuer_id IS NOT NULL
         AND EXISTS (SELECT 1 FROM valuation_result v WHERE v.position_id = p.id AND v.as_of_date <= $2)
       ORDER BY p.id LIMIT 1`, [fund, asOf]);
    const [otherPos] = await t.db.sql.query<{ id: string }>(
      `SELECT p.id::text FROM position p JOIN portfolio_node n ON n.id = p.portfolio_node_id WHERE n.fund_id = $1 AND p.status = 'ACTIVE' ORDER BY p.id LIMIT 1`, [other]);
    await t.db.sql.query(`UPDATE position SET status = 'CLOSED' WHERE id = $1`, [otherPos!.id]);
    await unchanged();

    // A new valuation (or a correction of the one) of one of this fund's positions on the as-of date.
    await t.db.sql.transaction(async (tx) => {
      await tx.query(`UPDATE valuation_result SET superseded_at = superseding_stamp(recorded_at)
        WHERE position_id = $1 AND as_of_date = $2 AND superseded_at IS NULL`, [pos!.id, asOf]);
      await tx.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, $2, 123456789.12, 'USD')`, [pos!.id, asOf]);
    });
    let now = await changed();

    // The issuer of that position's instrument moves to another sector and country.
    const [issuer] = await t.db.sql.query<{ id: string; sector_id: string; geography_id: string }>(
      `SELECT r.id::text, r.sector_id::text, r.geography_id::text FROM instrument i JOIN reference_data r ON r.id = i.issuer_id WHERE i.id = $1`, [pos!.instrument_id]);
    const [sector] = await t.db.sql.query<{ id: string }>(
      `SELECT id::text FROM reference_data WHERE entity_type = 'SECTOR' AND id <> $1 ORDER BY id LIMIT 1`, [issuer!.sector_id]);
    await t.db.sql.query(`UPDATE reference_data SET sector_id = $2 WHERE id = $1`, [issuer!.id, sector!.id]);
    let next = await agreed(fund);
    expect(next.sector).not.toEqual(now.sector);
    expect(next.marketValue).toEqual(now.marketValue);
    now = next;

    // A rating of that issuer, better than any other, on the as-of date: a new AAA bucket.
    for (const agency of ['SP', 'FITCH']) {
      await t.db.sql.query(
        `INSERT INTO rating_history (entity_id, agency, rating, as_of_date) VALUES ($1, $2::rating_agency, 'AAA', $3)
         ON CONFLICT DO NOTHING`, [issuer!.id, agency, asOf]);
    }
    await t.db.sql.query(`DELETE FROM rating_history WHERE entity_id = $1 AND agency NOT IN ('SP', 'FITCH') AND as_of_date = $2`, [issuer!.id, asOf]);
    next = await agreed(fund);
    expect(next.rating).not.toEqual(now.rating);
    now = next;

    // The instrument changes issuer.
    const [otherIssuer] = await t.db.sql.query<{ id: string }>(
      `SELECT id::text FROM reference_data WHERE entity_type = 'ISSUER' AND id <> $1 AND parent_entity_id IS NULL ORDER BY id LIMIT 1`, [issuer!.id]);
    await t.db.sql.query(`UPDATE instrument SET issuer_id = $2 WHERE id = $1`, [pos!.instrument_id, otherIssuer!.id]);
    next = await agreed(fund);
    expect(next.issuer).not.toEqual(now.issuer);
    now = next;

    // A node moves to another desk: the CHILD buckets change, the total does not.
    const [book] = await t.db.sql.query<{ id: string; parent_id: string }>(
      `SELECT b.id::text, b.parent_id::text FROM portfolio_node b JOIN portfolio_node d ON d.id = b.parent_id
       WHERE b.fund_id = $1 AND b.node_type = 'BOOK' AND d.node_type = 'DESK' AND EXISTS (SELECT 1 FROM position p WHERE p.portfolio_node_id = b.id AND p.status = 'ACTIVE') ORDER BY b.id LIMIT 1`, [fund]);
    const [desk] = await t.db.sql.query<{ id: string }>(
      `SELECT id::text FROM portfolio_node WHERE fund_id = $1 AND node_type = 'DESK' AND id <> $2 ORDER BY id LIMIT 1`, [fund, book!.parent_id]);
    await t.db.sql.query(`UPDATE portfolio_node SET parent_id = $2 WHERE id = $1`, [book!.id, desk!.id]);
    next = await agreed(fund);
    expect(next.child).not.toEqual(now.child);
    expect(next.marketValue).toEqual(now.marketValue);
    now = next;

    // A new FX feed on the as-of date with other rates: every converted figure moves.
    const feed = randomUUID();
    await t.db.sql.query(
      `INSERT INTO market_data_feed (id, feed_type, as_of_date, source, payload_json, payload_hash, validation_status)
       VALUES ($1, 'FX_SPOT', $2, 'CACHE-TEST', '{}', $3, 'PASS')`, [feed, asOf, feed.replace(/-/g, '').padEnd(64, '0')]);
    const [latest] = await t.db.sql.query<{ id: string }>(
      `SELECT id::text FROM market_data_feed WHERE feed_type = 'FX_SPOT' AND id <> $1 AND validation_status IN ('PASS', 'WARN') AND as_of_date <= $2
       ORDER BY as_of_date DESC, created_at DESC LIMIT 1`, [feed, asOf]);
    await t.db.sql.query(`INSERT INTO fx_spot (pair, snapshot_id, rate) SELECT pair, $1, rate * 1.01 FROM fx_spot WHERE snapshot_id = $2`, [feed, latest!.id]);
    next = await agreed(fund);
    expect(next.marketValue).not.toEqual(now.marketValue);

    // And back to quiet: the cache answers, unchanged.
    const [, sql] = await statements(() => answer(cached, fund));
    expect(sql.join('\n')).not.toMatch(/valuation_result/);
  });

  it('folds the version rows of a busy fund without changing an answer', async () => {
    const fund = funds[1]!;
    const before = await agreed(fund);
    await t.db.sql.query(`DO $$ BEGIN FOR i IN 1..300 LOOP UPDATE portfolio_node SET name = name WHERE id = '${fund}'; END LOOP; END $$`);
    await t.db.sql.query(`DO $$ BEGIN FOR i IN 1..300 LOOP UPDATE reference_data SET name = name WHERE id = (SELECT id FROM reference_data ORDER BY id LIMIT 1); END LOOP; END $$`);
    expect(await agreed(fund)).toEqual(before); // recomputed (stale), then folded
    const [{ n }] = (await t.db.sql.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM content_change WHERE fund_id IS NULL OR fund_id = $1) + (SELECT count(*) FROM reference_change) AS n`, [fund])) as [{ n: number }];
    expect(Number(n)).toBeLessThanOrEqual(3);
    const [again, sql] = await statements(() => answer(cached, fund));
    expect(again).toEqual(before);
    expect(sql.join('\n')).not.toMatch(/valuation_result/);
  });

  it('treats a TRUNCATE as a change: a version never comes back to an earlier value', async () => {
    const fund = funds[1]!;
    await agreed(fund);
    const version = async () => (await t.db.sql.query<{ v: string }>(
      `SELECT (SELECT sum(weight) FROM content_change WHERE fund_id IS NULL OR fund_id = $1)::text || ':' || (SELECT sum(weight) FROM reference_change)::text AS v`, [fund]))[0]!.v;
    const v1 = await version();
    await t.db.sql.query(`CREATE TEMP TABLE keep_fx AS SELECT * FROM fx_spot`);
    await t.db.sql.query(`TRUNCATE fx_spot`);
    expect(await version()).not.toBe(v1);
    await t.db.sql.query(`INSERT INTO fx_spot SELECT * FROM keep_fx`);
  });
});
