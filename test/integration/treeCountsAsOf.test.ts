// A tree view asking position counts as of a date, and as known at a moment (what a screen of
// last month-end's holdings asks, or last week's report of it), is the one statement that reads the
// tree (the look-ahead planner: src/graphql/plan.ts): every node's count in any states, its own or
// its whole subtree's, equals the number of its positions whose version covering the date was in
// those states as known then - counted here from the versions themselves.
import { DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql } from '../support/http';
import { seededService } from '../support/seeded';

const service = seededService({ positions: 400, funds: 2 });
const PAST = '2026-09-30';

const NODE = `fragment Counts on PortfolioNode {
  id
  held: positions(first: 0, asOf: $d) { totalCount }
  closedBelow: positions(first: 0, asOf: $d, status: [CLOSED], includeDescendants: true) { totalCount }
  heldThen: positions(first: 0, asOf: $d, knownAt: $k) { totalCount }
  anyThenBelow: positions(first: 0, asOf: $d, knownAt: $k, status: [ACTIVE, CLOSED, DELETED], includeDescendants: true) { totalCount }
  now: positions(first: 0) { totalCount }
}`;
const TREE = `query($id: ID!, $d: Date!, $k: DateTime!) { portfolioNode(id: $id) { ...Counts children { ...Counts children { ...Counts children { ...Counts } } } } }
${NODE}`;

type Counts = { id: string; held: { totalCount: number }; closedBelow: { totalCount: number }; heldThen: { totalCount: number };
  anyThenBelow: { totalCount: number }; now: { totalCount: number }; children?: Counts[] };
const flatten = (n: Counts, out: Counts[] = []): Counts[] => {
  out.push(n);
  for (const c of n.children ?? []) flatten(c, out);
  return out;
};

/** Each node's positions with a version in one of the states covering the day, as known at the moment (null: now), own or of its subtree. */
async function fromVersions(fund: string, states: string[], day: string, moment: string | null, below: boolean): Promise<Map<string, number>> {
  const rows = await service.db.sql.query<{ id: string; n: number }>(`
    WITH RECURSIVE sub (owner, id) AS (
      SELECT n.id, n.id FROM portfolio_node n WHERE n.fund_id = $1::uuid
      UNION ALL SELECT s.owner, c.id FROM sub s JOIN portfolio_node c ON c.parent_id = s.id WHERE $5::boolean
    )
    SELECT s.owner::text AS id, count(DISTINCT p.id)::int AS n
    FROM sub s LEFT JOIN position p ON p.portfolio_node_id = s.id
      AND EXISTS (SELECT 1 FROM position_version v WHERE v.position_id = p.id AND v.status = ANY ($2::position_status[])
        AND v.valid_from <= $3::date AND (v.valid_to IS NULL OR v.valid_to > $3::date)
        AND CASE WHEN $4::timestamptz IS NULL THEN v.superseded_at IS NULL
                 ELSE v.recorded_at <= $4::timestamptz AND (v.superseded_at IS NULL OR v.superseded_at > $4::timestamptz) END)
    GROUP BY s.owner`, [fund, states, day, moment, below]);
  return new Map(rows.map((r) => [r.id, r.n]));
}

