// A page of positions reads what its positions are asked in its own statement
// (src/graphql/plan.ts: planPositions): their instruments and issuers, their
// nodes, and their valuations as of each date asked. Every answer is compared
// with what Prisma reads on its own, for pages now and as of a past date, with
// two valuation dates in one query; and the statements stay two (the node and
// the page) however many positions and levels the page spans.
import { seededService } from '../support/seeded';

const seeded = seededService({ seed: 11, positions: 500, funds: 2 });
const { measured } = seeded;
let fund: string;
let dates: string[];

beforeAll(async () => {
  ({ fund, dates } = await seeded.fundAndValuationDates());
  expect(dates.length).toBeGreaterThanOrEqual(3);
});

/** The latest current valuation of a position on or before a date, as Prisma reads it. */
const latest = (positionId: string, asOf: string) => seeded.db.prisma.valuationResult.findFirst({
  where: { positionId, asOfDate: { lte: new Date(`${asOf}T00:00:00Z`) }, supersededAt: null }, orderBy: { asOfDate: 'desc' },
});

/** Checks every position of a page against Prisma's own reads of its instrument, issuer, node and valuations. */
async function checkPositions(edges: any[], now: string, before: string): Promise<void> {
  expect(edges.length).toBeGreaterThan(20);
  for (const { node: p } of edges) {
    const position = await seeded.db.prisma.position.findUniqueOrThrow({ where: { id: p.id }, include: { node: true, instrument: { include: { issuer: true } } } });
    expect(p.node).toEqual({ id: position.node.id, name: position.node.name, nodeType: position.node.nodeType });
    expect(p.instrument).toEqual({
      id: position.instrument.id, name: position.instrument.name, isin: position.instrument.isin,
      maturityDate: position.instrument.maturityDate?.toISOString().slice(0, 10) ?? null,
      issuer: position.instrument.issuer ? { id: position.instrument.issuer.id, name: position.instrument.issuer.name } : null,
    });
    for (const [alias, date] of [['now', now], ['before', before]] as const) {
      const v = await latest(p.id, date);
      expect(p[alias]).toEqual(v ? { asOfDate: v.asOfDate.toISOString().slice(0, 10), marketValue: v.marketValue.toFixed(), currency: v.currency } : null);
    }
  }
}

const ROW = `id node { id name nodeType } instrument { id name isin maturityDate issuer { id name } }
  now: valuation(asOf: $now) { asOfDate marketValue currency } before: valuation(asOf: $before) { asOfDate marketValue currency }`;

it('a fund\'s page over every level: positions with instruments, issuers, nodes and two valuation dates in two statements, as Prisma reads them', async () => {
  const { data, statements } = await measured(`query($id: ID!, $now: Date!, $before: Date!) { portfolioNode(id: $id) {
    positions(includeDescendants: true, first: 100) { totalCount edges { node { ...row } } } } }
    fragment row on Position { ${ROW} }`, { id: fund, now: dates[0], before: dates[2] });
  expect(statements).toHaveLength(2);
  const edges = data.portfolioNode.positions.edges;
  // Positions of several nodes and some without a valuation on the earlier date: every case is compared.
  expect(new Set(edges.map((e: any) => e.node.node.id)).size).toBeGreaterThan(3);
  await checkPositions(edges, dates[0]!, dates[2]!);
  expect(edges.some((e: any) => e.node.before === null || e.node.before.asOfDate !== e.node.now.asOfDate)).toBe(true);
});

it('a page as of a past date reads the same relations in its statement (the holding still looked up on its own)', async () => {
  const { data, statements } = await measured(`query($id: ID!, $now: Date!, $before: Date!) { portfolioNode(id: $id) {
    positions(asOf: $before, includeDescendants: true, first: 100) { edges { node { ${ROW} holding(asOf: $before) { quantity } } } } } }`,
  { id: fund, now: dates[0], before: dates[1] });
  expect(statements).toHaveLength(3);
  await checkPositions(data.portfolioNode.positions.edges, dates[0]!, dates[1]!);
});

it('a level of a tree: one page statement for all its nodes', async () => {
  const { data, statements } = await measured(`query($id: ID!, $now: Date!, $before: Date!) { portfolioNode(id: $id) { children {
    positions(first: 8, includeDescendants: true) { edges { node { ${ROW} } } } } } }`, { id: fund, now: dates[0], before: dates[1] });
  // The subtree, then the desks' pages with everything beside them.
  expect(statements).toHaveLength(2);
  const edges = data.portfolioNode.children.flatMap((d: any) => d.positions.edges);
  await checkPositions(edges, dates[0]!, dates[1]!);
});

it('larger pages leave the related rows to their loaders: one statement per relation, the same answers', async () => {
  const { data, statements } = await measured(`query($id: ID!, $now: Date!, $before: Date!) { portfolioNode(id: $id) {
    positions(includeDescendants: true, first: 300) { edges { node { ${ROW} } } } } }`, { id: fund, now: dates[0], before: dates[2] });
  // The node, the page, the instruments, their issuers, the positions' nodes, the valuations of both dates.
  expect(statements).toHaveLength(6);
  expect(data.portfolioNode.positions.edges.length).toBeGreaterThan(120);
  await checkPositions(data.portfolioNode.positions.edges.slice(0, 60), dates[0]!, dates[2]!);
});

it('a valuation asked as known at a moment is not one the page reads: looked up on its own, and right', async () => {
  const knownAt = new Date().toISOString();
  const { data, statements } = await measured(`query($id: ID!, $now: Date!, $k: DateTime!) { portfolioNode(id: $id) {
    positions(includeDescendants: true, first: 30) { edges { node { id valuation(asOf: $now, knownAt: $k) { marketValue } } } } } }`,
  { id: fund, now: dates[0], k: knownAt });
  // The node, the page, the moment settled, and the valuations as known then (one statement for all).
  expect(statements).toHaveLength(4);
  expect(statements.filter((sql) => /valuation_result/.test(sql))).toHaveLength(1);
  for (const { node: p } of data.portfolioNode.positions.edges) {
    const v = await latest(p.id, dates[0]!);
    expect(p.valuation).toEqual(v ? { marketValue: v.marketValue.toFixed() } : null);
  }
});
