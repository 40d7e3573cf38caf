// Compiled plans (graphql-jit, src/graphql/executor.ts) answer as graphql-js does: the same
// data and the same errors (codes, fields, paths, HTTP status) for documents with fragments,
// aliases, directives, variables of every kind, partial failures and bad input, sent to one
// service that runs graphql-js only (GRAPHQL_COMPILE_ON_REQUEST=0) and one that compiles every
// document at once (1). A service as deployed (2) runs a document's first request on
// graphql-js and compiles it when it is asked again.
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService, type GraphQLResponse, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let plain: RunningService;
let compiled: RunningService;
let fund: string;
let position: string;

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 300, funds: 2 }));
  plain = await startService(t.db, { graphqlCompileOnRequest: 0, analyticsCacheBytes: 0 });
  compiled = await startService(t.db, { graphqlCompileOnRequest: 1, analyticsCacheBytes: 0 });
  const [row] = await t.db.sql.query<{ fund: string; position: string }>(`
    SELECT n.id::text AS fund, (SELECT p.id::text FROM position p JOIN portfolio_node c ON c.id = p.portfolio_node_id WHERE c.fund_id = n.id ORDER BY p.id LIMIT 1) AS position
    FROM portfolio_node n WHERE n.node_type = 'FUND' ORDER BY n.name LIMIT 1`);
  fund = row!.fund;
  position = row!.position;
}, 120_000);

afterAll(async () => {
  await plain?.stop();
  await compiled?.stop();
  await t?.drop();
});

/** Status, data and errors, without what differs per request or per executor's stack. */
function comparable(res: GraphQLResponse<Record<string, any>>) {
  const errors = res.errors?.map(({ extensions, ...e }) => {
    const { requestId: _r, stacktrace: _s, ...rest } = extensions ?? {};
    return { ...e, extensions: rest };
  });
  // Fields resolve concurrently: errors of sibling fields may be listed in another order.
  errors?.sort((a, b) => JSON.stringify(a.path ?? []).localeCompare(JSON.stringify(b.path ?? [])) || a.message.localeCompare(b.message));
  return { status: res.status, data: res.data, errors };
}

async function both(query: string, variables: Record<string, unknown> = {}, operationName?: string): Promise<ReturnType<typeof comparable>> {
  const send = (api: RunningService) =>
    operationName === undefined
      ? graphql(api.url, query, variables)
      : fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables, operationName }) })
          .then(async (r) => ({ status: r.status, headers: r.headers, ...((await r.json()) as object) }) as GraphQLResponse);
  const a = comparable(await send(plain));
  const b = comparable(await send(compiled));
  // Twice on the compiled side: the plan made by the first request serves the second.
  const c = comparable(await send(compiled));
  expect(b).toEqual(a);
  expect(c).toEqual(a);
  return a;
}

const TREE = `
  fragment Counts on PortfolioNode { id name nodeType active: positions(first: 0, status: [ACTIVE]) { totalCount } }
  query Tree($id: ID!, $deep: Boolean!, $skipNames: Boolean = false, $statuses: [PositionStatus!]) {
    portfolioNode(id: $id) {
      ...Counts
      __typename
      label: name @skip(if: $skipNames)
      children {
        ... on PortfolioNode { ...Counts tags }
        children @include(if: $deep) { ...Counts some: positions(first: 2, status: $statuses) { totalCount edges { cursor node { id status quantity instrument { id name } } } pageInfo { hasNextPage endCursor } } }
      }
    }
  }`;

