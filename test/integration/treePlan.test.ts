// The look-ahead planner (src/graphql/plan.ts): whatever a tree view asks of
// its nodes - position counts by any status set, with includeDescendants, under
// aliases and fragments, depth, parent, descendants - the whole view is one
// statement, and every figure equals what the database says when asked node by
// node.
import { randomUUID } from 'node:crypto';
import type { Database } from '../../src/db/database';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
let fundId: string;
let deskId: string;

const STATUSES = ['ACTIVE', 'CLOSED', 'DELETED'] as const;

/** FUND > 2 DESKs > 2 BOOKs each > 2 STRATEGYs each; positions of every status spread unevenly. */
async function buildTree(db: Database): Promise<void> {
  const nodes: [string, string, string, string | null][] = [];
  fundId = randomUUID();
  nodes.push([fundId, 'Fund', 'FUND', null]);
  const holders: string[] = [];
  for (let d = 0; d < 2; d++) {
    const desk = randomUUID();
    if (d === 0) deskId = desk;
    nodes.push([desk, `Desk ${d}`, 'DESK', fundId]);
    holders.push(desk);
    for (let b = 0; b < 2; b++) {
      const book = randomUUID();
      nodes.push([book, `Book ${d}.${b}`, 'BOOK', desk]);
      holders.push(book);
      for (let s = 0; s < 2; s++) {
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
    const instrument = randomUUID();
    await tx.query(`INSERT INTO instrument (id, name, asset_class, currency) VALUES ($1, 'Bond', 'BOND', 'USD')`, [instrument]);
    // Holder i gets i+1 positions, status by position index: every node a different mix.
    const rows = holders.flatMap((holder, i) => Array.from({ length: i + 1 }, (_, k) => [holder, STATUSES[(i + k) % 3]!] as const));
    await tx.query(
      `INSERT INTO position (id, portfolio_node_id, instrument_id, quantity, base_ccy, status, closed_on)
       SELECT gen_random_uuid(), n, $3::uuid, 100, 'USD', s::position_status, CASE WHEN s = 'ACTIVE' THEN NULL ELSE DATE '2026-06-30' END
       FROM unnest($1::uuid[], $2::text[]) AS u(n, s)`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), instrument],
    );
  });
}

/** What the database says, node by node: own positions in the states, or those of the whole subtree. */
async function counted(nodeId: string, statuses: readonly string[] | null, includeDescendants: boolean): Promise<number> {
  const [row] = await t.db.sql.query<{ n: number }>(
    `WITH RECURSIVE sub (id) AS (SELECT $1::uuid UNION ALL SELECT c.id FROM sub JOIN portfolio_node c ON c.parent_id = sub.id WHERE $3)
     SELECT count(*)::int AS n FROM position p WHERE p.portfolio_node_id IN (SELECT id FROM sub) AND ($2::text[] IS NULL OR p.status::text = ANY($2::text[]))`,
    [nodeId, statuses, includeDescendants],
  );
  return row!.n;
}

async function depthOf(nodeId: string): Promise<number> {
  const [row] = await t.db.sql.query<{ n: number }>(
    `WITH RECURSIVE up (id) AS (SELECT parent_id FROM portfolio_node WHERE id = $1::uuid UNION ALL
       SELECT n.parent_id FROM up JOIN portfolio_node n ON n.id = up.id WHERE n.parent_id IS NOT NULL)
     SELECT count(*)::int AS n FROM up WHERE id IS NOT NULL`, [nodeId]);
  return row!.n;
}

/** Runs a query twice (the first warms the client up) and counts the statements of the second. */
async function measured(query: string, variables: Record<string, unknown>) {
  await graphql(api.url, query, variables);
  let statements = 0;
  const off = t.db.onQuery(() => statements++);
  const res = await graphql(api.url, query, variables);
  off();
  expect(res.errors).toBeUndefined();
  return { data: res.data as Record<string, any>, statements };
}

type Node = { id: string; children?: Node[] } & Record<string, any>;
const walk = (node: Node, visit: (n: Node) => void): void => {
  visit(node);
  for (const child of node.children ?? []) walk(child, visit);
};

