// The as-of layout the analytics rely on, kept by the database whoever writes:
// valuation_result.valid_to is always the date of the position's next
// valuation (null for the latest), and reference_data.ultimate_parent_id the
// root of the entity's parent chain.
import { createChain, createInstrument, createIssuer, createPosition } from '../support/factories';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

async function validity(positionId: string): Promise<[string, string | null][]> {
  const rows = await t.db.sql.query<{ d: string; v: string | null }>(
    `SELECT as_of_date::text AS d, valid_to::text AS v FROM valuation_result WHERE position_id = $1 ORDER BY as_of_date`, [positionId]);
  return rows.map((r) => [r.d, r.v]);
}

it('keeps valid_to through inserts in any order, updates, deletes and bulk statements', async () => {
  const c = await createChain(t.db, 'Layout');
  const instrument = await createInstrument(t.db);
  const p = await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
  const q = await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
  const insert = (id: string, d: string) => t.db.sql.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, $2, 1, 'USD')`, [id, d]);
  await insert(p.id, '2026-03-31');
  await insert(p.id, '2026-01-31');
  await insert(p.id, '2026-02-27');
  expect(await validity(p.id)).toEqual([['2026-01-31', '2026-02-27'], ['2026-02-27', '2026-03-31'], ['2026-03-31', null]]);
  await t.db.sql.query(`DELETE FROM valuation_result WHERE position_id = $1 AND as_of_date = '2026-02-27'`, [p.id]);
  expect(await validity(p.id)).toEqual([['2026-01-31', '2026-03-31'], ['2026-03-31', null]]);
  await t.db.sql.query(`UPDATE valuation_result SET as_of_date = '2026-04-30' WHERE position_id = $1 AND as_of_date = '2026-01-31'`, [p.id]);
  expect(await validity(p.id)).toEqual([['2026-03-31', '2026-04-30'], ['2026-04-30', null]]);
  // One statement touching two positions; a wrong value written directly is corrected.
  await t.db.sql.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency, valid_to)
    VALUES ($1, '2026-05-29', 2, 'USD', '2030-01-01'), ($2, '2026-05-29', 3, 'USD', NULL), ($2, '2026-01-30', 3, 'USD', NULL)`, [p.id, q.id]);
  expect(await validity(p.id)).toEqual([['2026-03-31', '2026-04-30'], ['2026-04-30', '2026-05-29'], ['2026-05-29', null]]);
  expect(await validity(q.id)).toEqual([['2026-01-30', '2026-05-29'], ['2026-05-29', null]]);
  await expect(t.db.sql.query(`UPDATE valuation_result SET valid_to = as_of_date WHERE position_id = $1`, [q.id])).rejects.toMatchObject({ code: '23514' });
});

it('keeps each position\'s latest valuation on the position through inserts, updates, deletes and bulk statements', async () => {
  const c = await createChain(t.db, 'Latest');
  const instrument = await createInstrument(t.db);
  const p = await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
  const q = await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
  const latest = async (id: string) => (await t.db.sql.query<{ d: string | null; v: string | null; c: string | null }>(
    `SELECT latest_as_of::text AS d, latest_market_value::text AS v, latest_currency AS c FROM position WHERE id = $1`, [id]))[0];
  const insert = (id: string, d: string, v: string, ccy = 'USD') =>
    t.db.sql.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, $2, $3, $4)`, [id, d, v, ccy]);
  expect(await latest(p.id)).toEqual({ d: null, v: null, c: null });
  await insert(p.id, '2026-03-31', '300.5');
  await insert(p.id, '2026-01-31', '100'); // an older one changes nothing
  expect(await latest(p.id)).toEqual({ d: '2026-03-31', v: '300.50000000', c: 'USD' });
  await t.db.sql.query(`UPDATE valuation_result SET market_value = 301, currency = 'EUR' WHERE position_id = $1 AND as_of_date = '2026-03-31'`, [p.id]);
  expect(await latest(p.id)).toEqual({ d: '2026-03-31', v: '301.00000000', c: 'EUR' });
  await t.db.sql.query(`DELETE FROM valuation_result WHERE position_id = $1 AND as_of_date = '2026-03-31'`, [p.id]);
  expect(await latest(p.id)).toEqual({ d: '2026-01-31', v: '100.00000000', c: 'USD' });
  // One statement for two positions.
  await t.db.sql.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency)
    VALUES ($1, '2026-05-29', 2, 'GBP'), ($2, '2026-05-29', 3, 'JPY'), ($2, '2026-06-30', 4, 'JPY')`, [p.id, q.id]);
  expect(await latest(p.id)).toEqual({ d: '2026-05-29', v: '2.00000000', c: 'GBP' });
  expect(await latest(q.id)).toEqual({ d: '2026-06-30', v: '4.00000000', c: 'JPY' });
  await t.db.sql.query(`DELETE FROM valuation_result WHERE position_id = $1`, [q.id]);
  expect(await latest(q.id)).toEqual({ d: null, v: null, c: null });
  // All three or none.
  await expect(t.db.sql.query(`UPDATE position SET latest_currency = NULL WHERE id = $1`, [p.id])).rejects.toMatchObject({ code: '23514' });
});

it('keeps ultimate_parent_id through inserts and moves of a subtree', async () => {
  const top = await createIssuer(t.db, { name: 'Top' });
  const mid = await createIssuer(t.db, { name: 'Mid', parentEntityId: top.id });
  const leaf = await createIssuer(t.db, { name: 'Leaf', parentEntityId: mid.id });
  const other = await createIssuer(t.db, { name: 'Other' });
  const ultimate = async (id: string) => (await t.db.sql.query<{ u: string }>('SELECT ultimate_parent_id AS u FROM reference_data WHERE id = $1', [id]))[0]!.u;
  expect([await ultimate(top.id), await ultimate(mid.id), await ultimate(leaf.id)]).toEqual([top.id, top.id, top.id]);
  await t.db.sql.query('UPDATE reference_data SET parent_entity_id = $1 WHERE id = $2', [other.id, mid.id]);
  expect([await ultimate(mid.id), await ultimate(leaf.id), await ultimate(top.id)]).toEqual([other.id, other.id, top.id]);
  await t.db.sql.query('UPDATE reference_data SET ultimate_parent_id = $1 WHERE id = $2', [top.id, leaf.id]);
  expect(await ultimate(leaf.id)).toBe(other.id);
});
