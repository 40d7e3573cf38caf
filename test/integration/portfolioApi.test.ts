// Portfolio reads through HTTP against the real server and database: roots,
// nodes, hierarchy (depth, ancestors, descendants), node connections.
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS, type NodeRow } from '../../src/services/seed/world';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 500, funds: 2 });
const byId = new Map(world.nodes.map((n) => [n.id, n]));
const childrenOf = (id: string) => world.nodes.filter((n) => n.parent_id === id).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1));

function preOrder(id: string, maxDepth = Infinity, depth = 0): NodeRow[] {
  if (depth >= maxDepth) return [];
  return childrenOf(id).flatMap((c) => [c, ...preOrder(c.id, maxDepth, depth + 1)]);
}

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, world);
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

it('lists the funds by name', async () => {
  const res = await graphql(api.url, '{ portfolioRoots { name nodeType depth baseCurrency parent { id } } }');
  const expected = world.nodes.filter((n) => n.node_type === 'FUND').map((n) => n.name).sort();
  expect(res.data!.portfolioRoots.map((f: { name: string }) => f.name)).toEqual(expected);
  expect(res.data!.portfolioRoots.every((f: { parent: unknown; depth: number }) => f.parent === null && f.depth === 0)).toBe(true);
});

it('reads a node with its parent and children; an unknown or malformed id is null', async () => {
  const desk = world.nodes.find((n) => n.node_type === 'DESK')!;
  const res = await graphql(api.url, 'query($id: ID!) { portfolioNode(id: $id) { id name nodeType tags parent { id } children { id name nodeType } } }', { id: desk.id });
  expect(res.data!.portfolioNode).toMatchObject({ id: desk.id, name: desk.name, nodeType: 'DESK', parent: { id: desk.parent_id } });
  expect(res.data!.portfolioNode.children.map((c: { id: string }) => c.id)).toEqual(childrenOf(desk.id).map((c) => c.id));
  for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
    const miss = await graphql(api.url, 'query($id: ID!) { portfolioNode(id: $id) { id } }', { id });
    expect(miss.errors).toBeUndefined();
    expect(miss.data!.portfolioNode).toBeNull();
  }
});

it('gives depth, ancestors (root first) and descendants in pre-order, with maxDepth', async () => {
  const strategy = world.nodes.find((n) => n.node_type === 'STRATEGY')!;
  const chain: string[] = [];
  for (let id = strategy.parent_id; id; id = byId.get(id)!.parent_id) chain.unshift(id);
  const res = await graphql(api.url, 'query($id: ID!) { portfolioNode(id: $id) { depth ancestors { id nodeType } } }', { id: strategy.id });
  expect(res.data!.portfolioNode.depth).toBe(3);
  expect(res.data!.portfolioNode.ancestors.map((a: { id: string }) => a.id)).toEqual(chain);
  expect(res.data!.portfolioNode.ancestors.map((a: { nodeType: string }) => a.nodeType)).toEqual(['FUND', 'DESK', 'BOOK']);

  const fund = world.nodes.find((n) => n.node_type === 'FUND')!;
  const tree = await graphql(api.url, 'query($id: ID!) { portfolioNode(id: $id) { all: descendants { id depth } two: descendants(maxDepth: 2) { id } none: descendants(maxDepth: 0) { id } } }', { id: fund.id });
  const node = tree.data!.portfolioNode;
  expect(node.all.map((d: { id: string }) => d.id)).toEqual(preOrder(fund.id).map((n) => n.id));
  expect(node.two.map((d: { id: string }) => d.id)).toEqual(preOrder(fund.id, 2).map((n) => n.id));
  expect(node.none).toEqual([]);
  expect(node.all.length).toBeGreaterThan(20);
  const negative = await graphql(api.url, 'query($id: ID!) { portfolioNode(id: $id) { descendants(maxDepth: -1) { id } } }', { id: fund.id });
  expect(negative.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'maxDepth' });
});

