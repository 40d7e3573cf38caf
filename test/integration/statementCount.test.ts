// The number of SQL statements of a nested query grows with its depth, never
// with the number of rows: the same six-level query (fund > desks > books >
// strategies > positions > instruments > issuers) costs the same statements on
// a tree of 10 nodes and on one of 1,000.
import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/database';
import { graphql, startService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

interface Shape {
  desks: number;
  books: number;
  strategies: number;
}

/** One fund of the given shape, two valued positions per BOOK and STRATEGY, each on its own instrument and issuer. */
async function buildTree(db: Database, shape: Shape): Promise<{ fundId: string; nodes: number }> {
  const nodes: [string, string, string, string | null][] = [];
  const fundId = randomUUID();
  nodes.push([fundId, 'Fund', 'FUND', null]);
  const holders: string[] = [];
  for (let d = 0; d < shape.desks; d++) {
    const desk = randomUUID();
    nodes.push([desk, `Desk ${d}`, 'DESK', fundId]);
    for (let b = 0; b < shape.books; b++) {
      const book = randomUUID();
      nodes.push([book, `Book ${d}.${b}`, 'BOOK', desk]);
      holders.push(book);
      for (let s = 0; s < shape.strategies; s++) {
        const strategy = randomUUID();
        nodes.push([strategy, `Strategy ${d}.${b}.${s}`, 'STRATEGY', book]);
        holders.push(strategy);
      }
    }
  }
  await db.sql.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO portfolio_node (id, name, node_type, parent_id, base_ccy)
       SELECT id, name, t::node_type, parent, 'USD' FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[]) AS u(id, name, t, parent)`,
      [nodes.map((n) => n[0]), nodes.map((n) => n[1]), nodes.map((n) => n[2]), nodes.map((n) => n[3])],
    );
    const sector = randomUUID();
    await tx.query(`INSERT INTO reference_data (id, entity_type, name, code) VALUES ($1, 'SECTOR', 'Banks', '4010')`, [sector]);
    const positions = holders.flatMap((h) => [h, h]);
    const issuers = positions.map(() => randomUUID());
    const instruments = positions.map(() => randomUUID());
    const ids = positions.map(() => randomUUID());
    await tx.query(`INSERT INTO reference_data (id, entity_type, name, sector_id) SELECT id, 'ISSUER', 'Issuer ' || n, $2 FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)`, [issuers, sector]);
    await tx.query(`INSERT INTO instrument (id, name, asset_class, currency, issuer_id) SELECT i, 'Bond ' || n, 'BOND', 'USD', s FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS u(i, s, n)`, [instruments, issuers]);
    await tx.query(`INSERT INTO position (id, portfolio_node_id, instrument_id, quantity, base_ccy) SELECT * , 1000, 'USD' FROM unnest($1::uuid[], $2::uuid[], $3::uuid[])`, [ids, positions, instruments]);
    await tx.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) SELECT id, '2026-06-30', 990.5, 'USD' FROM unnest($1::uuid[]) AS u(id)`, [ids]);
  });
  return { fundId, nodes: nodes.length };
}

const TREE = `query($id: ID!) { portfolioNode(id: $id) { name depth
  children { name depth parent { name }
    children { name ancestors { id }
      positions(first: 50) { totalCount edges { node { quantity valuation(asOf: "2026-06-30") { marketValue }
        instrument { name issuer { name sector { name } } } } } }
      children { name depth
        positions(first: 50) { totalCount edges { node { quantity status valuation(asOf: "2026-06-30") { marketValue }
          instrument { name currency issuer { name } } } } } } } } } }`;

async function statementsFor(shape: Shape): Promise<{ statements: number; nodes: number; positions: number }> {
  const t: TestDatabase = await createTestDatabase();
  try {
    const { fundId, nodes } = await buildTree(t.db, shape);
    const api = await startService(t.db);
    try {
      await graphql(api.url, TREE, { id: fundId }); // warm-up (first-use costs of the client)
      let statements = 0;
      const unsubscribe = t.db.onQuery(() => statements++);
      const res = await graphql(api.url, TREE, { id: fundId });
      unsubscribe();
      expect(res.errors).toBeUndefined();
      const desks = res.data!.portfolioNode.children;
      const positions = desks.flatMap((d: any) => d.children.flatMap((b: any) => [b.positions.edges.length, ...b.children.map((s: any) => s.positions.edges.length)]))
        .reduce((a: number, b: number) => a + b, 0);
      return { statements, nodes, positions };
    } finally {
      await api.stop();
    }
  } finally {
    await t.drop();
  }
}

const COUNTS = `query($id: ID!) { portfolioNode(id: $id) { name positions(first: 0) { totalCount }
  children { name positions(first: 0) { totalCount } children { name positions(first: 0) { totalCount }
    children { name positions(first: 0) { totalCount } } } } } }`;

it('reads a whole tree with every node\'s position count in one statement, counts right (the root\'s own too)', async () => {
  for (const shape of [{ desks: 1, books: 2, strategies: 3 }, { desks: 9, books: 10, strategies: 10 }]) {
    const t: TestDatabase = await createTestDatabase();
    try {
      const { fundId } = await buildTree(t.db, shape);
      const api = await startService(t.db);
      try {
        await graphql(api.url, COUNTS, { id: fundId });
        let statements = 0;
        const unsubscribe = t.db.onQuery(() => statements++);
        const res = await graphql(api.url, COUNTS, { id: fundId });
        unsubscribe();
        expect(res.errors).toBeUndefined();
        const fund = res.data!.portfolioNode;
        expect(fund.positions.totalCount).toBe(0);
        for (const desk of fund.children) {
          expect(desk.positions.totalCount).toBe(0);
          for (const book of desk.children) {
            expect(book.positions.totalCount).toBe(2);
            for (const strategy of book.children) expect(strategy.positions.totalCount).toBe(2);
          }
        }
        // The node, its subtree and every count (the fund's own included): one statement.
        expect(statements).toBe(1);
        // A book as the root: its own count comes from the same statement.
        const [{ id: bookId }] = (await t.db.sql.query<{ id: string }>(
          `SELECT id::text FROM portfolio_node WHERE node_type = 'BOOK' ORDER BY name LIMIT 1`)) as [{ id: string }];
        let bookStatements = 0;
        const off = t.db.onQuery(() => bookStatements++);
        const book = await graphql(api.url, COUNTS, { id: bookId });
        off();
        expect(book.errors).toBeUndefined();
        expect(book.data!.portfolioNode.positions.totalCount).toBe(2);
        expect(book.data!.portfolioNode.children.map((c: { positions: { totalCount: number } }) => c.positions.totalCount))
          .toEqual(Array(shape.strategies).fill(2));
        expect(bookStatements).toBe(1);
      } finally {
        await api.stop();
      }
    } finally {
      await t.drop();
    }
  }
}, 120_000);

it('issues the same number of statements for a tree of 10 nodes and of 1,000 nodes', async () => {
  const small = await statementsFor({ desks: 1, books: 2, strategies: 3 });
  const large = await statementsFor({ desks: 9, books: 10, strategies: 10 });
  expect(small.nodes).toBe(10);
  expect(large.nodes).toBe(1000);
  expect(small.positions).toBe(2 * 8);
  expect(large.positions).toBe(2 * 990);
  // eslint-disable-next-line no-console
  console.log(`statements for the six-level tree query: ${small.statements} (10 nodes) and ${large.statements} (1,000 nodes)`);
  expect(large.statements).toBe(small.statements);
  expect(small.statements).toBeLessThanOrEqual(7);
}, 120_000);