beforeAll(async () => {
  t = await createTestDatabase();
  await buildTree(t.db);
  api = await startService(t.db);
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

it('counts positions by status at every level of a tree in the one statement that reads the tree', async () => {
  const level = `id active: positions(first: 0, status: [ACTIVE]) { totalCount }
    gone: positions(status: [DELETED, CLOSED]) { totalCount }
    all: positions(first: 0) { totalCount }
    below: positions(first: 0, status: [ACTIVE], includeDescendants: true) { __typename totalCount }`;
  const query = `query($id: ID!) { portfolioNode(id: $id) { ${level} children { ${level} children { ${level} children { ${level} } } } } }`;
  const { data, statements } = await measured(query, { id: fundId });
  expect(statements).toBe(1);
  const nodes: Node[] = [];
  walk(data.portfolioNode, (n) => nodes.push(n));
  expect(nodes).toHaveLength(1 + 2 + 4 + 8);
  for (const n of nodes) {
    expect(n.active.totalCount).toBe(await counted(n.id, ['ACTIVE'], false));
    expect(n.gone.totalCount).toBe(await counted(n.id, ['CLOSED', 'DELETED'], false));
    expect(n.all.totalCount).toBe(await counted(n.id, null, false));
    expect(n.below.totalCount).toBe(await counted(n.id, ['ACTIVE'], true));
  }
  // Not all zero: the figures distinguish the statuses.
  expect(new Set(nodes.map((n) => `${n.active.totalCount}/${n.gone.totalCount}`)).size).toBeGreaterThan(3);
});

it('keeps a plan for the next request of the same document only while the variables it uses are the same', async () => {
  // The plan (planTree) is kept across requests by the values of the variables the selection uses: a
  // request for another node reuses it, one for other states or another subtree depth plans anew.
  const query = `query($id: ID!, $st: [PositionStatus!], $below: Boolean) {
    portfolioNode(id: $id) { ...Counts children { ...Counts children { ...Counts } } } }
    fragment Counts on PortfolioNode { id positions(first: 0, status: $st, includeDescendants: $below) { totalCount } }`;
  const runs: [string, (typeof STATUSES)[number][], boolean][] = [
    [fundId, ['ACTIVE'], false], [deskId, ['ACTIVE'], false], [fundId, ['CLOSED'], false],
    [fundId, ['CLOSED', 'DELETED'], true], [deskId, ['CLOSED', 'DELETED'], true], [fundId, ['ACTIVE'], false],
  ];
  for (const [id, st, below] of runs) {
    const { data, statements } = await measured(query, { id, st, below });
    expect(statements).toBe(1);
    const nodes: Node[] = [];
    walk(data.portfolioNode, (n) => nodes.push(n));
    expect(nodes.length).toBeGreaterThan(2);
    expect(nodes[0]!.id).toBe(id);
    for (const n of nodes) expect(n.positions.totalCount).toBe(await counted(n.id, st, below));
  }
});

it('plans through fragments, inline fragments and variables', async () => {
  const query = `query($id: ID!, $st: [PositionStatus!]) {
    portfolioNode(id: $id) { ...Level children { ... on PortfolioNode { ...Level children { ...Level } } } } }
    fragment Level on PortfolioNode { id depth positions(first: 0, status: $st) { totalCount } }`;
  const { data, statements } = await measured(query, { id: fundId, st: ['CLOSED'] });
  expect(statements).toBe(1);
  const nodes: Node[] = [];
  walk(data.portfolioNode, (n) => nodes.push(n));
  expect(nodes).toHaveLength(1 + 2 + 4);
  for (const n of nodes) {
    expect(n.positions.totalCount).toBe(await counted(n.id, ['CLOSED'], false));
    expect(n.depth).toBe(await depthOf(n.id));
  }
});

it('serves descendants with depth, parent and counts from the same statement, for a node below the root too', async () => {
  const query = `query($id: ID!) { portfolioNode(id: $id) { id depth
    descendants { id depth parent { id } positions(first: 0) { totalCount } }
    shallow: descendants(maxDepth: 1) { id } } }`;
  for (const id of [fundId, deskId]) {
    const { data, statements } = await measured(query, { id });
    expect(statements).toBe(1);
    const root = data.portfolioNode;
    expect(root.depth).toBe(await depthOf(id));
    const [expected] = [await t.db.sql.query<{ id: string; parent: string }>(
      `WITH RECURSIVE sub (id, parent, level) AS (SELECT id, parent_id, 0 FROM portfolio_node WHERE id = $1::uuid
         UNION ALL SELECT c.id, c.parent_id, sub.level + 1 FROM sub JOIN portfolio_node c ON c.parent_id = sub.id)
       SELECT id::text, parent::text FROM sub WHERE level > 0`, [id])];
    expect(root.descendants.map((d: Node) => d.id).sort()).toEqual(expected.map((e) => e.id).sort());
    for (const d of root.descendants) {
      expect(d.parent.id).toBe(expected.find((e) => e.id === d.id)!.parent);
      expect(d.depth).toBe(await depthOf(d.id));
      expect(d.positions.totalCount).toBe(await counted(d.id, null, false));
    }
    // Pre-order: every node comes after its parent.
    const seen = new Set([id]);
    for (const d of root.descendants) {
      expect(seen.has(d.parent.id)).toBe(true);
      seen.add(d.id);
    }
    const children = (await t.db.sql.query<{ id: string }>(`SELECT id::text FROM portfolio_node WHERE parent_id = $1::uuid`, [id])).map((r) => r.id);
    expect(root.shallow.map((d: Node) => d.id).sort()).toEqual(children.sort());
  }
});

it('gives the same answers node by node as in a planned tree', async () => {
  const level = 'id depth positions(first: 0, status: [ACTIVE, CLOSED]) { totalCount }';
  const tree = await measured(`query($id: ID!) { portfolioNode(id: $id) { ${level} children { ${level} children { ${level} } } } }`, { id: fundId });
  const nodes: Node[] = [];
  walk(tree.data.portfolioNode, (n) => nodes.push(n));
  for (const n of nodes) {
    // The same fields of one node alone: no subtree, no plan; the loaders' own statements.
    const alone = await graphql(api.url, `query($id: ID!) { portfolioNode(id: $id) { ${level} } }`, { id: n.id });
    expect(alone.errors).toBeUndefined();
    expect(alone.data!.portfolioNode).toEqual({ id: n.id, depth: n.depth, positions: n.positions });
  }
});
