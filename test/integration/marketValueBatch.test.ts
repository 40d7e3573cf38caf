// marketValue asked of many nodes at once (every node of a tree, every fund of
// portfolioRoots) is one computation per date, currency and moment
// (computeMarketValues): each figure equals the one-node computation
// (computeMarketValue) to the last decimal - now and as known at a past
// moment, in the node's currency and in another - and a node whose positions
// lack an FX rate fails alone, with the error its own computation gives.
import { computeMarketValue } from '../../src/services/analytics/marketValue';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
let fundId: string;
const ASOF = DEFAULT_SEED_OPTIONS.asOf;

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 600, funds: 2 }));
  [{ id: fundId }] = (await t.db.sql.query<{ id: string }>(
    `SELECT n.id::text AS id FROM portfolio_node n WHERE n.parent_id IS NULL ORDER BY n.name LIMIT 1`)) as [{ id: string }];
  api = await startService(t.db, { analyticsCacheBytes: 0 });
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

type Node = { id: string; name: string; baseCurrency: string; marketValue: { amount: string; currency: string } | null; children?: Node[] };
const flatten = (node: Node, out: Node[] = []): Node[] => {
  out.push(node);
  for (const child of node.children ?? []) flatten(child, out);
  return out;
};

/** The tree with every node's market value, and the statements it took. */
async function tree(args: string): Promise<{ nodes: Node[]; statements: number; errors: unknown[] }> {
  const level = `id name baseCurrency marketValue(${args}) { amount currency }`;
  let statements = 0;
  const off = t.db.onQuery(() => statements++);
  const res = await graphql(api.url, `query($id: ID!) { portfolioNode(id: $id) { ${level} children { ${level} children { ${level} children { ${level} } } } } }`, { id: fundId });
  off();
  return { nodes: flatten(res.data!.portfolioNode as Node), statements, errors: res.errors ?? [] };
}

async function alone(node: Node, currency: string | null, knownAt: string | null) {
  const row = { id: node.id, name: node.name, baseCcy: node.baseCurrency };
  return computeMarketValue(t.db.prisma, row, new Date(`${ASOF}T00:00:00Z`), currency, undefined, knownAt);
}

it('gives every node of a tree the figure of its own computation, in one statement per level or less', async () => {
  const { nodes, statements, errors } = await tree(`asOf: "${ASOF}"`);
  expect(errors).toEqual([]);
  expect(nodes.length).toBeGreaterThan(10);
  for (const node of nodes) expect(node.marketValue).toEqual(await alone(node, null, null));
  // Not all the same, not all zero: the figures tell the nodes apart.
  expect(new Set(nodes.map((n) => n.marketValue!.amount)).size).toBeGreaterThan(5);
  // The subtree, then per level the forest's ids and its statement: bounded by the depth, not the nodes.
  expect(statements).toBeLessThanOrEqual(1 + 4 * 2);
});

it('converts through FX and pins a past moment the same way', async () => {
  const [{ at }] = (await t.db.sql.query<{ at: string }>(
    `SELECT to_char(percentile_disc(0.5) WITHIN GROUP (ORDER BY recorded_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM position_version`)) as [{ at: string }];
  const { nodes, errors } = await tree(`asOf: "${ASOF}", currency: "JPY", knownAt: "${at}"`);
  expect(errors).toEqual([]);
  for (const node of nodes) {
    expect(node.marketValue!.currency).toBe('JPY');
    expect(node.marketValue).toEqual(await alone(node, 'JPY', at));
  }
});

it('fails only the nodes whose positions lack a rate, with their own error', async () => {
  // A currency no feed knows, on one book's position: that book and the nodes above it cannot be valued.
  const [book] = await t.db.sql.query<{ id: string; position: string }>(
    `SELECT n.id::text AS id, p.id::text AS position FROM portfolio_node n JOIN position p ON p.portfolio_node_id = n.id
     WHERE n.fund_id = $1::uuid AND n.node_type = 'BOOK' AND p.status = 'ACTIVE' AND p.latest_as_of <= $2::date ORDER BY n.name, p.id LIMIT 1`, [fundId, ASOF]);
  await t.db.sql.query(`UPDATE valuation_result SET currency = 'XAU' WHERE position_id = $1::uuid`, [book!.position]);
  await t.db.sql.query(`UPDATE position SET latest_currency = 'XAU' WHERE id = $1::uuid`, [book!.position]);
  // Every node of the fund under its own alias, in one request (one batch): each answer stands alone.
  // (At most 30 aliases a request: the book, its ancestors and the first other nodes.)
  const ids = (await t.db.sql.query<{ id: string }>(
    `WITH RECURSIVE up (id) AS (SELECT $2::uuid UNION ALL SELECT n.parent_id FROM up JOIN portfolio_node n ON n.id = up.id WHERE n.parent_id IS NOT NULL)
     SELECT id::text AS id FROM (SELECT id, 0 AS o FROM up UNION SELECT id, 1 FROM portfolio_node WHERE fund_id = $1::uuid) x
     GROUP BY id ORDER BY min(o), id LIMIT 30`, [fundId, book!.id])).map((r) => r.id);
  const aliases = ids.map((id, i) => `n${i}: portfolioNode(id: "${id}") { id name baseCurrency marketValue(asOf: "${ASOF}", currency: "USD") { amount currency } }`);
  let statements = 0;
  const off = t.db.onQuery(() => statements++);
  const res = await graphql(api.url, `{ ${aliases.join('\n')} }`);
  off();
  const failed = (res.errors ?? []) as { path: (string | number)[]; extensions: { code: string }; message: string }[];
  expect(failed.length).toBeGreaterThan(0);
  for (const error of failed) {
    expect(error.extensions.code).toBe('FX_RATE_NOT_FOUND');
    expect(error.message).toMatch(/XAUUSD/);
  }
  const answers = ids.map((id, i) => ({ id, node: res.data![`n${i}`] as Node | null }));
  for (const { id, node } of answers) {
    const [row] = await t.db.sql.query<{ name: string; base: string }>(`SELECT name, base_ccy AS base FROM portfolio_node WHERE id = $1::uuid`, [id]);
    const own = await alone({ id, name: row!.name, baseCurrency: row!.base } as Node, 'USD', null).then((v) => ({ value: v }), (e: Error) => ({ error: e.message }));
    if ('error' in own) {
      expect(node).toBeNull();
      expect(failed.some((e) => e.path[0] === `n${ids.indexOf(id)}` && e.message === own.error)).toBe(true);
    } else {
      expect(node!.marketValue).toEqual(own.value);
    }
  }
  // The book and its ancestors failed; the other nodes are valued.
  expect(answers.find((a) => a.id === book!.id)!.node).toBeNull();
  expect(answers.filter((a) => a.node !== null).length).toBeGreaterThan(5);
  // One batch for all the nodes: the nodes, the forest's ids, its statement.
  expect(statements).toBeLessThanOrEqual(3);
});