it('counts positions as of a date and as known at a moment at every level in the one statement that reads the tree', async () => {
  const [{ id: fund }] = await service.db.sql.query<{ id: string }>(`SELECT id::text AS id FROM portfolio_node WHERE parent_id IS NULL ORDER BY name LIMIT 1`) as [{ id: string }];
  // A week before the last recorded version: the seed's history differs then from now.
  const [{ at }] = await service.db.sql.query<{ at: string }>(
    `SELECT to_char((max(recorded_at) - interval '7 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM position_version`) as [{ at: string }];
  // And a moment before writes through the API that change the past: a position deleted (never held, as
  // known from now on) and one opened on the past date.
  const [{ k: before }] = await service.db.sql.query<{ k: string }>(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS k`) as [{ k: string }];
  await new Promise((r) => setTimeout(r, 5));
  const [victim] = await service.db.sql.query<{ id: string; node: string; instrument: string }>(
    `SELECT p.id::text AS id, p.portfolio_node_id::text AS node, p.instrument_id::text AS instrument FROM position p JOIN portfolio_node n ON n.id = p.portfolio_node_id
     WHERE n.fund_id = $1::uuid AND p.status = 'ACTIVE' AND p.opened_on <= $2::date ORDER BY p.id LIMIT 1`, [fund, PAST]);
  const deleted = await graphql(service.api.url, `mutation($id: ID!) { deletePosition(id: $id) { id } }`, { id: victim!.id });
  expect(deleted.errors).toBeUndefined();
  // (Opened in another node of the fund: in the same one the two would cancel out.)
  const [other] = await service.db.sql.query<{ node: string }>(
    `SELECT p.portfolio_node_id::text AS node FROM position p JOIN portfolio_node n ON n.id = p.portfolio_node_id
     WHERE n.fund_id = $1::uuid AND p.portfolio_node_id <> $2::uuid ORDER BY p.id LIMIT 1`, [fund, victim!.node]);
  const opened = await graphql(service.api.url, `mutation($input: OpenPositionInput!) { openPosition(input: $input) { id } }`,
    { input: { nodeId: other!.node, instrumentId: victim!.instrument, quantity: '10', baseCurrency: 'USD', tradeDate: '2026-09-01' } });
  expect(opened.errors).toBeUndefined();
  for (const [day, moment] of [[DEFAULT_SEED_OPTIONS.asOf, at], [PAST, at], [PAST, before]] as const) {
    const { data, statements } = await service.measured(TREE, { id: fund, d: day, k: moment });
    // The tree and every count in one statement (a knownAt may first be settled against the recording horizon).
    expect(statements.filter((s) => !s.includes('recording_horizon()'))).toHaveLength(1);
    const nodes = flatten(data.portfolioNode as Counts);
    expect(nodes.length).toBeGreaterThan(5);
    const [held, closedBelow, heldThen, anyThenBelow] = await Promise.all([
      fromVersions(fund, ['ACTIVE'], day, null, false),
      fromVersions(fund, ['CLOSED'], day, null, true),
      fromVersions(fund, ['ACTIVE'], day, moment, false),
      fromVersions(fund, ['ACTIVE', 'CLOSED', 'DELETED'], day, moment, true),
    ]);
    for (const node of nodes) {
      expect([node.id, node.held.totalCount, node.closedBelow.totalCount, node.heldThen.totalCount, node.anyThenBelow.totalCount]).toEqual(
        [node.id, held.get(node.id), closedBelow.get(node.id), heldThen.get(node.id), anyThenBelow.get(node.id)]);
    }
    // Not every figure is the same: the date and the moment matter.
    expect(nodes.some((n) => n.held.totalCount !== n.now.totalCount)).toBe(true);
    if (moment === before) expect(nodes.filter((n) => n.held.totalCount !== n.heldThen.totalCount).map((n) => n.id)).toEqual(expect.arrayContaining([victim!.node, other!.node]));
  }
});

it('leaves a count as known at a moment in the future to its field, which refuses it with its own error', async () => {
  const [{ id: fund }] = await service.db.sql.query<{ id: string }>(`SELECT id::text AS id FROM portfolio_node WHERE parent_id IS NULL ORDER BY name LIMIT 1`) as [{ id: string }];
  const future = new Date(Date.now() + 86_400_000).toISOString();
  const res = await graphql(service.api.url, `query($id: ID!, $k: DateTime!) { portfolioNode(id: $id) { id children { id now: positions(first: 0) { totalCount }
    then: positions(first: 0, asOf: "${PAST}", knownAt: $k) { totalCount } } } }`, { id: fund, k: future });
  // (A connection is non-null: the field's error empties the node.)
  expect(res.data!.portfolioNode).toBeNull();
  expect(res.errors!.length).toBeGreaterThan(0);
  for (const error of res.errors!) {
    expect([error.extensions?.code, error.extensions?.field, error.path?.[0], error.path?.[1], error.path?.[3]]).toEqual(['BAD_USER_INPUT', 'knownAt', 'portfolioNode', 'children', 'then']);
  }
});