describe('a compiled plan answers as graphql-js does', () => {
  it('for fragments, aliases, @skip/@include by variables, defaults and a single value given for a list', async () => {
    for (const variables of [
      { id: fund, deep: true },
      { id: fund, deep: false, skipNames: true },
      { id: fund, deep: true, statuses: 'CLOSED' },
      { id: fund, deep: true, statuses: ['ACTIVE', 'CLOSED'] },
    ]) {
      const res = await both(TREE, variables);
      expect(res.errors).toBeUndefined();
      expect(res.data!.portfolioNode.children.length).toBeGreaterThan(0);
    }
  });

  it('for Decimal, Date and DateTime values, nulls and nested objects', async () => {
    const res = await both(
      `query P($id: ID!, $asOf: Date!) { position(id: $id) { id quantity status openedOn closedOn valuation(asOf: $asOf) { marketValue currency asOfDate recordedAt supersededAt } instrument { id name issuer { id name } } node { id name parent { id } } } portfolioNode(id: "${fund}") { marketValue(asOf: $asOf) { amount currency } } }`,
      { id: position, asOf: '2026-10-30' },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.position.id).toBe(position);
  });

  it('for variables left to their defaults (a Date, an enum list) and given as null', async () => {
    const query = `query D($id: ID!, $asOf: Date = "2026-10-30", $statuses: [PositionStatus!] = [ACTIVE, CLOSED]) {
      portfolioNode(id: $id) { positions(asOf: $asOf, includeDescendants: true, first: 3, status: $statuses) { totalCount edges { node { id holding(asOf: $asOf) { quantity } } } } }
    }`;
    const left = await both(query, { id: fund });
    expect(left.errors).toBeUndefined();
    expect(left.data!.portfolioNode.positions.totalCount).toBeGreaterThan(0);
    const given = await both(query, { id: fund, asOf: '2026-10-30', statuses: ['ACTIVE', 'CLOSED'] });
    expect(given.data).toEqual(left.data);
    expect((await both(query, { id: fund, asOf: null })).status).toBe(200);
  });

  it('for bad variables: BAD_USER_INPUT naming the field, HTTP 400, nothing executed', async () => {
    const res1 = await both(TREE, { id: fund, deep: 'yes' });
    expect(res1.status).toBe(400);
    expect(res1.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    const res2 = await both(TREE, { deep: true });
    expect(res2.status).toBe(400);
    const res3 = await both(`query M($asOf: Date!) { portfolioNode(id: "${fund}") { marketValue(asOf: $asOf) { amount } } }`, { asOf: '2026-13-45' });
    expect(res3.status).toBe(400);
    expect(res3.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('for an error of a resolver: its code and field, at its path, beside the data that resolved', async () => {
    const res = await both(`query Big($id: ID!) { portfolioNode(id: $id) { id ok: positions(first: 1) { totalCount } tooMany: positions(first: 501) { totalCount } } }`, { id: fund });
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]).toMatchObject({ path: ['portfolioNode', 'tooMany'], extensions: { code: 'BAD_USER_INPUT' } });
  });

  it('for errors in a list, with null spreading up to the nearest nullable field', async () => {
    // No FX rate for XAU: every child's non-null marketValue fails, nulling the list up to portfolioNode.
    // graphql-js lists the first failure only (the list is null once one item fails); a compiled plan
    // lists every child's, each with its own code, pairs and path: the same data, more detail.
    const query = `query MV($id: ID!) { portfolioNode(id: $id) { id children { id marketValue(asOf: "2026-10-30", currency: "XAU") { amount } } } }`;
    const a = comparable(await graphql(plain.url, query, { id: fund }));
    const b = comparable(await graphql(compiled.url, query, { id: fund }));
    expect(a.data).toEqual({ portfolioNode: null });
    expect(b.data).toEqual(a.data);
    expect(b.status).toBe(a.status);
    expect(a.errors).toHaveLength(1);
    const children = (await graphql(plain.url, `query C($id: ID!) { portfolioNode(id: $id) { children { id } } }`, { id: fund })).data!.portfolioNode.children.length;
    expect(b.errors).toHaveLength(children);
    expect(b.errors).toEqual(expect.arrayContaining(a.errors!));
    for (const e of b.errors!) expect(e).toMatchObject({ path: ['portfolioNode', 'children', expect.any(Number), 'marketValue'], extensions: { code: 'FX_RATE_NOT_FOUND' } });
    expect(b.errors!.map((e) => e.path![2] as number).sort((x, y) => x - y)).toEqual([...Array(children).keys()]);
  });

  it('for an operation chosen by name, an unknown name and a missing name', async () => {
    const doc = `query A { portfolioRoots { id } } query B($id: ID!) { portfolioNode(id: $id) { id name } }`;
    expect((await both(doc, { id: fund }, 'B')).data).toEqual({ portfolioNode: { id: fund, name: expect.any(String) } });
    expect((await both(doc, {}, 'A')).data!.portfolioRoots.length).toBe(2);
    expect((await both(doc, {}, 'C')).status).toBe(400);
    expect((await both(doc, {}, undefined as unknown as string)).status).toBe(400);
  });

  it('for introspection', async () => {
    const res = await both(`{ __schema { queryType { name } types { name kind } } __type(name: "PortfolioNode") { fields { name args { name defaultValue } } } }`);
    expect(res.data!.__type.fields.length).toBeGreaterThan(5);
  });
});

describe('when a document is compiled', () => {
  it('as deployed: its first request runs on graphql-js, the second compiles it, and the answers agree', async () => {
    const api = await startService(t.db, { analyticsCacheBytes: 0, graphqlCompileOnRequest: 2 });
    try {
      const query = `query Once($id: ID!) { portfolioNode(id: $id) { id children { id name } } }`;
      const first = await graphql(api.url, query, { id: fund });
      expect(api.service.compiledPlans()).toEqual({ compiled: 0, refused: 0, kept: 0 });
      const second = await graphql(api.url, query, { id: fund });
      expect(api.service.compiledPlans()).toEqual({ compiled: 1, refused: 0, kept: 1 });
      await graphql(api.url, query, { id: fund });
      expect(api.service.compiledPlans()).toEqual({ compiled: 1, refused: 0, kept: 1 });
      expect(second.data).toEqual(first.data);
      expect(first.errors).toBeUndefined();
    } finally {
      await api.stop();
    }
  });

  it('never with GRAPHQL_COMPILE_ON_REQUEST=0', async () => {
    for (let i = 0; i < 3; i++) await graphql(plain.url, `{ portfolioRoots { id } }`);
    expect(plain.service.compiledPlans()).toEqual({ compiled: 0, refused: 0, kept: 0 });
  });
});
