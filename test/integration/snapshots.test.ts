// createPortfolioSnapshot through HTTP against the real server and database:
// what enters the payload, the stored hash, content addressing (the same
// content is stored once per node, whatever the as-of date), twenty concurrent
// identical requests, the statements of each path, and errors.
import { randomUUID } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../../src/domain/contentHash';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { adjustQuantity, createChain, createInstrument, createPosition } from '../support/factories';
import { graphql, startService, type GraphQLResponse, type RunningService } from '../support/http';
import { statementsDuring } from '../support/statements';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
let fundId: string;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 500, funds: 2 });

const CREATE = `mutation($nodeId: ID!, $asOfDate: Date!) {
  createPortfolioSnapshot(nodeId: $nodeId, asOfDate: $asOfDate) { created snapshot { id asOfDate payloadHash payload node { id } } } }`;

interface Payload {
  version: number;
  node: { id: string; name: string; nodeType: string; baseCurrency: string };
  positions: { id: string; nodeId: string; quantity: string; valuation: { asOfDate: string; marketValue: string; currency: string } | null }[];
  fx: { feedId: string; asOfDate: string; rates: { pair: string; rate: string }[] } | null;
}
interface Created {
  created: boolean;
  snapshot: { id: string; asOfDate: string; payloadHash: string; payload: Payload; node: { id: string } };
}

const create = (nodeId: string, asOfDate: string) => graphql(api.url, CREATE, { nodeId, asOfDate });
/** Only the mutation's own statements: no field that needs another read. */
const createLean = async (nodeId: string, asOfDate: string) =>
  (await graphql(api.url, `mutation($n: ID!, $d: Date!) { createPortfolioSnapshot(nodeId: $n, asOfDate: $d) { created snapshot { id payloadHash } } }`, { n: nodeId, d: asOfDate }))
    .data!.createPortfolioSnapshot as { created: boolean; snapshot: { id: string; payloadHash: string } };
async function created(nodeId: string, asOfDate: string): Promise<Created> {
  const res = await create(nodeId, asOfDate);
  expect(res.errors).toBeUndefined();
  return res.data!.createPortfolioSnapshot as Created;
}

async function snapshotRows(nodeId: string) {
  return t.db.sql.query<{ id: string; as_of_date: string; payload_hash: string; payload_json: unknown }>(
    `SELECT id::text, to_char(as_of_date, 'YYYY-MM-DD') AS as_of_date, payload_hash, payload_json FROM portfolio_snapshot WHERE portfolio_node_id = $1`,
    [nodeId],
  );
}

const statements = <T>(fn: () => Promise<T>) => statementsDuring(t.db, fn);

/** A small tree: ACTIVE, CLOSED and DELETED positions on a book, one ACTIVE on its strategy; valuations in June and July. */
async function smallTree(prefix: string) {
  const { fund, desk, book, strategy } = await createChain(t.db, prefix);
  const instrument = await createInstrument(t.db, { isin: null });
  const active = await createPosition(t.db, { portfolioNodeId: book.id, instrumentId: instrument.id, quantity: '1000.50' });
  const closed = await createPosition(t.db, { portfolioNodeId: book.id, instrumentId: instrument.id, status: 'CLOSED' });
  const deleted = await createPosition(t.db, { portfolioNodeId: book.id, instrumentId: instrument.id, status: 'DELETED' });
  const deep = await createPosition(t.db, { portfolioNodeId: strategy.id, instrumentId: instrument.id, quantity: '7', baseCcy: 'EUR' });
  for (const p of [active, closed, deleted, deep]) {
    await t.db.prisma.valuationResult.createMany({
      data: [
        { positionId: p.id, portfolioNodeId: p.portfolioNodeId, asOfDate: new Date('2026-06-30T00:00:00Z'), marketValue: '100.10', currency: 'USD' },
        { positionId: p.id, portfolioNodeId: p.portfolioNodeId, asOfDate: new Date('2026-07-31T00:00:00Z'), marketValue: '200.20', currency: 'USD' },
      ],
    });
  }
  return { fund, desk, book, strategy, active, closed, deleted, deep };
}

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, world);
  api = await startService(t.db);
  fundId = world.nodes.find((n) => n.node_type === 'FUND')!.id;
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

