// POST /graphql with a small JSON body of announced length is served without
// Express (src/http/fastGraphql.ts); the same request sent chunked (no
// Content-Length) goes through Express's body gate, JSON parser and Apollo's
// Express integration. Both must answer alike: status, body, content type and
// request id, for answers and for every refusal either can give (no token, a
// bad token, malformed JSON, a JSON string, a bad persisted-query extension, a
// query text over the limit, a GraphQL error), and with trusted documents only.
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { DEFAULT_LIMITS } from '../../src/graphql/limits';
import { startService, serviceHeaders, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let open: RunningService;
let locked: RunningService;
let trustedOnly: RunningService;
const TRUSTED = 'query Trusted { __typename portfolioRoots { id } }';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

beforeAll(async () => {
  t = await createTestDatabase();
  open = await startService(t.db, { limits: { ...DEFAULT_LIMITS, maxQueryLength: 2_000 } });
  locked = await startService(t.db, { auth: { mode: 'jwt', secret: 'fast-path-test-secret-of-at-least-32-bytes!', clockToleranceSec: 0 } });
  trustedOnly = await startService(t.db, { persistedOperations: { mode: 'only', file: 'trusted.json', documents: new Map([[sha256(TRUSTED), TRUSTED]]) } });
}, 60_000);

afterAll(async () => {
  await open?.stop();
  await locked?.stop();
  await trustedOnly?.stop();
  await t?.drop();
});

interface Answer {
  status: number;
  type: string | undefined;
  requestId: string | undefined;
  body: unknown;
}

/** Sends `body` with Content-Length (the fast path) or chunked (Express), and reads the answer. */
function send(baseUrl: string, body: string, chunked: boolean, headers: Record<string, string> = {}): Promise<Answer> {
  const url = new URL('/graphql', baseUrl);
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'same-id-1', ...serviceHeaders(baseUrl), ...headers, ...(chunked ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        // Outside production an error carries its stack, which names the integration that called Apollo.
        const body = JSON.parse(text, (key, value) => (key === 'stacktrace' ? undefined : value));
        resolve({ status: res.statusCode!, type: res.headers['content-type'], requestId: res.headers['x-request-id'] as string | undefined, body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (chunked) {
      // Two writes without a length: Transfer-Encoding: chunked.
      const half = Math.floor(body.length / 2);
      req.write(body.slice(0, half));
      req.end(body.slice(half));
    } else req.end(body);
  });
}

async function both(baseUrl: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const fast = await send(baseUrl, body, false, headers);
  const express = await send(baseUrl, body, true, headers);
  expect(fast).toEqual(express);
  return fast;
}

it('answers a query alike on both paths', async () => {
  const a = await both(open.url, JSON.stringify({ query: 'query Roots { portfolioRoots { id name } __typename }', operationName: 'Roots' }));
  expect(a.status).toBe(200);
  expect(a.requestId).toBe('same-id-1');
  expect(a.type).toMatch(/^application\/(graphql-response\+)?json/);
  expect((a.body as { data: { __typename: string } }).data.__typename).toBe('Query');
});

it('refuses alike: malformed JSON, a JSON string, a bad persisted query, an oversized query, a GraphQL error', async () => {
  const cases: [string, number, string][] = [
    ['{"query": ', 400, 'BAD_REQUEST'],
    ['"{ __typename }"', 400, 'BAD_REQUEST'],
    [JSON.stringify({ query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: 'x' } } }), 400, 'BAD_REQUEST'],
    [JSON.stringify({ query: `{ ${'__typename '.repeat(300)}}` }), 400, 'QUERY_TOO_COMPLEX'],
    [JSON.stringify({ query: '{ noSuchField }' }), 400, 'GRAPHQL_VALIDATION_FAILED'],
    [JSON.stringify({ variables: {} }), 400, 'BAD_REQUEST'],
  ];
  for (const [body, status, code] of cases) {
    const a = await both(open.url, body);
    expect({ body, status: a.status }).toEqual({ body, status });
    expect((a.body as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe(code);
  }
});

it('refuses a missing or bad token alike, before reading the body', async () => {
  for (const headers of [{}, { authorization: 'Bearer not-a-token' }] as Record<string, string>[]) {
    const a = await both(locked.url, JSON.stringify({ query: '{ __typename }' }), headers);
    expect(a.status).toBe(401);
    expect((a.body as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('UNAUTHENTICATED');
  }
});

it('serves trusted documents only alike: by hash, by exact text, and refuses any other', async () => {
  const persisted = { persistedQuery: { version: 1, sha256Hash: sha256(TRUSTED) } };
  const byHash = await both(trustedOnly.url, JSON.stringify({ extensions: persisted, operationName: 'Trusted' }));
  const byText = await both(trustedOnly.url, JSON.stringify({ query: TRUSTED }));
  expect(byHash.status).toBe(200);
  expect((byHash.body as { data: { __typename: string } }).data.__typename).toBe('Query');
  expect(byText.body).toEqual(byHash.body);
  const other = await both(trustedOnly.url, JSON.stringify({ query: '{ __typename }' }));
  expect(other.status).toBe(400);
  expect((other.body as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_ALLOWED');
});