it('pages through portfolioNodes in a stable order with filters and totals', async () => {
  const query = `query($first: Int, $after: String, $filter: PortfolioNodeFilter) {
    portfolioNodes(filter: $filter, first: $first, after: $after) {
      totalCount edges { cursor node { id name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;
  const filter = { nodeType: 'BOOK' };
  const seen: string[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const res: any = await graphql(api.url, query, { first: 7, after, filter });
    const conn = res.data.portfolioNodes;
    expect(conn.totalCount).toBe(world.nodes.filter((n) => n.node_type === 'BOOK').length);
    expect(conn.pageInfo.hasPreviousPage).toBe(after !== null);
    seen.push(...conn.edges.map((e: { node: { id: string } }) => e.node.id));
    pages++;
    if (!conn.pageInfo.hasNextPage) break;
    expect(conn.edges).toHaveLength(7);
    after = conn.pageInfo.endCursor;
  }
  const rows = await t.db.sql.query<{ id: string }>(`SELECT id FROM portfolio_node WHERE node_type = 'BOOK' ORDER BY name, id`);
  expect(seen).toEqual(rows.map((r) => r.id));
  expect(pages).toBe(Math.ceil(rows.length / 7));

  const named = await graphql(api.url, query, { filter: { nameContains: 'equities' }, first: 500 });
  const expected = world.nodes.filter((n) => n.name.toLowerCase().includes('equities'));
  expect(named.data!.portfolioNodes.totalCount).toBe(expected.length);
  const desk = world.nodes.find((n) => n.node_type === 'DESK')!;
  const kids = await graphql(api.url, query, { filter: { parentId: desk.id } });
  expect(kids.data!.portfolioNodes.edges.map((e: { node: { id: string } }) => e.node.id).sort()).toEqual(childrenOf(desk.id).map((n) => n.id).sort());
});

it('enforces the page-size limits and rejects foreign cursors', async () => {
  const big = await graphql(api.url, '{ portfolioNodes(first: 501) { totalCount } }');
  expect(big.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  const negative = await graphql(api.url, '{ portfolioNodes(first: -1) { totalCount } }');
  expect(negative.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  const bad = await graphql(api.url, '{ portfolioNodes(after: "bm9wZQ") { totalCount } }');
  expect(bad.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
  const defaults = await graphql(api.url, '{ portfolioNodes { edges { node { id } } pageInfo { hasNextPage } } }');
  expect(defaults.data!.portfolioNodes.edges).toHaveLength(50);
  expect(defaults.data!.portfolioNodes.pageInfo.hasNextPage).toBe(true);
});

it('answers health checks and tags every response with a request id', async () => {
  const ready = await fetch(`${api.url}/readyz`);
  expect(ready.status).toBe(200);
  const res = await graphql(api.url, '{ portfolioRoots { id } }', {}, { 'x-request-id': 'trace-123' });
  expect(res.headers.get('x-request-id')).toBe('trace-123');
});

it('stops hierarchy reads on a cycle that got into the table', async () => {
  const fund = await t.db.prisma.portfolioNode.create({ data: { name: 'Cycle Fund', nodeType: 'FUND', baseCcy: 'USD' } });
  const desk = await t.db.prisma.portfolioNode.create({ data: { name: 'Cycle Desk', nodeType: 'DESK', baseCcy: 'USD', parentId: fund.id } });
  const book = await t.db.prisma.portfolioNode.create({ data: { name: 'Cycle Book', nodeType: 'BOOK', baseCcy: 'USD', parentId: desk.id } });
  // Bypass the service: the database only forbids a node being its own parent.
  await t.db.sql.query('UPDATE portfolio_node SET parent_id = $1 WHERE id = $2', [book.id, desk.id]);
  const res = await graphql(api.url, 'query($id: ID!) { portfolioNode(id: $id) { ancestors { id } descendants { id } depth } }', { id: book.id });
  expect(res.errors).toBeUndefined();
  expect(res.data!.portfolioNode.ancestors.map((a: { id: string }) => a.id)).toEqual([desk.id]);
  expect(res.data!.portfolioNode.descendants.map((a: { id: string }) => a.id)).toEqual([desk.id]);
  await t.db.sql.query('UPDATE portfolio_node SET parent_id = $1 WHERE id = $2', [fund.id, desk.id]);
});
