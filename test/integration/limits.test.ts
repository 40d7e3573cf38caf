// Hostile and oversized requests are refused cheaply, before any resolver runs,
// with QUERY_TOO_COMPLEX: depth, aliases, directives, tokens, query length,
// cost (page sizes multiplied through, variables included) and body size.
// Batched HTTP requests are off; CORS follows the allow-list; suggestions are
// hidden in production; internal errors are masked there.
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
let statements = 0;

beforeAll(async () => {
  t = await createTestDatabase();
  t.db.onQuery(() => statements++);
  api = await startService(t.db, { limits: { maxQueryLength: 5_000, maxTokens: 1_000, maxDepth: 10, maxAliases: 5, maxDirectives: 5, maxCost: 20_000 }, bodyLimitBytes: 64 * 1024, uploadBodyLimitBytes: 64 * 1024, corsOrigins: ['https://app.example.com'] });
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

async function refused(query: string, variables: Record<string, unknown> = {}) {
  statements = 0;
  const res = await graphql(api.url, query, variables);
  expect(res.status).toBe(400);
  expect(res.errors![0]!.extensions!.code).toBe('QUERY_TOO_COMPLEX');
  expect(res.data).toBeUndefined();
  expect(statements).toBe(0); // refused before any resolver touched the database
  return res.errors![0]!.message;
}

const nest = (depth: number) => `{ portfolioRoots { ${'children { '.repeat(depth)}name${' }'.repeat(depth)} } }`;

it('accepts an ordinary tree query', async () => {
  const res = await graphql(api.url, nest(3));
  expect(res.errors).toBeUndefined();
});

it.each([
  ['too deep', () => nest(12), /depth/i],
  ['too many aliases', () => `{ ${Array.from({ length: 8 }, (_, i) => `a${i}: portfolioRoots { name }`).join(' ')} }`, /alias/i],
  ['too many directives', () => `{ portfolioRoots { name ${'@include(if: true) '.repeat(8)} } }`, /directive/i],
  ['too many tokens', () => `{ portfolioRoots { ${'id '.repeat(1_200)} } }`, /token/i],
  ['too long', () => `{ portfolioRoots { name } } ${'#'.repeat(6_000)}`, /characters/i],
  ['too costly (literal page sizes)', () => '{ portfolioNodes(first: 500) { edges { node { positions(first: 500) { edges { node { id } } } } } } }', /cost/i],
])('refuses a query %s', async (_what, query, message) => {
  expect(await refused(query())).toMatch(message);
});

it('multiplies by page sizes given as variables', async () => {
  const q = 'query($a: Int, $b: Int) { portfolioNodes(first: $a) { edges { node { positions(first: $b) { edges { node { id } } } } } } }';
  expect(await refused(q, { a: 500, b: 500 })).toMatch(/cost/i);
  const small = await graphql(api.url, q, { a: 10, b: 10 });
  expect(small.errors).toBeUndefined();
});

it('prices the same text again for each request\'s variables (costs are kept per operation and variable values)', async () => {
  const q = 'query Again($a: Int, $b: Int, $id: ID!) { portfolioNodes(first: $a) { edges { node { id positions(first: $b) { totalCount edges { node { id } } } } } } other: portfolioNode(id: $id) { id } }';
  for (const [a, b, ok] of [[10, 10, true], [10, 10, true], [500, 500, false], [10, 10, true], [10, 500, true], [500, 500, false], [500, 10, true]] as const) {
    for (const id of ['a1b2c3d4-0000-4000-8000-000000000001', 'a1b2c3d4-0000-4000-8000-000000000002']) {
      statements = 0;
      const res = await graphql(api.url, q, { a, b, id });
      expect({ a, b, code: res.errors?.[0]?.extensions?.code ?? null }).toEqual({ a, b, code: ok ? null : 'QUERY_TOO_COMPLEX' });
      if (!ok) expect(statements).toBe(0);
    }
  }
  // A text refused for its tokens stays refused when sent again (only accepted texts are remembered).
  const many = `{ portfolioRoots { ${'id '.repeat(1_200)} } }`;
  for (let i = 0; i < 3; i++) expect(await refused(many)).toMatch(/token/i);
});

it('refuses an oversized body and malformed JSON with a GraphQL-shaped error', async () => {
  const big = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ portfolioRoots { name } }', variables: { x: 'y'.repeat(100_000) } }) });
  expect(big.status).toBe(413);
  expect(((await big.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('QUERY_TOO_COMPLEX');
  const bad = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query": ' });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('BAD_REQUEST');
});

it('refuses batched HTTP requests', async () => {
  const res = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ query: '{ portfolioRoots { name } }' }, { query: '{ portfolioRoots { id } }' }]) });
  expect(res.status).toBe(400);
});

it('answers CORS only for the allow-listed origin', async () => {
  const preflight = (origin: string) => fetch(`${api.url}/graphql`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' } });
  expect((await preflight('https://app.example.com')).headers.get('access-control-allow-origin')).toBe('https://app.example.com');
  expect((await preflight('https://evil.example.com')).headers.get('access-control-allow-origin')).toBeNull();
});

describe('production mode', () => {
  let prod: RunningService;
  beforeAll(async () => {
    prod = await startService(t.db, { production: true, graphqlIntrospection: false });
  });
  afterAll(() => prod.stop());

  it('hides field suggestions and introspection', async () => {
    const typo = await graphql(prod.url, '{ portfolioRots { name } }');
    expect(typo.errors![0]!.message).not.toMatch(/Did you mean/);
    const dev = await graphql(api.url, '{ portfolioRots { name } }');
    expect(dev.errors![0]!.message).toMatch(/Did you mean "portfolioRoots"/);
    const schema = await graphql(prod.url, '{ __schema { types { name } } }');
    expect(schema.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('masks database errors: no SQL, no stack, a request id to quote', async () => {
    // Break the table under the service: the resulting error is internal, never shown.
    await t.db.sql.exec('ALTER TABLE portfolio_node RENAME TO portfolio_node_hidden');
    try {
      const res = await graphql(prod.url, '{ portfolioRoots { name } }', {}, { 'x-request-id': 'req-42' });
      const error = res.errors![0]!;
      expect(error.message).toBe('Internal server error');
      expect(error.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: 'req-42' });
      expect(JSON.stringify(res)).not.toMatch(/portfolio_node|relation|SELECT|at .*\.ts/i);
    } finally {
      await t.db.sql.exec('ALTER TABLE portfolio_node_hidden RENAME TO portfolio_node');
    }
  });
});
