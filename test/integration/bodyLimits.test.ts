// Request bodies are read only after the bearer token is verified, and only up to
// the caller's limit (src/http/body.ts): 401 and 413 come before the body is read,
// a chunked body is stopped at the limit, uploads may be large for INGESTOR and
// ADMIN only, and at most MAX_CONCURRENT_LARGE_BODIES large bodies are read at once.
// Raw HTTP (node:http) where a test must control what is sent and when.
import { once } from 'node:events';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import { bodyLimitsFrom, type AuthConfig } from '../../src/config';
import { createChain } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose: typeof Jose = require('jose');

const SECRET = 'a-body-limits-test-secret-of-32-bytes-or-more';
const AUTH: AuthConfig = { mode: 'jwt', secret: SECRET, clockToleranceSec: 0 };
const MiB = 1024 * 1024;

let t: TestDatabase;
let api: RunningService;
let viewer: string;
let ingestor: string;
let bookId: string;
let instrumentId: string;

const token = (roles: string[]) =>
  new jose.SignJWT({ roles, funds: ['*'] }).setProtectedHeader({ alg: 'HS256' }).setSubject(`body-${roles.join('-')}`).setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));

beforeAll(async () => {
  t = await createTestDatabase();
  const chain = await createChain(t.db, 'Body');
  bookId = chain.book.id;
  instrumentId = (await t.db.prisma.instrument.create({ data: { name: 'Body bond', assetClass: 'BOND', currency: 'USD' } })).id;
  viewer = await token(['VIEWER']);
  ingestor = await token(['INGESTOR']);
  api = await startService(t.db, { auth: AUTH });
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: { errors?: { message: string; extensions: Record<string, unknown> }[]; data?: unknown };
}

/** Reads a response's JSON body. */
function answerOf(response: IncomingMessage): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on('data', (chunk: Buffer) => chunks.push(chunk));
    response.on('end', () => {
      try {
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'] });
      } catch (error) {
        reject(error);
      }
    });
    response.on('error', reject);
  });
}

/**
 * A POST whose headers (and the first bytes of its body) are sent, the rest never: resolves with the
 * answer the server gives without waiting for the body. `req` is left open for the caller to destroy.
 */
function partialPost(headers: Record<string, string>, firstBytes: string): { req: ClientRequest; answer: Promise<Answer> } {
  const url = new URL(`${api.url}/graphql`);
  const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
  const answer = new Promise<Answer>((resolve, reject) => {
    req.on('response', (response) => answerOf(response).then(resolve, reject));
    req.on('error', reject);
  });
  req.write(firstBytes);
  return { req, answer };
}

/** A GraphQL request of `bytes` bytes: a small query and a variable nobody reads, padded to size. */
function paddedBody(bytes: number): string {
  const head = JSON.stringify({ query: '{ portfolioRoots { name } }', variables: { padding: '' } });
  return head.replace('"padding":""', `"padding":"${'x'.repeat(bytes - head.length)}"`);
}

const post = (body: string, authorization?: string) =>
  fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(authorization ? { authorization: `Bearer ${authorization}` } : {}) }, body });

