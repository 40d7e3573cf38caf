// position.last_recorded_at: every write that records or supersedes something
// about a position (its versions, its valuations) stamps it with that
// transaction's recording stamp, whatever the way in (the API, position_change(),
// a direct UPDATE by another client); nobody sets it by hand. Questions pinned
// at a knownAt answer a position whose stamp is not later than it from the
// present path, so a missed stamp would show up as a pinned answer that moves:
// checked here for a position corrected after the knownAt beside one left alone.
import { createChain, createInstrument } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { moment } from '../support/moments';

let t: TestDatabase;
let api: RunningService;
let uncached: RunningService;
let chain: Awaited<ReturnType<typeof createChain>>;
let instrumentId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  chain = await createChain(t.db, 'Stamps');
  instrumentId = (await createInstrument(t.db, { currency: 'USD' })).id;
  api = await startService(t.db);
  uncached = await startService(t.db, { analyticsCacheBytes: 0 });
});
afterAll(async () => {
  await api?.stop();
  await uncached?.stop();
  await t?.drop();
});

async function ok<T = any>(query: string, variables: Record<string, unknown> = {}, service = api): Promise<T> {
  const res = await graphql(service.url, query, variables);
  expect(res.errors).toBeUndefined();
  return res.data as T;
}

const OPEN = `mutation($input: OpenPositionInput!) { openPosition(input: $input) { id } }`;
const ADJUST = `mutation($input: AdjustPositionInput!) { adjustPosition(input: $input) { id } }`;
const RECORD = `mutation($input: [ValuationInput!]!) { recordValuations(input: $input) }`;
const open = async (quantity: string, tradeDate: string): Promise<string> =>
  (await ok(OPEN, { input: { nodeId: chain.book.id, instrumentId, quantity, baseCurrency: 'USD', tradeDate } })).openPosition.id;
const value = (positionId: string, asOfDate: string, marketValue: string) => ok(RECORD, { input: [{ positionId, asOfDate, marketValue, currency: 'USD' }] });

/** The position's stamp, and the latest moment anything about it was recorded or superseded. */
async function stamps(id: string): Promise<{ stamp: string; latest: string }> {
  const [row] = await t.db.sql.query<{ stamp: string; latest: string }>(
    `SELECT to_char(p.last_recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS stamp,
            to_char(GREATEST(
              (SELECT max(GREATEST(v.recorded_at, v.superseded_at)) FROM position_version v WHERE v.position_id = p.id),
              (SELECT max(GREATEST(v.recorded_at, v.superseded_at)) FROM valuation_result v WHERE v.position_id = p.id)
            ) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS latest
     FROM position p WHERE p.id = $1::uuid`,
    [id],
  );
  return row!;
}

/** The write stamps the position later than before: with the moment of what it recorded, or later (an in-place UPDATE records no version). */
async function expectStampedBy(id: string, write: () => Promise<unknown>, recordsVersion = true): Promise<void> {
  const before = await stamps(id);
  await write();
  const after = await stamps(id);
  expect(after.stamp > before.stamp).toBe(true);
  if (recordsVersion) expect(after.stamp).toBe(after.latest);
  else expect(after.stamp > after.latest).toBe(true);
}

