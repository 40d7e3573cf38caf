// Hierarchy mutations through HTTP: level order, cycles, errors with codes and
// fields, nothing written on failure, and concurrent moves.
import { createChain, createNode } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;

beforeAll(async () => {
  t = await createTestDatabase();
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

const CREATE = `mutation($input: CreatePortfolioNodeInput!) {
  createPortfolioNode(input: $input) { id name nodeType baseCurrency tags depth parent { id } } }`;
const MOVE = `mutation($id: ID!, $parentId: ID!) { movePortfolioNode(id: $id, parentId: $parentId) { id parent { id } } }`;
const nodeCount = async () => t.db.prisma.portfolioNode.count();

describe('createPortfolioNode', () => {
  it('creates a fund and children one level down, normalising inputs', async () => {
    const fund = await graphql(api.url, CREATE, { input: { name: '  Alpha Fund ', nodeType: 'FUND', baseCurrency: ' eur ', tags: { domicile: 'IE' } } });
    expect(fund.errors).toBeUndefined();
    expect(fund.data!.createPortfolioNode).toMatchObject({ name: 'Alpha Fund', nodeType: 'FUND', baseCurrency: 'EUR', tags: { domicile: 'IE' }, depth: 0, parent: null });
    const desk = await graphql(api.url, CREATE, { input: { name: 'Rates', nodeType: 'DESK', parentId: fund.data!.createPortfolioNode.id, baseCurrency: 'EUR' } });
    expect(desk.data!.createPortfolioNode).toMatchObject({ nodeType: 'DESK', depth: 1, parent: { id: fund.data!.createPortfolioNode.id } });
  });

  it.each([
    ['a FUND with a parent', 'FUND', 'desk', 'HIERARCHY_VIOLATION', 'input.parentId'],
    ['a DESK without a parent', 'DESK', null, 'HIERARCHY_VIOLATION', 'input.parentId'],
    ['a DESK under a BOOK', 'DESK', 'book', 'HIERARCHY_VIOLATION', 'input.parentId'],
    ['a STRATEGY under a DESK', 'STRATEGY', 'desk', 'HIERARCHY_VIOLATION', 'input.parentId'],
    ['a BOOK under a missing node', 'BOOK', 'missing', 'NOT_FOUND', 'input.parentId'],
    ['a BOOK under a malformed id', 'BOOK', 'bad', 'NOT_FOUND', 'input.parentId'],
  ])('refuses %s and writes nothing', async (_what, nodeType, parent, code, field) => {
    const chain = await createChain(t.db, `Refuse ${nodeType} ${parent}`);
    const parentId = { desk: chain.desk.id, book: chain.book.id, missing: '00000000-0000-4000-8000-000000000000', bad: 'x' }[parent as string] ?? null;
    const before = await nodeCount();
    const res = await graphql(api.url, CREATE, { input: { name: 'New', nodeType, parentId, baseCurrency: 'USD' } });
    expect(res.errors![0]!.extensions).toMatchObject({ code, field });
    expect(await nodeCount()).toBe(before);
  });

  it.each([
    ['an unknown currency', { baseCurrency: 'XYZ' }, 'input.baseCurrency'],
    ['an empty name', { name: '   ' }, 'input.name'],
    ['a name with a NUL byte', { name: 'bad\u0000name' }, 'input.name'],
    ['a 201-character name', { name: 'x'.repeat(201) }, 'input.name'],
  ])('rejects %s with BAD_USER_INPUT', async (_what, override, field) => {
    const before = await nodeCount();
    const res = await graphql(api.url, CREATE, { input: { name: 'Fund', nodeType: 'FUND', baseCurrency: 'USD', ...override } });
    expect(res.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(await nodeCount()).toBe(before);
  });
});

describe('movePortfolioNode', () => {
  it('moves a book with its subtree under another desk', async () => {
    const a = await createChain(t.db, 'Move A');
    const otherDesk = await createNode(t.db, { nodeType: 'DESK', name: 'Move Other Desk', parentId: a.fund.id });
    const res = await graphql(api.url, MOVE, { id: a.book.id, parentId: otherDesk.id });
    expect(res.data!.movePortfolioNode.parent.id).toBe(otherDesk.id);
    const strategy = await graphql(api.url, 'query($id: ID!) { portfolioNode(id: $id) { ancestors { id } } }', { id: a.strategy.id });
    expect(strategy.data!.portfolioNode.ancestors.map((n: { id: string }) => n.id)).toEqual([a.fund.id, otherDesk.id, a.book.id]);
  });

  it.each([
    ['a FUND', 'fund', 'desk', 'HIERARCHY_VIOLATION', 'id'],
    ['a BOOK under a FUND', 'book', 'fund', 'HIERARCHY_VIOLATION', 'parentId'],
    ['a BOOK under itself', 'book', 'book', 'HIERARCHY_VIOLATION', 'parentId'],
    ['a DESK under its own STRATEGY', 'desk', 'strategy', 'HIERARCHY_VIOLATION', 'parentId'],
    ['a missing node', 'missing', 'desk', 'NOT_FOUND', 'id'],
    ['a BOOK under a missing node', 'book', 'missing', 'NOT_FOUND', 'parentId'],
  ])('refuses to move %s and changes nothing', async (_what, node, parent, code, field) => {
    const c = await createChain(t.db, `Refuse move ${node} ${parent}`);
    const ids: Record<string, string> = { fund: c.fund.id, desk: c.desk.id, book: c.book.id, strategy: c.strategy.id, missing: '00000000-0000-4000-8000-000000000000' };
    const snapshot = await t.db.sql.query('SELECT id, parent_id FROM portfolio_node ORDER BY id');
    const res = await graphql(api.url, MOVE, { id: ids[node], parentId: ids[parent] });
    expect(res.errors![0]!.extensions).toMatchObject({ code, field });
    expect(await t.db.sql.query('SELECT id, parent_id FROM portfolio_node ORDER BY id')).toEqual(snapshot);
  });

  it('refuses a move that would close a cycle even where levels alone would not catch it', async () => {
    const c = await createChain(t.db, 'Cycle');
    // Against the rules (by SQL), put desk D2 under the BOOK; moving the BOOK under D2 has the
    // right levels (a BOOK under a DESK) but would close the cycle BOOK -> D2 -> BOOK.
    const d2 = await createNode(t.db, { nodeType: 'DESK', name: 'Cycle D2', parentId: c.fund.id });
    await t.db.sql.query('UPDATE portfolio_node SET parent_id = $1 WHERE id = $2', [c.book.id, d2.id]);
    const res = await graphql(api.url, MOVE, { id: c.book.id, parentId: d2.id });
    expect(res.errors![0]!.extensions).toMatchObject({ code: 'HIERARCHY_VIOLATION', field: 'parentId' });
    expect(res.errors![0]!.message).toMatch(/its own ancestor/);
  });

  it('keeps the tree valid under concurrent moves', async () => {
    const fund = await createNode(t.db, { nodeType: 'FUND', name: 'Concurrent Fund' });
    const desks = await Promise.all([1, 2, 3].map((i) => createNode(t.db, { nodeType: 'DESK', name: `Concurrent Desk ${i}`, parentId: fund.id })));
    const books = await Promise.all([1, 2, 3, 4, 5, 6].map((i) => createNode(t.db, { nodeType: 'BOOK', name: `Concurrent Book ${i}`, parentId: desks[0]!.id })));
    const moves = books.flatMap((b, i) => [
      graphql(api.url, MOVE, { id: b.id, parentId: desks[(i + 1) % 3]!.id }),
      graphql(api.url, MOVE, { id: b.id, parentId: desks[(i + 2) % 3]!.id }),
      graphql(api.url, MOVE, { id: desks[i % 3]!.id, parentId: b.id }), // always a violation
    ]);
    const results = await Promise.all(moves);
    expect(results.filter((r) => r.errors).every((r) => r.errors![0]!.extensions!.code === 'HIERARCHY_VIOLATION')).toBe(true);
    const rows = await t.db.sql.query<{ id: string; node_type: string; parent_type: string | null }>(
      `SELECT n.id, n.node_type::text, p.node_type::text AS parent_type FROM portfolio_node n LEFT JOIN portfolio_node p ON p.id = n.parent_id
       WHERE n.id = ANY($1::uuid[])`,
      [[...desks, ...books].map((n) => n.id)],
    );
    for (const row of rows) expect(row.parent_type).toBe(row.node_type === 'DESK' ? 'FUND' : 'DESK');
  });
});