describe('before the body is read', () => {
  it('answers 401 to a request without a token at once, though it announces 30 MB and sends a few bytes', async () => {
    // Before the fix the body was read (up to 32 MB) before the token was looked at: this waited forever.
    const { req, answer } = partialPost({ 'content-length': String(30 * 1000 * 1000) }, '{"query":');
    const { status, body } = await answer;
    req.destroy();
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  }, 30_000);

  it('answers 401 to a bad token the same way', async () => {
    const { req, answer } = partialPost({ 'content-length': String(30 * 1000 * 1000), authorization: 'Bearer a.b.c' }, '{"query":');
    const { status, body } = await answer;
    req.destroy();
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  }, 30_000);

  it("answers 413 to a VIEWER's 2 MB body by its Content-Length, without reading it", async () => {
    const { req, answer } = partialPost({ 'content-length': String(2 * MiB), authorization: `Bearer ${viewer}` }, '{"query":');
    const { status, body } = await answer;
    req.destroy();
    expect(status).toBe(413);
    expect(body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'MAX_BODY_BYTES' });
  }, 30_000);

  it("answers 413 to a VIEWER's whole 2 MB body sent at once", async () => {
    const response = await post(paddedBody(2 * MiB), viewer);
    expect(response.status).toBe(413);
    expect(((await response.json()) as Answer['body']).errors?.[0]?.extensions.code).toBe('QUERY_TOO_COMPLEX');
  }, 30_000);

  it('invites the body (100 Continue) of an accepted request only: a refused one is answered without it', async () => {
    const url = new URL(`${api.url}/graphql`);
    /** A POST with Expect: 100-continue: whether the server invited the body, and its answer (the body is sent when invited). */
    const ask = (authorization: string | undefined, body: string) =>
      new Promise<{ invited: boolean; answer: Answer }>((resolve, reject) => {
        const headers = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), expect: '100-continue', ...(authorization ? { authorization } : {}) };
        const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers });
        let invited = false;
        req.on('continue', () => {
          invited = true;
          req.end(body);
        });
        req.on('response', (response) => answerOf(response).then((answer) => {
          req.destroy();
          resolve({ invited, answer });
        }, reject));
        req.on('error', reject);
        req.flushHeaders();
      });
    const body = paddedBody(3 * MiB);
    const anonymous = await ask(undefined, body);
    expect(anonymous).toMatchObject({ invited: false, answer: { status: 401 } });
    const viewerAsked = await ask(`Bearer ${viewer}`, body);
    expect(viewerAsked).toMatchObject({ invited: false, answer: { status: 413 } });
    const ingestorAsked = await ask(`Bearer ${ingestor}`, body);
    expect(ingestorAsked).toMatchObject({ invited: true, answer: { status: 200 } });
  }, 30_000);

  it('stops a chunked body at the limit, while the client is still sending', async () => {
    const url = new URL(`${api.url}/graphql`);
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${viewer}`, 'transfer-encoding': 'chunked' } });
    let sent = 0;
    const answered = new Promise<Answer>((resolve, reject) => {
      req.on('response', (response) => answerOf(response).then(resolve, reject));
      req.on('error', reject);
    });
    let done = false;
    void answered.finally(() => (done = true));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    req.write('{"query":"{ portfolioRoots { name } }","variables":{"padding":"');
    // Up to 64 MB (more than any limit): the answer must come long before.
    while (!done && sent < 64 * MiB) {
      const more = req.write(chunk);
      sent += chunk.length;
      if (!more) await Promise.race([once(req, 'drain'), answered]);
    }
    const { status, body } = await answered;
    req.destroy();
    expect(status).toBe(413);
    expect(body.errors?.[0]?.extensions.code).toBe('QUERY_TOO_COMPLEX');
    // What the client managed to write before the answer: the limit (1 MiB) plus what sockets buffer.
    expect(sent).toBeLessThan(16 * MiB);
  }, 60_000);
});

describe('large bodies', () => {
  it("serves an INGESTOR's 5 MB upload", async () => {
    const row = { nodeId: bookId, instrumentId, quantity: '100.5', baseCurrency: 'USD', marketValue: '1000.25', asOfDate: '2026-01-02', tradeDate: '2026-01-02' };
    const rows = Array.from({ length: Math.ceil((5 * MiB) / JSON.stringify(row).length) }, () => row);
    const query = 'mutation($input: PositionUploadInput!) { uploadPositions(input: $input) { status rowCount } }';
    const body = JSON.stringify({ query, variables: { input: { sourceSystem: 'body-test', mode: 'SKIP_INVALID', rows } } });
    expect(body.length).toBeGreaterThan(5 * MiB);
    // A VIEWER may not send it (413 before the role check could answer FORBIDDEN)...
    expect((await post(body, viewer)).status).toBe(413);
    // ... an INGESTOR may.
    const response = await post(body, ingestor);
    const answer = (await response.json()) as { data?: { uploadPositions: { status: string; rowCount: number } }; errors?: unknown[] };
    expect(response.status).toBe(200);
    expect(answer.errors).toBeUndefined();
    expect(answer.data?.uploadPositions.rowCount).toBe(rows.length);
  }, 120_000);

  it('reads at most MAX_CONCURRENT_LARGE_BODIES (2) large bodies at once; the next gets 503 with Retry-After, before its body is read', async () => {
    const size = 3 * MiB;
    // Two large bodies in progress: headers and a first byte sent, the rest held back.
    const holders = [0, 1].map(() => partialPost({ 'content-length': String(size), authorization: `Bearer ${ingestor}` }, '{'));
    // Both have been admitted once a request sent after them is answered (a connection is served in order of arrival).
    expect((await graphql(api.url, '{ portfolioRoots { name } }', {}, { authorization: `Bearer ${viewer}` })).status).toBe(200);
    const third = partialPost({ 'content-length': String(size), authorization: `Bearer ${ingestor}` }, '{');
    const refused = await third.answer;
    third.req.destroy();
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBeDefined();
    expect(refused.body.errors?.[0]?.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'MAX_CONCURRENT_LARGE_BODIES' });
    // Small bodies are not held up, an INGESTOR's neither.
    expect((await graphql(api.url, '{ portfolioRoots { name } }', {}, { authorization: `Bearer ${ingestor}` })).status).toBe(200);
    // The slots come back when the large bodies end (here their clients give up).
    for (const holder of holders) {
      holder.req.on('error', () => undefined);
      holder.answer.catch(() => undefined);
      holder.req.destroy();
    }
    let status = 0;
    for (let attempt = 0; attempt < 100 && status !== 200; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await post(paddedBody(size), ingestor)).status;
    }
    expect(status).toBe(200);
  }, 60_000);
});

describe('configuration', () => {
  it('reads MAX_BODY_BYTES, MAX_UPLOAD_BODY_BYTES and MAX_CONCURRENT_LARGE_BODIES, and refuses an upload limit below the body limit', () => {
    expect(bodyLimitsFrom({})).toEqual({ bodyLimitBytes: MiB, uploadBodyLimitBytes: 32 * MiB, maxConcurrentLargeBodies: 2 });
    expect(bodyLimitsFrom({ MAX_BODY_BYTES: '65536', MAX_UPLOAD_BODY_BYTES: '1048576', MAX_CONCURRENT_LARGE_BODIES: '8' })).toEqual({ bodyLimitBytes: 65536, uploadBodyLimitBytes: MiB, maxConcurrentLargeBodies: 8 });
    expect(() => bodyLimitsFrom({ MAX_BODY_BYTES: String(2 * MiB), MAX_UPLOAD_BODY_BYTES: String(MiB) })).toThrow(expect.objectContaining({ name: 'ConfigError', variable: 'MAX_UPLOAD_BODY_BYTES' }));
    expect(() => bodyLimitsFrom({ MAX_CONCURRENT_LARGE_BODIES: 'two' })).toThrow(expect.objectContaining({ variable: 'MAX_CONCURRENT_LARGE_BODIES' }));
  });
});