describe('position.last_recorded_at', () => {
  it('is the recording stamp of the latest write about the position, whichever way it came', async () => {
    const id = await open('100', '2026-03-02');
    const opened = await stamps(id);
    expect(opened.stamp).toBe(opened.latest);
    await expectStampedBy(id, () => ok(ADJUST, { input: { positionId: id, quantity: '120', effectiveDate: '2026-04-01' } }));
    await expectStampedBy(id, () => value(id, '2026-04-30', '1000'));
    await expectStampedBy(id, () => value(id, '2026-04-30', '1001')); // a correction: supersedes, records
    await expectStampedBy(id, () => value(id, '2026-03-31', '990')); // an earlier date: the latest valuation stays
    await expectStampedBy(id, () => t.db.sql.query(`SELECT position_change($1::uuid, 'ADJUST', 130, '2026-04-15'::date)`, [id]));
    await expectStampedBy(id, () => t.db.sql.query(`UPDATE position SET quantity = 140 WHERE id = $1::uuid`, [id]));
    await expectStampedBy(id, () => t.db.sql.query(`UPDATE valuation_result SET market_value = 999 WHERE position_id = $1::uuid AND as_of_date = '2026-03-31' AND superseded_at IS NULL`, [id]), false);
    await expectStampedBy(id, () => t.db.sql.query(`UPDATE position SET status = 'CLOSED' WHERE id = $1::uuid`, [id]));
  });

  it('is one stamp for everything an upload recorded: its positions, their first versions and their valuations', async () => {
    const UPLOAD = `mutation($input: PositionUploadInput!) { uploadPositions(input: $input) { id status acceptedCount } }`;
    const node = (await t.db.prisma.portfolioNode.create({ data: { name: 'Uploaded strategy', nodeType: 'STRATEGY', parentId: chain.book.id, baseCcy: 'USD' } })).id;
    const rows = Array.from({ length: 40 }, (_, i) => ({
      nodeId: node, instrumentId, quantity: `${i + 1}`, baseCurrency: 'USD', tradeDate: '2026-06-01',
      ...(i % 2 === 0 ? { marketValue: `${i * 10}.5`, asOfDate: '2026-06-30' } : {}),
    }));
    const batch = (await ok(UPLOAD, { input: { sourceSystem: 'stamps', rows } })).uploadPositions;
    expect(batch).toMatchObject({ status: 'COMPLETED', acceptedCount: 40 });
    const [row] = await t.db.sql.query<{ positions: number; versions: number; valuations: number; stamps: number; after: boolean }>(
      `WITH p AS (SELECT * FROM position WHERE portfolio_node_id = $1::uuid)
       SELECT (SELECT count(*)::int FROM p) AS positions,
              (SELECT count(*)::int FROM position_version v JOIN p ON p.id = v.position_id) AS versions,
              (SELECT count(*)::int FROM valuation_result v JOIN p ON p.id = v.position_id) AS valuations,
              (SELECT count(DISTINCT s)::int FROM (
                 SELECT last_recorded_at AS s FROM p
                 UNION ALL SELECT v.recorded_at FROM position_version v JOIN p ON p.id = v.position_id
                 UNION ALL SELECT v.recorded_at FROM valuation_result v JOIN p ON p.id = v.position_id) x) AS stamps,
              (SELECT bool_and(last_recorded_at >= (SELECT started_at FROM ingestion_batch WHERE id = $2::uuid)) FROM p) AS after`,
      [node, batch.id],
    );
    expect(row).toEqual({ positions: 40, versions: 40, valuations: 20, stamps: 1, after: true });
    // Uploaded positions get time-ordered ids (UUID version 7): a large upload appends to the indexes
    // keyed by position id rather than writing all over them.
    const ids = await t.db.sql.query<{ id: string }>(`SELECT id::text AS id FROM position WHERE portfolio_node_id = $1::uuid`, [node]);
    expect(ids.map((r) => r.id[14]).every((version) => version === '7')).toBe(true);
  });

  it('cannot be set by hand, and writing nothing about the position leaves it alone', async () => {
    const id = await open('10', '2026-03-02');
    const before = await stamps(id);
    await expect(t.db.sql.query(`UPDATE position SET last_recorded_at = now() + interval '1 day' WHERE id = $1::uuid`, [id])).rejects.toThrow(/recording stamp follow its versions/);
    await expect(t.db.sql.query(`UPDATE position SET last_recorded_at = '2000-01-01' WHERE id = $1::uuid`, [id])).rejects.toThrow(/recording stamp follow its versions/);
    await t.db.sql.query(`UPDATE position SET updated_at = now() WHERE id = $1::uuid`, [id]);
    expect(await stamps(id)).toEqual(before);
  });

  it('keeps a pinned answer where it was when one position is corrected after the knownAt and another is not', async () => {
    const node = (await t.db.prisma.portfolioNode.create({ data: { name: 'Stamped strategy', nodeType: 'STRATEGY', parentId: chain.book.id, baseCcy: 'USD' } })).id;
    const openHere = async (quantity: string) =>
      (await ok(OPEN, { input: { nodeId: node, instrumentId, quantity, baseCurrency: 'USD', tradeDate: '2026-05-04' } })).openPosition.id as string;
    const left = await openHere('1');
    const corrected = await openHere('2');
    await value(left, '2026-05-29', '100');
    await value(corrected, '2026-05-29', '200');
    const k = await moment();
    await value(corrected, '2026-05-29', '250');
    await ok(ADJUST, { input: { positionId: corrected, quantity: '3', effectiveDate: '2026-05-04' } });
    const opened = await openHere('4'); // not held as known at k
    await value(opened, '2026-05-29', '400');
    const Q = `query($n: ID!, $k: DateTime) { portfolioNode(id: $n) {
      marketValue(asOf: "2026-05-29", knownAt: $k) { amount }
      positions(asOf: "2026-05-29", knownAt: $k, first: 10) { totalCount edges { node { id holding(asOf: "2026-05-29", knownAt: $k) { quantity } } } } } }`;
    for (const service of [api, uncached]) {
      const pinned = (await ok(Q, { n: node, k }, service)).portfolioNode;
      expect(pinned.marketValue.amount).toBe('300');
      expect(pinned.positions.totalCount).toBe(2);
      const held = Object.fromEntries(pinned.positions.edges.map((e: any) => [e.node.id, e.node.holding.quantity]));
      expect(held).toEqual({ [left]: '1', [corrected]: '2' });
      const now = (await ok(Q, { n: node }, service)).portfolioNode;
      expect(now.marketValue.amount).toBe('750');
      expect(now.positions.totalCount).toBe(3);
    }
  });
});
