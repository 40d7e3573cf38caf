// Persisted operations (PERSISTED_OPERATIONS, src/graphql/persisted.ts) over real HTTP and WebSocket:
// automatic persisted queries (apq, the default) by the raw protocol and by Apollo Client's own
// persisted-query link; trusted documents (only) from a manifest made by `npm run persisted:build`,
// served by hash or exact text, anything else refused with PERSISTED_QUERY_NOT_ALLOWED, the limits still
// applied to variables; the build's and the configuration's refusals.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import type { Client } from 'graphql-ws';
import { ConfigError, persistedOperationsFrom } from '../../src/config';
import { sha256Hex } from '../../src/graphql/persisted';
import type { LiveEvents } from '../../src/live/events';
import { createLiveEvents } from '../../src/live/listener';
import { createChain } from '../support/factories';
import { serviceHeaders, startService, type RunningService } from '../support/http';
import { connect, refusal, Stream } from '../support/live';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/testDatabase';

const run = promisify(execFile);
const ROOT = join(__dirname, '../..');
/** `npm run persisted:build -- <args>`, as a front-end's build runs it. */
const persistedBuild = (...args: string[]) => run('npm', ['run', '--silent', 'persisted:build', '--', ...args], { cwd: ROOT });

const ROOTS = 'query Roots { portfolioRoots { id name } }';
const NODES = `query Nodes($first: Int) { portfolioNodes(first: $first) { edges { node { ...NodeName positions(first: $first) { edges { node { id } } } } } } }
fragment NodeName on PortfolioNode { name }`;
const LIVE = 'subscription LiveExposure($n: ID!) { liveExposure(nodeId: $n, dimension: ASSET_CLASS) { total } }';

let t: TestDatabase;
let listener: LiveEvents;
let folder: string;
let fundId: string;
const clients: Client[] = [];
let built: Promise<string> | null = null;

/** The manifest of ROOTS, NODES and LIVE (with __typename, as Apollo Client sends them), built once. */
function manifestFile(): Promise<string> {
  built ??= (async () => {
    const ops = join(folder, 'ops');
    mkdirSync(join(ops, 'nested'), { recursive: true });
    writeFileSync(join(ops, 'roots.graphql'), ROOTS);
    writeFileSync(join(ops, 'nested', 'nodes.graphql'), NODES);
    writeFileSync(join(ops, 'live.gql'), LIVE);
    const out = join(folder, 'manifest.json');
    await persistedBuild(ops, '--out', out, '--add-typename');
    return out;
  })();
  return built;
}

beforeAll(async () => {
  t = await createTestDatabase();
  listener = await createLiveEvents(t.db, onPostgres ? { kind: 'postgres', url: t.url! } : { kind: 'embedded' });
  fundId = (await createChain(t.db, 'Persisted')).fund.id;
  folder = mkdtempSync(join(tmpdir(), 'pds-persisted-'));
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.dispose()));
});
afterAll(async () => {
  await listener?.close();
  await t?.drop();
  if (folder) rmSync(folder, { recursive: true, force: true });
});

interface Body {
  data?: Record<string, any>;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** A POST /graphql of any JSON body (the service's sign-in headers under test:production). */
async function send(api: RunningService, body: unknown): Promise<{ status: number } & Body> {
  const response = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...serviceHeaders(api.url) }, body: JSON.stringify(body) });
  return { status: response.status, ...((await response.json()) as Body) };
}

const persistedQuery = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });

/** An Apollo Client whose every request is recorded (what the link sent). */
function apolloClient(api: RunningService) {
  const sent: Record<string, any>[] = [];
  const link = new PersistedQueryLink({ sha256: sha256Hex }).concat(
    new HttpLink({
      uri: `${api.url}/graphql`,
      headers: serviceHeaders(api.url),
      fetch: (input, init) => {
        sent.push(JSON.parse(String(init?.body)));
        return fetch(input, init);
      },
    }),
  );
  return { client: new ApolloClient({ link, cache: new InMemoryCache() }), sent };
}

