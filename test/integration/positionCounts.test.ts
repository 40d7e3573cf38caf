// The number of positions per node and status, kept by the database
// (node_position_count): whoever writes positions, and however, the sum of a
// node's deltas in a state equals count(*) of its positions in it, and the
// API's totals read it.
import { createChain, createInstrument, createPosition } from '../support/factories';
import { graphql, startService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

/** Every node and status whose kept count differs from the real count: [node, status, kept, real]. */
async function mismatches(): Promise<[string, string, number, number][]> {
  const rows = await t.db.sql.query<{ id: string; status: string; kept: number; real: number }>(`
    SELECT n.id::text AS id, s.status::text AS status,
           (SELECT COALESCE(sum(c.delta), 0)::int FROM node_position_count c WHERE c.portfolio_node_id = n.id AND c.status = s.status) AS kept,
           (SELECT count(*)::int FROM position p WHERE p.portfolio_node_id = n.id AND p.status = s.status) AS real
    FROM portfolio_node n CROSS JOIN unnest(enum_range(NULL::position_status)) AS s (status)`);
  return rows.filter((r) => r.kept !== r.real).map((r) => [r.id, r.status, r.kept, r.real]);
}

/** A node's kept count in one state. */
const keptIn = async (nodeId: string, status: string) =>
  (await t.db.sql.query<{ n: number }>('SELECT COALESCE(sum(delta), 0)::int AS n FROM node_position_count WHERE portfolio_node_id = $1 AND status = $2::position_status', [nodeId, status]))[0]!.n;

const rowsOf = async (nodeId: string) =>
  (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM node_position_count WHERE portfolio_node_id = $1', [nodeId]))[0]!.n;

const kept = async (nodeId: string) =>
  (await t.db.sql.query<{ n: number }>('SELECT COALESCE(sum(delta), 0)::int AS n FROM node_position_count WHERE portfolio_node_id = $1', [nodeId]))[0]!.n;

it('keeps every node\'s count through inserts, bulk statements, moves, status changes and deletes', async () => {
  const a = await createChain(t.db, 'CountA');
  const b = await createChain(t.db, 'CountB');
  const instrument = await createInstrument(t.db);
  const p = await createPosition(t.db, { portfolioNodeId: a.book.id, instrumentId: instrument.id });
  await createPosition(t.db, { portfolioNodeId: a.strategy.id, instrumentId: instrument.id });
  expect([await kept(a.book.id), await kept(a.strategy.id)]).toEqual([1, 1]);
  // One statement over three nodes.
  await t.db.sql.query(`INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy)
    SELECT node, $4, 1, 'USD' FROM unnest(ARRAY[$1, $1, $2, $3, $3, $3]::uuid[]) AS node`, [a.book.id, b.book.id, b.strategy.id, instrument.id]);
  expect([await kept(a.book.id), await kept(b.book.id), await kept(b.strategy.id)]).toEqual([3, 1, 3]);
  // A status change moves the count from one state to another (one statement over several rows);
  // a latest valuation leaves the counts alone; a move carries one over.
  await t.db.sql.query(`UPDATE position SET status = 'CLOSED' WHERE portfolio_node_id = $1`, [b.strategy.id]);
  expect([await kept(b.strategy.id), await keptIn(b.strategy.id, 'ACTIVE'), await keptIn(b.strategy.id, 'CLOSED')]).toEqual([3, 0, 3]);
  await t.db.sql.query(`UPDATE position SET status = 'DELETED' WHERE id = (SELECT min(id::text)::uuid FROM position WHERE portfolio_node_id = $1)`, [b.strategy.id]);
  expect([await keptIn(b.strategy.id, 'CLOSED'), await keptIn(b.strategy.id, 'DELETED')]).toEqual([2, 1]);
  expect(await mismatches()).toEqual([]);
  await t.db.sql.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, '2026-06-30', 5, 'USD')`, [p.id]);
  await t.db.sql.query('UPDATE position SET portfolio_node_id = $1 WHERE id = $2', [b.book.id, p.id]);
  expect([await kept(a.book.id), await kept(b.book.id)]).toEqual([2, 2]);
  // A bulk move of several positions from several nodes.
  await t.db.sql.query('UPDATE position SET portfolio_node_id = $1 WHERE portfolio_node_id IN ($2, $3)', [a.strategy.id, b.strategy.id, a.book.id]);
  expect([await kept(a.strategy.id), await kept(b.strategy.id), await kept(a.book.id)]).toEqual([6, 0, 0]);
  await t.db.sql.query('DELETE FROM valuation_result WHERE position_id = $1', [p.id]);
  await t.db.sql.query('DELETE FROM position WHERE portfolio_node_id = $1 OR id = $2', [a.strategy.id, p.id]);
  expect([await kept(a.strategy.id), await kept(b.book.id)]).toEqual([0, 1]);
  expect(await mismatches()).toEqual([]);
});

it('folds a node\'s rows once there are more than 32, keeping the sum', async () => {
  const c = await createChain(t.db, 'Fold');
  const instrument = await createInstrument(t.db);
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) ids.push((await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id })).id);
  // 40 single-row statements: folded at the 33rd, then one row per statement since.
  expect(await rowsOf(c.book.id)).toBeLessThanOrEqual(33);
  expect(await kept(c.book.id)).toBe(40);
  for (const id of ids.slice(0, 25)) await t.db.sql.query('DELETE FROM position WHERE id = $1', [id]);
  expect(await rowsOf(c.book.id)).toBeLessThanOrEqual(33);
  expect(await kept(c.book.id)).toBe(15);
  expect(await mismatches()).toEqual([]);
});

it('does not fold under REPEATABLE READ, and the counts stay right', async () => {
  const c = await createChain(t.db, 'Repeatable');
  const instrument = await createInstrument(t.db);
  for (let i = 0; i < 34; i++) await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
  const before = await rowsOf(c.book.id);
  await t.db.sql.transaction(async (tx) => {
    await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await tx.query(`INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy) VALUES ($1, $2, 1, 'USD')`, [c.book.id, instrument.id]);
  });
  expect(await rowsOf(c.book.id)).toBe(before + 1);
  expect(await kept(c.book.id)).toBe(35);
});

it('a rolled-back write leaves no count behind, a deleted node no rows', async () => {
  const c = await createChain(t.db, 'Rollback');
  const instrument = await createInstrument(t.db);
  await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
  await expect(t.db.sql.transaction(async (tx) => {
    await tx.query(`INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy) VALUES ($1, $2, 1, 'USD'), ($1, $2, 1, 'USD')`, [c.book.id, instrument.id]);
    throw new Error('abandon');
  })).rejects.toThrow('abandon');
  expect(await kept(c.book.id)).toBe(1);
  await t.db.sql.query('DELETE FROM position WHERE portfolio_node_id = $1', [c.book.id]);
  await t.db.sql.query('DELETE FROM portfolio_node WHERE id = $1', [c.strategy.id]);
  await t.db.sql.query('DELETE FROM portfolio_node WHERE id = $1', [c.book.id]);
  expect(await rowsOf(c.book.id)).toBe(0);
  expect(await mismatches()).toEqual([]);
});

it('serves tree totals and subtree totals from the kept counts, equal to the real counts', async () => {
  const c = await createChain(t.db, 'Served');
  const instrument = await createInstrument(t.db);
  await t.db.sql.query(`INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy, status)
    SELECT node, $3, 1, 'USD', status::position_status
    FROM unnest(ARRAY[$1, $1, $1, $2, $2]::uuid[], ARRAY['ACTIVE', 'CLOSED', 'ACTIVE', 'DELETED', 'ACTIVE']) AS x(node, status)`,
  [c.book.id, c.strategy.id, instrument.id]);
  const api = await startService(t.db);
  try {
    type Counted = { positions: { totalCount: number } };
    const res = await graphql<{ portfolioNode: {
      all: { totalCount: number }; active: { totalCount: number };
      children: (Counted & { children: (Counted & { children: Counted[] })[] })[];
    } }>(api.url, `query ($id: ID!) { portfolioNode(id: $id) {
        all: positions(first: 0, includeDescendants: true) { totalCount }
        active: positions(first: 0, includeDescendants: true, status: [ACTIVE]) { totalCount }
        children { positions(first: 0) { totalCount } children { positions(first: 0) { totalCount } children { positions(first: 0) { totalCount } } } } } }`,
    { id: c.fund.id });
    expect(res.errors).toBeUndefined();
    const fund = res.data!.portfolioNode;
    expect([fund.all.totalCount, fund.active.totalCount]).toEqual([5, 3]);
    const desk = fund.children[0]!;
    const book = desk.children[0]!;
    expect([desk.positions.totalCount, book.positions.totalCount, book.children[0]!.positions.totalCount]).toEqual([0, 3, 2]);
  } finally {
    await api.stop();
  }
});

it('a truncation of the positions clears the counts, and counting starts again from there', async () => {
  const c = await createChain(t.db, 'Truncate');
  const instrument = await createInstrument(t.db);
  await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
  await t.db.sql.query('TRUNCATE snapshot_probe, valuation_result, position_version, position');
  expect((await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM node_position_count'))[0]!.n).toBe(0);
  await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
  expect(await kept(c.book.id)).toBe(1);
  expect(await mismatches()).toEqual([]);
});
