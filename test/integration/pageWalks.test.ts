// A page of a subtree's positions is walked by node (each node's index range, merged) or by id (the
// primary key in id order, each position tested for its node), chosen per owner in the statement
// (walkedPages, src/services/portfolio/positions.ts). Both walks must give the same pages: every
// page, cursor after cursor, now in any states, as of a past date and as known at a past moment, of
// one owner and of several in one statement (a tree level) - and the same as the automatic choice.
import { PAGE_WALK } from '../../src/services/portfolio/positions';
import { graphql } from '../support/http';
import { seededService } from '../support/seeded';

const seeded = seededService({ positions: 400, funds: 2 });
let fundId: string;
let asOf: string;
let past: string;
let moment: string;

beforeAll(async () => {
  // The fund holding the most positions: its pages cut its subtree many times.
  [{ id: fundId }] = (await seeded.db.sql.query<{ id: string }>(
    `SELECT n.fund_id::text AS id FROM position p JOIN portfolio_node n ON n.id = p.portfolio_node_id
     GROUP BY n.fund_id ORDER BY count(*) DESC LIMIT 1`)) as [{ id: string }];
  [asOf, past] = (await seeded.fundAndValuationDates()).dates as [string, string];
  moment = await seeded.weekBeforeLastRecording();
});

afterAll(() => {
  PAGE_WALK.by = 'auto';
});

const PAGE_ARGS = `$first: Int, $after: String, $status: [PositionStatus!], $asOf: Date, $knownAt: DateTime`;
const PAGE = `positions(includeDescendants: true, first: $first, after: $after, status: $status, asOf: $asOf, knownAt: $knownAt) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { id node { id } status } } }`;

interface Page { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { id: string } }[] }

/** Every page of the fund's subtree, cursor after cursor: the ids of each page and the total. */
async function fundPages(variables: Record<string, unknown>): Promise<{ total: number; pages: string[][] }> {
  const pages: string[][] = [];
  let after: string | null = null;
  let total = -1;
  for (;;) {
    const res: { data?: Record<string, unknown> | null; errors?: unknown } = await graphql(seeded.api.url, `query($id: ID!, ${PAGE_ARGS}) { portfolioNode(id: $id) { ${PAGE} } }`,
      { id: fundId, first: 7, ...variables, after });
    expect(res.errors).toBeUndefined();
    const page: Page = (res.data!.portfolioNode as { positions: Page }).positions;
    total = page.totalCount;
    pages.push(page.edges.map((e) => e.node.id));
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor;
    expect(pages.length).toBeLessThan(200);
  }
  return { total, pages };
}

/** The first page of each of the fund's children (several owners in one statement) and of the fund. */
async function levelPages(variables: Record<string, unknown>): Promise<unknown> {
  const res = await graphql(seeded.api.url, `query($id: ID!, ${PAGE_ARGS}) { portfolioNode(id: $id) { ${PAGE} children { id ${PAGE} } } }`,
    { id: fundId, first: 5, after: null, ...variables });
  expect(res.errors).toBeUndefined();
  return res.data;
}

const CASES: [string, Record<string, unknown>][] = [
  ['now, every state', {}],
  ['now, ACTIVE', { status: ['ACTIVE'] }],
  ['now, CLOSED and DELETED', { status: ['CLOSED', 'DELETED'], first: 2 }],
  ['held as of a past month-end', { asOf: '$past' }],
  ['CLOSED as of a past month-end', { asOf: '$past', status: ['CLOSED'], first: 1 }],
  ['held on the last month-end as known a week before', { asOf: '$asOf', knownAt: '$moment' }],
];

const resolved = (v: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === '$past' ? past : x === '$asOf' ? asOf : x === '$moment' ? moment : x]));

async function under<T>(by: 'auto' | 'id' | 'node', fn: () => Promise<T>): Promise<T> {
  PAGE_WALK.by = by;
  try {
    return await fn();
  } finally {
    PAGE_WALK.by = 'auto';
  }
}

it.each(CASES)('%s: walked by id, by node and as chosen, the same pages', async (_name, v) => {
  const variables = resolved(v);
  const byNode = await under('node', () => fundPages(variables));
  const byId = await under('id', () => fundPages(variables));
  const chosen = await under('auto', () => fundPages(variables));
  // Pages that cut the subtree: the walks must find where each page ends, not return everything.
  expect(byNode.pages.length).toBeGreaterThan(2);
  const all = byNode.pages.flat();
  expect(all.length).toBe(byNode.total);
  expect(new Set(all).size).toBe(all.length);
  expect([...all].sort()).toEqual(all);
  expect(byId).toEqual(byNode);
  expect(chosen).toEqual(byNode);
  // A tree level: each child's first page and the fund's, in one statement.
  const level = await under('node', () => levelPages(variables));
  expect(await under('id', () => levelPages(variables))).toEqual(level);
  expect(await under('auto', () => levelPages(variables))).toEqual(level);
}, 120_000);

it('lists now the positions a query of the table finds, in id order', async () => {
  const { pages, total } = await under('id', () => fundPages({ status: ['ACTIVE', 'CLOSED'] }));
  const rows = await seeded.db.sql.query<{ id: string }>(
    `WITH RECURSIVE s (id) AS (SELECT $1::uuid UNION ALL SELECT n.id FROM portfolio_node n JOIN s ON n.parent_id = s.id)
     SELECT p.id::text AS id FROM position p WHERE p.portfolio_node_id IN (SELECT id FROM s) AND p.status IN ('ACTIVE', 'CLOSED') ORDER BY p.id`, [fundId]);
  expect(total).toBe(rows.length);
  expect(pages.flat()).toEqual(rows.map((r) => r.id));
});