describe('PERSISTED_OPERATIONS=apq (the default)', () => {
  let api: RunningService;
  beforeAll(async () => {
    api = await startService(t.db);
  });
  afterAll(() => api?.stop());

  it('registers a document sent with its hash and then serves the hash alone', async () => {
    const query = `{ portfolioRoots { name } } # ${Date.now()}`;
    const hash = sha256Hex(query);
    const unknown = await send(api, { extensions: persistedQuery(hash) });
    expect(unknown.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const registered = await send(api, { query, extensions: persistedQuery(hash) });
    expect(registered.errors).toBeUndefined();
    expect(registered.data?.portfolioRoots).toEqual(expect.arrayContaining([{ name: 'Persisted Fund' }]));
    const byHash = await send(api, { extensions: persistedQuery(hash) });
    expect(byHash.errors).toBeUndefined();
    expect(byHash.data).toEqual(registered.data);
    // Over GET too, as the link's useGETForHashedQueries sends it.
    const get = await fetch(`${api.url}/graphql?extensions=${encodeURIComponent(JSON.stringify(persistedQuery(hash)))}`, { headers: { ...serviceHeaders(api.url), 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(200);
    expect(((await get.json()) as Body).data).toEqual(registered.data);
  });

  it('refuses a hash that is not the SHA-256 of the text sent with it, and an unknown version, with BAD_REQUEST and the field', async () => {
    const wrong = await send(api, { query: '{ portfolioRoots { id } }', extensions: persistedQuery(sha256Hex('{ portfolioRoots { name } }')) });
    expect(wrong.status).toBe(400);
    expect(wrong.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_REQUEST', field: 'extensions.persistedQuery.sha256Hash' });
    const version = await send(api, { extensions: { persistedQuery: { version: 2, sha256Hash: sha256Hex('x') } } });
    expect(version.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_REQUEST', field: 'extensions.persistedQuery.version' });
  });

  it("round-trips with Apollo Client's persisted-query link: hash, then hash and text once; a second client sends the hash only", async () => {
    const query = gql`query AllRoots { portfolioRoots { id name } }`;
    const first = apolloClient(api);
    const answer = await first.client.query<{ portfolioRoots: { id: string; name: string }[] }>({ query });
    expect(answer.data?.portfolioRoots).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Persisted Fund' })]));
    expect(first.sent.map((body) => [typeof body.query, body.extensions?.persistedQuery?.sha256Hash !== undefined])).toEqual([['undefined', true], ['string', true]]);
    const second = apolloClient(api);
    const again = await second.client.query({ query });
    expect(again.data).toEqual(answer.data);
    // Registered by the first client: one request, without the text.
    expect(second.sent).toHaveLength(1);
    expect(second.sent[0]!.query).toBeUndefined();
  });
});

describe('npm run persisted:build', () => {
  it('writes a manifest of each named operation with the fragments it uses, keyed by the SHA-256 of its text', async () => {
    const manifest = JSON.parse(readFileSync(await manifestFile(), 'utf8')) as Record<string, string>;
    expect(Object.keys(manifest)).toHaveLength(3);
    for (const [hash, document] of Object.entries(manifest)) expect(sha256Hex(document)).toBe(hash);
    const nodes = Object.values(manifest).find((d) => d.startsWith('query Nodes'))!;
    expect(nodes).toContain('fragment NodeName on PortfolioNode');
    expect(nodes).toContain('__typename');
  });

  it('fails naming the file of an operation that is not valid against the schema', async () => {
    const bad = join(folder, 'bad');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'good.graphql'), ROOTS);
    writeFileSync(join(bad, 'broken.graphql'), 'query Broken { portfolioRoots { noSuchField } }');
    const failure = await persistedBuild(bad, '--out', join(folder, 'never.json')).then(() => null, (error: { code: number; stderr: string }) => error);
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/broken\.graphql: operation "Broken" is not valid against schema\.graphql: .*noSuchField/);
  });
});

describe('PERSISTED_OPERATIONS=only', () => {
  let api: RunningService;
  let manifest: Record<string, string>;
  const documentOf = (prefix: string) => Object.entries(manifest).find(([, d]) => d.startsWith(prefix))!;

  beforeAll(async () => {
    const out = await manifestFile();
    manifest = JSON.parse(readFileSync(out, 'utf8')) as Record<string, string>;
    api = await startService(t.db, {
      live: listener,
      persistedOperations: persistedOperationsFrom({ PERSISTED_OPERATIONS: 'only', PERSISTED_OPERATIONS_FILE: out }),
      // No operation name of its own but the trusted ones.
      metrics: { enabled: true, maxOperationNames: 0 },
    });
  });
  afterAll(() => api?.stop());

  it('serves a listed operation by its hash and by its exact text', async () => {
    const [hash, text] = documentOf('query Roots');
    const byHash = await send(api, { extensions: persistedQuery(hash) });
    expect(byHash.errors).toBeUndefined();
    expect(byHash.data?.portfolioRoots).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Persisted Fund', __typename: 'PortfolioNode' })]));
    const byText = await send(api, { query: text });
    expect(byText.data).toEqual(byHash.data);
    const get = await fetch(`${api.url}/graphql?extensions=${encodeURIComponent(JSON.stringify(persistedQuery(hash)))}`, { headers: { ...serviceHeaders(api.url), 'apollo-require-preflight': 'true' } });
    expect(((await get.json()) as Body).data).toEqual(byHash.data);
    // A trusted operation keeps its name as a metrics label, though the service labels no other name.
    expect(await (await fetch(`${api.url}/metrics`)).text()).toMatch(/graphql_operation_duration_seconds_count\{[^}]*operation_name="Roots"/);
  });

  it('refuses any other document, an unknown hash and a listed hash with other text, before running them', async () => {
    for (const body of [
      { query: '{ portfolioRoots { id } }' },
      { query: `${documentOf('query Roots')[1]} ` }, // not the exact text
      { extensions: persistedQuery(sha256Hex('{ portfolioRoots { id } }')) },
      { query: 'mutation { deletePosition(id: "00000000-0000-0000-0000-000000000000") { id } }' },
    ]) {
      const refused = await send(api, body);
      expect(refused.status).toBe(400);
      expect(refused.data).toBeUndefined();
      expect(refused.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
      expect(refused.errors?.[0]?.extensions?.field).toEqual(expect.any(String));
    }
    const mismatch = await send(api, { query: '{ portfolioRoots { id } }', extensions: persistedQuery(documentOf('query Roots')[0]) });
    expect(mismatch.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    // A GET with the text of an unlisted query.
    const get = await fetch(`${api.url}/graphql?query=${encodeURIComponent('{ portfolioRoots { id } }')}`, { headers: { ...serviceHeaders(api.url), 'apollo-require-preflight': 'true' } });
    expect(get.status).toBe(400);
    expect(((await get.json()) as Body).errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
  });

  it('still applies the cost limit to the variables of a listed operation', async () => {
    const [hash] = documentOf('query Nodes');
    const small = await send(api, { extensions: persistedQuery(hash), variables: { first: 5 } });
    expect(small.errors).toBeUndefined();
    const huge = await send(api, { extensions: persistedQuery(hash), variables: { first: 500 } });
    expect(huge.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it("serves Apollo Client's persisted-query link with one request (the manifest built with --add-typename)", async () => {
    const { client, sent } = apolloClient(api);
    const answer = await client.query<{ portfolioRoots: { id: string; name: string }[] }>({ query: gql(ROOTS) });
    expect(answer.error).toBeUndefined();
    expect(answer.data?.portfolioRoots).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Persisted Fund' })]));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.query).toBeUndefined();
  });

  it('refuses an unlisted subscription over WebSocket and serves a listed one', async () => {
    const { client } = connect(api.url, { authorization: serviceHeaders(api.url).authorization, clients });
    const refused = await refusal(new Stream(client, 'subscription { liveExposure(nodeId: "00000000-0000-0000-0000-000000000000", dimension: CURRENCY) { total } }'));
    expect(refused[0]?.extensions).toMatchObject({ code: 'PERSISTED_QUERY_NOT_ALLOWED', field: 'query' });
    const [, text] = documentOf('subscription LiveExposure');
    const listed = new Stream(client, text, { n: fundId });
    expect((await listed.data()).liveExposure).toHaveProperty('total');
    listed.stop();
  });
});

describe('configuration', () => {
  it('refuses a bad mode, a missing manifest and a manifest whose hash is not its document', () => {
    const thrown = (env: Record<string, string>) => {
      try {
        persistedOperationsFrom(env);
      } catch (error) {
        return error as ConfigError;
      }
      throw new Error('expected a ConfigError');
    };
    expect(thrown({ PERSISTED_OPERATIONS: 'sometimes' })).toMatchObject({ name: 'ConfigError', variable: 'PERSISTED_OPERATIONS' });
    expect(thrown({ PERSISTED_OPERATIONS: 'only' })).toMatchObject({ variable: 'PERSISTED_OPERATIONS_FILE' });
    expect(thrown({ PERSISTED_OPERATIONS: 'only', PERSISTED_OPERATIONS_FILE: join(folder, 'absent.json') })).toMatchObject({ variable: 'PERSISTED_OPERATIONS_FILE' });
    const forged = join(folder, 'forged.json');
    writeFileSync(forged, JSON.stringify({ [sha256Hex('{ portfolioRoots { id } }')]: '{ portfolioRoots { name } }' }));
    expect(thrown({ PERSISTED_OPERATIONS: 'only', PERSISTED_OPERATIONS_FILE: forged }).message).toMatch(/PERSISTED_OPERATIONS_FILE: .*not the SHA-256 of its document/);
    expect(persistedOperationsFrom({})).toEqual({ mode: 'apq' });
    expect(persistedOperationsFrom({ PERSISTED_OPERATIONS: 'off' })).toEqual({ mode: 'off' });
  });
});
