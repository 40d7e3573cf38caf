// PostgreSQL only: writers of positions in one node at the same time. The kept
// count (node_position_count) takes no lock on a shared row: a writer never
// waits for another one, not even while that one folds the node's rows, and
// once both commit the count is the real one.
import { createChain, createInstrument } from '../support/factories';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const insert = `INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy) VALUES ($1, $2, 1, 'USD')`;
const rowsOf = async (nodeId: string) =>
  (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM node_position_count WHERE portfolio_node_id = $1', [nodeId]))[0]!.n;
const counts = async (nodeId: string) =>
  (await t.db.sql.query<{ kept: number; real: number }>(`SELECT
     (SELECT COALESCE(sum(delta), 0)::int FROM node_position_count WHERE portfolio_node_id = $1) AS kept,
     (SELECT count(*)::int FROM position WHERE portfolio_node_id = $1) AS real`, [nodeId]))[0]!;

it('a writer does not wait for another one folding the same node, and both count', async () => {
  const { book } = await createChain(t.db, 'CountRace');
  const instrument = await createInstrument(t.db, { isin: null });
  for (let i = 0; i < 32; i++) await t.db.sql.query(insert, [book.id, instrument.id]);
  expect(await rowsOf(book.id)).toBe(32); // not folded yet: folding starts above 32 rows
  let second: 'done' | 'waited' | undefined;
  await t.db.sql.transaction(async (tx) => {
    await tx.query(insert, [book.id, instrument.id]); // 33 rows: this transaction folds them and keeps the fold lock
    expect((await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM node_position_count WHERE portfolio_node_id = $1', [book.id]))[0]!.n).toBe(1);
    // Another connection writes into the same node (and would fold too) while the fold is uncommitted.
    second = await Promise.race([
      t.db.sql.query(insert, [book.id, instrument.id]).then(() => 'done' as const),
      new Promise<'waited'>((resolve) => setTimeout(() => resolve('waited'), 5000)),
    ]);
  });
  expect(second).toBe('done');
  expect(await counts(book.id)).toEqual({ kept: 34, real: 34 });
  // The next writer folds what both left.
  for (let i = 0; i < 32; i++) await t.db.sql.query(insert, [book.id, instrument.id]);
  expect(await rowsOf(book.id)).toBeLessThanOrEqual(33);
  expect(await counts(book.id)).toEqual({ kept: 66, real: 66 });
});

it('many concurrent writers into a few nodes end with the real counts', async () => {
  const a = await createChain(t.db, 'CountManyA');
  const b = await createChain(t.db, 'CountManyB');
  const instrument = await createInstrument(t.db, { isin: null });
  const nodes = [a.book.id, a.strategy.id, b.book.id];
  // 8 connections x 40 statements, each inserting 1-3 positions into 1-2 nodes, some deleting one again.
  await Promise.all(Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; i < 40; i++) {
      const first = nodes[(w + i) % 3]!;
      const second = nodes[(w * 7 + i) % 3]!;
      await t.db.sql.query(`INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy)
        SELECT node, $3, 1, 'USD' FROM unnest(ARRAY[$1, $2, $1]::uuid[]) AS node LIMIT $4`, [first, second, instrument.id, 1 + ((w + i) % 3)]);
      if (i % 5 === 0) {
        await t.db.sql.query(`DELETE FROM position WHERE id = (SELECT id FROM position WHERE portfolio_node_id = $1 LIMIT 1)`, [second]);
      }
    }
  }));
  for (const node of nodes) {
    const { kept, real } = await counts(node);
    expect(kept).toBe(real);
    expect(real).toBeGreaterThan(0);
  }
});
