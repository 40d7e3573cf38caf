// Lists in one statement: a page of nodes with its total, each node's parent and
// own position counts (portfolioNodes); the roots with their subtrees and counts
// (portfolioRoots); a page of batches with its total (ingestionBatches); and no
// count at all when nobody asks for totalCount. Every answer is compared with
// what Prisma reads on its own (findMany, count), over every page of a walk by
// cursor, on a seeded world with several funds and a fund-scoped caller.
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import { graphql, startService } from '../support/http';
import { seededService } from '../support/seeded';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose: typeof Jose = require('jose');
const SECRET = 'list-statements-test-secret-of-at-least-32-bytes';

const seeded = seededService({ seed: 7, positions: 600, funds: 3 });
const { measured } = seeded;

/** Each node's own positions (every status, and ACTIVE only), counted by Prisma. */
async function ownCounts(ids: string[]): Promise<Map<string, [number, number]>> {
  const all = await seeded.db.prisma.position.groupBy({ by: ['portfolioNodeId'], where: { portfolioNodeId: { in: ids } }, _count: true });
  const active = await seeded.db.prisma.position.groupBy({ by: ['portfolioNodeId'], where: { portfolioNodeId: { in: ids }, status: 'ACTIVE' }, _count: true });
  const of = (rows: typeof all, id: string) => rows.find((r) => r.portfolioNodeId === id)?._count ?? 0;
  return new Map(ids.map((id) => [id, [of(all, id), of(active, id)]]));
}

const NODES = `query($filter: PortfolioNodeFilter, $first: Int, $after: String) {
  portfolioNodes(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name nodeType parent { id name nodeType } all: positions(first: 0) { totalCount } active: positions(first: 0, status: [ACTIVE]) { totalCount } } }
  }
}`;