describe('createPortfolioSnapshot', () => {
  it("stores the subtree's ACTIVE positions, their valuations and the FX feed in force, hashed as stored", async () => {
    const first = await created(fundId, '2026-10-30');
    expect(first.created).toBe(true);
    const { snapshot } = first;
    expect(snapshot).toMatchObject({ asOfDate: '2026-10-30', node: { id: fundId } });
    const [row] = await snapshotRows(fundId);
    expect(row).toMatchObject({ id: snapshot.id, as_of_date: '2026-10-30', payload_hash: snapshot.payloadHash });
    // The stored hash is SHA-256 of the RFC 8785 JSON of the stored payload, recomputed here.
    expect(sha256Hex(canonicalJson(row!.payload_json))).toBe(row!.payload_hash);
    expect(sha256Hex(canonicalJson(snapshot.payload))).toBe(snapshot.payloadHash);
    expect(snapshot.payload).toEqual(row!.payload_json);
    const { payload } = snapshot;
    expect(payload).toMatchObject({ version: 1, node: { id: fundId, nodeType: 'FUND' }, fx: { asOfDate: '2026-10-30' } });
    expect(payload).not.toHaveProperty('asOfDate');
    // The same positions as the API lists for the subtree, and as many unvalued as the analytics count.
    const res = await graphql(api.url, `query($id: ID!) { portfolioNode(id: $id) {
      positions(status: [ACTIVE], includeDescendants: true, first: 1) { totalCount }
      exposure(dimension: CURRENCY, asOf: "2026-10-30") { unvaluedPositionCount } } }`, { id: fundId });
    expect(res.errors).toBeUndefined();
    expect(payload.positions).toHaveLength(res.data!.portfolioNode.positions.totalCount);
    expect(payload.positions.filter((p) => p.valuation === null)).toHaveLength(res.data!.portfolioNode.exposure.unvaluedPositionCount);
    expect(payload.positions.map((p) => p.id)).toEqual(payload.positions.map((p) => p.id).sort());
    expect(payload.positions.every((p) => !p.quantity.includes('.') || !p.quantity.endsWith('0'))).toBe(true);
  });

  it('leaves out CLOSED and DELETED positions and valuations after the date; includes descendants', async () => {
    const tree = await smallTree('Content');
    const { snapshot } = await created(tree.book.id, '2026-07-30');
    const byId = new Map(snapshot.payload.positions.map((p) => [p.id, p]));
    expect([...byId.keys()].sort()).toEqual([tree.active.id, tree.deep.id].sort());
    expect(byId.get(tree.active.id)).toMatchObject({ nodeId: tree.book.id, quantity: '1000.5', valuation: { asOfDate: '2026-06-30', marketValue: '100.1', currency: 'USD' } });
    expect(byId.get(tree.deep.id)).toMatchObject({ nodeId: tree.strategy.id, quantity: '7', baseCurrency: 'EUR' });
    const next = await created(tree.book.id, '2026-07-31');
    expect(next.created).toBe(true);
    expect(next.snapshot.payload.positions.map((p) => p.valuation?.asOfDate)).toEqual(['2026-07-31', '2026-07-31']);
    const early = await created(tree.book.id, '2026-01-01');
    expect(early.snapshot.payload.positions.map((p) => p.valuation)).toEqual([null, null]);
  });

  it('returns the stored snapshot for the same content again, on the same or another date (stored once per node)', async () => {
    const tree = await smallTree('Dedup');
    const first = await created(tree.fund.id, '2026-10-30');
    const [lean, sql] = await statements(() => createLean(tree.fund.id, '2026-10-30'));
    expect(lean).toEqual({ created: false, snapshot: { id: first.snapshot.id, payloadHash: first.snapshot.payloadHash } });
    // The probe: nothing the snapshot shows changed since it was built, so it answers alone.
    expect(sql).toHaveLength(1);
    expect(await created(tree.fund.id, '2026-10-30')).toEqual({ ...first, created: false });
    // Nothing new on 2026-10-31 or in the future (same valuations, same FX feed): the same content.
    for (const date of ['2026-10-31', '2027-06-30']) {
      const later = await created(tree.fund.id, date);
      expect(later).toEqual({ created: false, snapshot: { ...first.snapshot, asOfDate: '2026-10-30' } });
    }
    expect(await snapshotRows(tree.fund.id)).toHaveLength(1);
  });

  it('stores a new snapshot when one quantity held on the date changes', async () => {
    const tree = await smallTree('Changed');
    const before = await created(tree.fund.id, '2026-10-30');
    // A quantity changed today is not what was held on 2026-10-30: same content.
    await t.db.sql.query(`UPDATE position SET quantity = quantity + 1 WHERE id = $1`, [tree.deep.id]);
    expect(await created(tree.fund.id, '2026-10-30')).toMatchObject({ created: false, snapshot: { id: before.snapshot.id } });
    // A back-dated adjustment is.
    await adjustQuantity(t.db, tree.deep.id, '7.0000000001', '2026-10-01');
    const [lean, sql] = await statements(() => createLean(tree.fund.id, '2026-10-30'));
    expect(lean.created).toBe(true);
    expect(sql).toHaveLength(6); // probe (stale after the write), settled moment, content, check, insert, probe update
    const after = await created(tree.fund.id, '2026-10-30');
    expect(after).toMatchObject({ created: false, snapshot: lean.snapshot });
    expect(after.snapshot.id).not.toBe(before.snapshot.id);
    expect(after.snapshot.payloadHash).not.toBe(before.snapshot.payloadHash);
    expect(after.snapshot.payload.positions.find((p) => p.id === tree.deep.id)!.quantity).toBe('7.0000000001');
    const rows = await snapshotRows(tree.fund.id);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(sha256Hex(canonicalJson(row.payload_json))).toBe(row.payload_hash);
  });

  it('rebuilds after any write to the fund, a new FX feed or an instrument change, and answers from the probe otherwise', async () => {
    const tree = await smallTree('Probe');
    const other = await smallTree('Probe elsewhere');
    const first = await createLean(tree.book.id, '2026-10-30');
    const count = async () => (await statements(() => createLean(tree.book.id, '2026-10-30')))[1].length;
    expect(await count()).toBe(1);
    // A write in another fund leaves this one's version alone.
    await t.db.sql.query(`UPDATE position SET quantity = quantity + 1 WHERE id = $1`, [other.active.id]);
    expect(await count()).toBe(1);
    // A valuation in this fund, even one after the date, makes the probe stale: rebuilt, same content.
    await t.db.sql.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, '2027-01-29', 1, 'USD')`, [tree.active.id]);
    expect(await count()).toBe(5); // probe, settled moment, content, check (the same hash exists), probe update
    expect(await count()).toBe(1);
    // A renamed node, an instrument's identifiers, a new FX feed: each is noticed.
    await t.db.sql.query(`UPDATE portfolio_node SET name = name || ' (renamed)' WHERE id = $1`, [tree.strategy.id]);
    expect(await count()).toBeGreaterThan(1);
    await t.db.sql.query(`UPDATE instrument SET ticker = 'PROBE.T1' WHERE id = (SELECT instrument_id FROM position WHERE id = $1)`, [tree.active.id]);
    expect(await count()).toBeGreaterThan(1);
    const feed = randomUUID();
    await t.db.sql.query(`INSERT INTO market_data_feed (id, feed_type, as_of_date, source, payload_json, payload_hash, validation_status)
      VALUES ($1, 'FX_SPOT', '2026-10-30', 'PROBE', '{}', $2, 'PASS')`, [feed, feed.replace(/-/g, '').padEnd(64, '0')]);
    const afterFeed = await statements(() => createLean(tree.book.id, '2026-10-30'));
    expect(afterFeed[1].length).toBeGreaterThan(1);
    expect(afterFeed[0].created).toBe(true); // the FX part of the content changed
    expect(first.created).toBe(true);
  });

  it('folds a busy fund\'s content changes into one row on rebuild, keeping its version (the probe still answers)', async () => {
    const tree = await smallTree('Compaction');
    await createLean(tree.book.id, '2026-10-30');
    const versionRows = async () => (await t.db.sql.query<{ rows: number; version: string }>(
      `SELECT count(*)::int AS rows, sum(weight)::text AS version FROM content_change WHERE fund_id IS NULL OR fund_id = $1`, [tree.fund.id]))[0]!;
    // 300 write statements, each one content_change row for this fund.
    await t.db.sql.query(`DO $$ BEGIN FOR i IN 1..300 LOOP
      UPDATE position SET quantity = quantity WHERE id = '${tree.active.id}'; END LOOP; END $$`);
    const before = await versionRows();
    expect(before.rows).toBeGreaterThan(300);
    const [rebuilt, sql] = await statements(() => createLean(tree.book.id, '2026-10-30'));
    expect(rebuilt.created).toBe(false); // same quantities: same content
    expect(sql).toHaveLength(6); // probe (stale), settled moment, content, check, probe update, compaction
    const after = await versionRows();
    expect(after.version).toBe(before.version);
    expect(after.rows).toBeLessThanOrEqual(2); // one for the fund, one for every fund
    expect((await statements(() => createLean(tree.book.id, '2026-10-30')))[1]).toHaveLength(1);
    // Another fund's rows are left alone.
    const other = await smallTree('Compaction elsewhere');
    await t.db.sql.query(`UPDATE position SET quantity = quantity WHERE id = $1`, [other.active.id]);
    const [otherRows] = await t.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM content_change WHERE fund_id = $1`, [other.fund.id]);
    expect(otherRows!.n).toBeGreaterThan(0);
  });

  it('answers twenty concurrent identical requests with one row and the same id, without error', async () => {
    const tree = await smallTree('Concurrent');
    const answers = await Promise.all(Array.from({ length: 20 }, () => create(tree.desk.id, '2026-10-30')));
    for (const res of answers) expect(res.errors).toBeUndefined();
    const results = answers.map((res) => res.data!.createPortfolioSnapshot as Created);
    expect(new Set(results.map((r) => r.snapshot.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const rows = await snapshotRows(tree.desk.id);
    expect(rows.map((r) => r.id)).toEqual([results[0]!.snapshot.id]);
  });
});

describe('createPortfolioSnapshot errors', () => {
  const expectError = (res: GraphQLResponse, code: string, field: string) => {
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]!.extensions).toMatchObject({ code, field });
    expect(res.data?.createPortfolioSnapshot ?? null).toBeNull();
  };

  it('answers NOT_FOUND on nodeId for an unknown or malformed node, and writes nothing', async () => {
    const [before] = await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolio_snapshot');
    expectError(await create('00000000-0000-4000-8000-000000000000', '2026-10-30'), 'NOT_FOUND', 'nodeId');
    expectError(await create('not-a-uuid', '2026-10-30'), 'NOT_FOUND', 'nodeId');
    const [after] = await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolio_snapshot');
    expect(after!.n).toBe(before!.n);
  });

  it('rejects a date that is not a calendar date with BAD_USER_INPUT', async () => {
    const res = await create(fundId, '2026-02-30');
    expect(res.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });
});
