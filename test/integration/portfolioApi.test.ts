// The portfolio queries through HTTP against the real server and database.
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 500, funds: 2 });

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
  const res = await graphql(api.url, '{ portfolioRoots { name nodeType baseCurrency parent { id } } }');
  const expected = world.nodes.filter((n) => n.node_type === 'FUND').map((n) => n.name).sort();
  expect(res.data!.portfolioRoots.map((f: { name: string }) => f.name)).toEqual(expected);
  expect(res.data!.portfolioRoots.every((f: { parent: unknown }) => f.parent === null)).toBe(true);
});

it('reads a node with its parent and children; an unknown or malformed id is null', async () => {
  const desk = world.nodes.find((n) => n.node_type === 'DESK')!;
  const res = await graphql(api.url, 'query($id: ID!) { portfolioNode(id: $id) { id name nodeType parent { id } children { name nodeType } } }', { id: desk.id });
  expect(res.data!.portfolioNode).toMatchObject({ id: desk.id, name: desk.name, nodeType: 'DESK', parent: { id: desk.parent_id } });
  const children = world.nodes.filter((n) => n.parent_id === desk.id).map((n) => n.name).sort();
  expect(res.data!.portfolioNode.children.map((c: { name: string }) => c.name)).toEqual(children);
  for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
    const miss = await graphql(api.url, 'query($id: ID!) { portfolioNode(id: $id) { id } }', { id });
    expect(miss.errors).toBeUndefined();
    expect(miss.data!.portfolioNode).toBeNull();
  }
});

it('answers health checks and tags every response with a request id', async () => {
  const ready = await fetch(`${api.url}/readyz`);
  expect(ready.status).toBe(200);
  const res = await graphql(api.url, '{ portfolioRoots { id } }', {}, { 'x-request-id': 'trace-123' });
  expect(res.headers.get('x-request-id')).toBe('trace-123');
});