describe('portfolioNodes', () => {
  const filters: Record<string, unknown>[] = [{ nodeType: 'BOOK' }, { nodeType: 'STRATEGY' }, {}, { nameContains: 'DURATION' }];

  it.each(filters)('pages %j in one statement each: nodes, parents, counts and total as Prisma reads them', async (filter) => {
    const where = {
      ...(filter.nodeType ? { nodeType: filter.nodeType as never } : {}),
      ...(filter.nameContains ? { name: { contains: filter.nameContains as string, mode: 'insensitive' as const } } : {}),
    };
    const expected = await seeded.db.prisma.portfolioNode.findMany({ where, orderBy: [{ name: 'asc' }, { id: 'asc' }], include: { parent: true } });
    expect(expected.length).toBeGreaterThan(3);
    const counts = await ownCounts(expected.map((n) => n.id));
    const seen: Record<string, any>[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const { data, statements } = await measured(NODES, { filter, first: 7, after });
      expect(statements).toHaveLength(1);
      const page = data.portfolioNodes;
      expect(page.totalCount).toBe(expected.length);
      seen.push(...page.edges.map((e: any) => e.node));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen.map((n) => n.id)).toEqual(expected.map((n) => n.id));
    seen.forEach((node, i) => {
      const want = expected[i]!;
      expect(node.name).toBe(want.name);
      expect(node.parent).toEqual(want.parent ? { id: want.parent.id, name: want.parent.name, nodeType: want.parent.nodeType } : null);
      expect([node.all.totalCount, node.active.totalCount]).toEqual(counts.get(want.id));
    });
    // The counts differ by status somewhere (closed positions are seeded): the two columns are not one.
    expect(seen.some((n) => n.all.totalCount !== n.active.totalCount)).toBe(true);
  });

  it('answers an empty page with its total of 0, and counts nothing when totalCount is not asked', async () => {
    const empty = await measured(NODES, { filter: { nameContains: 'no node is called this' } });
    expect(empty.data.portfolioNodes).toEqual({ totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
    expect(empty.statements).toHaveLength(1);
    const noTotal = await measured(`{ portfolioNodes(filter: { nodeType: DESK }, first: 2) { edges { node { id } } } }`);
    expect(noTotal.data.portfolioNodes.edges).toHaveLength(2);
    expect(noTotal.statements).toHaveLength(1);
    expect(noTotal.statements[0]).not.toMatch(/count\(\*\)/i);
    // Asked through a fragment: counted.
    const fragment = await measured(`{ portfolioNodes(filter: { nodeType: DESK }, first: 2) { ...total } } fragment total on PortfolioNodeConnection { totalCount }`);
    expect(fragment.data.portfolioNodes.totalCount).toBe(await seeded.db.prisma.portfolioNode.count({ where: { nodeType: 'DESK' } }));
  });
});

describe('portfolioRoots', () => {
  it('reads the roots, their subtrees and every node\'s counts in one statement, as Prisma reads them', async () => {
    const { data, statements } = await measured(`{ portfolioRoots { id name positions(first: 0, includeDescendants: true) { totalCount }
      children { id name positions(first: 0) { totalCount } children { id name depth positions(first: 0, status: [ACTIVE]) { totalCount } } } } }`);
    expect(statements).toHaveLength(1);
    const roots = await seeded.db.prisma.portfolioNode.findMany({ where: { parentId: null }, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
    expect(roots.length).toBe(3);
    expect(data.portfolioRoots.map((r: any) => r.id)).toEqual(roots.map((r) => r.id));
    for (const root of data.portfolioRoots) {
      const fundPositions = await seeded.db.prisma.position.count({ where: { node: { fundId: root.id } } });
      expect(root.positions.totalCount).toBe(fundPositions);
      const desks = await seeded.db.prisma.portfolioNode.findMany({ where: { parentId: root.id }, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
      expect(root.children.map((d: any) => d.id)).toEqual(desks.map((d) => d.id));
      for (const desk of root.children) {
        expect(desk.positions.totalCount).toBe(await seeded.db.prisma.position.count({ where: { portfolioNodeId: desk.id } }));
        const books = await seeded.db.prisma.portfolioNode.findMany({ where: { parentId: desk.id }, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
        expect(desk.children.map((b: any) => b.id)).toEqual(books.map((b) => b.id));
        for (const book of desk.children) {
          expect(book.depth).toBe(2);
          expect(book.positions.totalCount).toBe(await seeded.db.prisma.position.count({ where: { portfolioNodeId: book.id, status: 'ACTIVE' } }));
        }
      }
    }
  });

  it('reads the roots alone, with their own counts, in one statement', async () => {
    const { data, statements } = await measured(`{ portfolioRoots { id name baseCurrency positions(first: 0) { totalCount } } }`);
    expect(statements).toHaveLength(1);
    const counts = await ownCounts(data.portfolioRoots.map((r: any) => r.id));
    for (const root of data.portfolioRoots) expect(root.positions.totalCount).toBe(counts.get(root.id)![0]);
  });
});

describe('ingestionBatches and referenceEntities', () => {
  it('pages batches with their total in one statement, and an empty filter with a total of 0', async () => {
    const book = await seeded.db.prisma.portfolioNode.findFirstOrThrow({ where: { nodeType: 'BOOK' } });
    const instrument = await seeded.db.prisma.instrument.findFirstOrThrow({ where: { isin: { not: null } } });
    for (const key of ['a', 'b', 'c']) {
      const res = await graphql(seeded.api.url, `mutation($input: PositionUploadInput!) { uploadPositions(input: $input) { status } }`, {
        input: { sourceSystem: 'lists', idempotencyKey: `lists-${key}`, rows: [{ nodeId: book.id, isin: instrument.isin, quantity: '10', baseCurrency: 'USD' }] },
      });
      expect(res.errors).toBeUndefined();
    }
    const total = await seeded.db.prisma.ingestionBatch.count();
    expect(total).toBeGreaterThanOrEqual(3);
    const ids: string[] = [];
    let after: string | null = null;
    do {
      const { data, statements }: { data: Record<string, any>; statements: string[] } = await measured(
        `query($after: String) { ingestionBatches(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }`, { after });
      expect(statements).toHaveLength(1);
      expect(data.ingestionBatches.totalCount).toBe(total);
      ids.push(...data.ingestionBatches.edges.map((e: any) => e.node.id));
      after = data.ingestionBatches.pageInfo.hasNextPage ? data.ingestionBatches.pageInfo.endCursor : null;
    } while (after);
    const expected = await seeded.db.prisma.ingestionBatch.findMany({ orderBy: [{ startedAt: 'desc' }, { id: 'desc' }], select: { id: true } });
    expect(ids).toEqual(expected.map((b) => b.id));
    const none = await measured(`{ ingestionBatches(status: FAILED) { totalCount edges { node { id } } } }`);
    expect(none.data.ingestionBatches).toEqual({ totalCount: await seeded.db.prisma.ingestionBatch.count({ where: { status: 'FAILED' } }), edges: [] });
  });

  it('counts reference entities only when totalCount is asked', async () => {
    const bare = await measured(`{ referenceEntities(entityType: ISSUER, first: 3) { edges { node { name } } } }`);
    expect(bare.statements).toHaveLength(1);
    expect(bare.data.referenceEntities.edges).toHaveLength(3);
    const counted = await measured(`{ referenceEntities(entityType: ISSUER, first: 3) { totalCount edges { node { name } } } }`);
    expect(counted.data.referenceEntities.totalCount).toBe(await seeded.db.prisma.referenceData.count({ where: { entityType: 'ISSUER' } }));
    expect(counted.data.referenceEntities.edges).toEqual(bare.data.referenceEntities.edges);
  });
});

describe('a caller entitled to one fund', () => {
  it('lists only that fund\'s nodes and root, totals included', async () => {
    const scoped = await startService(seeded.db, { auth: { mode: 'jwt', secret: SECRET, clockToleranceSec: 0 } });
    try {
      const fund = (await seeded.db.prisma.portfolioNode.findMany({ where: { parentId: null }, orderBy: { id: 'asc' } }))[1]!;
      const token = await new jose.SignJWT({ roles: ['VIEWER'], funds: [fund.id] }).setProtectedHeader({ alg: 'HS256' }).setSubject('viewer')
        .setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
      const headers = { authorization: `Bearer ${token}` };
      const books = await graphql(scoped.url, NODES, { filter: { nodeType: 'BOOK' }, first: 500 }, headers);
      expect(books.errors).toBeUndefined();
      const expected = await seeded.db.prisma.portfolioNode.findMany({ where: { nodeType: 'BOOK', fundId: fund.id }, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
      expect(expected.length).toBeLessThan(await seeded.db.prisma.portfolioNode.count({ where: { nodeType: 'BOOK' } }));
      expect(books.data!.portfolioNodes.totalCount).toBe(expected.length);
      expect(books.data!.portfolioNodes.edges.map((e: any) => e.node.id)).toEqual(expected.map((n) => n.id));
      const roots = await graphql(scoped.url, `{ portfolioRoots { id children { id } } }`, {}, headers);
      expect(roots.errors).toBeUndefined();
      expect(roots.data!.portfolioRoots.map((r: any) => r.id)).toEqual([fund.id]);
    } finally {
      await scoped.stop();
    }
  });
});
