// The common GraphQL request - POST /graphql with a JSON body of known, small
// length - served on Node's own request and response, without Express: no
// router walk, no body-parser, no content negotiation. Everything else (GET,
// the IDE, CORS, uploads and other large or chunked or compressed bodies,
// Expect: 100-continue, probes and metrics) goes to
// the Express app as before (src/server.ts). Measured with `{ __typename }`
// at one connection, Express's part of a request was about a fifth of its CPU
// (bench/profile-tree.ts, QUERY=typename).
//
// The answers are the Express path's, byte for byte where the client can tell:
// the same request id header, the same refusals (401 before the body is read,
// 400 for a malformed body or an oversized query text, the persisted-query
// checks of APQ mode, trusted documents only in `only` mode) with the same
// GraphQL-shaped bodies, and Apollo's own
// response (status, headers, body) as @as-integrations/express5 writes it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { Caller } from '../auth/caller';
import { DomainError } from '../errors';
import { persistedQueryProblem, trustedDocument, withTrustedQuery, type OperationParams, type PersistedRefusal } from '../graphql/persisted';
import { queryTextProblem, type QueryLimits } from '../graphql/limits';
import { errorBody, refusalBody } from './errorBody';

export interface FastGraphqlOptions<C extends object> {
  apollo: ApolloServer<C>;
  /** Largest body this path reads (MAX_BODY_BYTES); larger ones go to Express, whose gate knows the caller's limit. */
  bodyBytes: number;
  limits: QueryLimits;
  /** Persisted operations: `apq` checks the extension; `only` replaces the query by its trusted document (or refuses). */
  persisted: { mode: 'off' } | { mode: 'apq' } | { mode: 'only'; documents: ReadonlyMap<string, string> };
  /** Requests with an Origin header go to Express when CORS is configured (it answers them). */
  cors: boolean;
  authenticate(authorization: string | undefined): Promise<Caller>;
  /** The request id (the client's X-Request-Id when well-formed, else a new one). */
  requestId(header: string | undefined): string;
  context(caller: Caller, requestId: string): Promise<C>;
  /** Wraps the request's handling (the statement-count scope; metrics' timing). */
  around(req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>): void;
}

const JSON_TYPE = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** Whether the fast path serves this request (else Express does). Reads headers only. */
export function servesFast(req: IncomingMessage, options: { bodyBytes: number; cors: boolean }): boolean {
  if (req.method !== 'POST' || req.url !== '/graphql') return false;
  const h = req.headers;
  if (h.expect !== undefined || h['transfer-encoding'] !== undefined) return false;
  if (h['content-encoding'] !== undefined && h['content-encoding'].toLowerCase() !== 'identity') return false;
  if (options.cors && h.origin !== undefined) return false;
  const type = h['content-type'];
  if (type === undefined || !JSON_TYPE.test(type)) return false;
  const length = h['content-length'];
  if (length === undefined || !/^\d+$/.test(length)) return false;
  const n = Number(length);
  return n > 0 && n <= options.bodyBytes;
}

function sendJson(res: ServerResponse, status: number, value: unknown, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const body = JSON.stringify(value);
  res.statusCode = status;
  for (const [k, v] of Object.entries(extraHeaders)) res.setHeader(k, v);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}


function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** The handler of a request servesFast accepted. */
export function fastGraphql<C extends object>(options: FastGraphqlOptions<C>) {
  const { apollo, limits } = options;
  return (req: IncomingMessage, res: ServerResponse): void => {
    const requestId = options.requestId(req.headers['x-request-id'] as string | undefined);
    res.setHeader('x-request-id', requestId);
    options.around(req, res, async () => {
      let caller: Caller;
      try {
        caller = await options.authenticate(req.headers.authorization);
      } catch (error) {
        // As bodyGate: before the body is read; the length is announced and small, so Node discards the rest.
        req.resume();
        return sendJson(res, 401, errorBody(error instanceof DomainError ? error.message : 'Authentication failed', 'UNAUTHENTICATED'));
      }
      let body: unknown;
      try {
        const text = await readBody(req);
        // As express.json (strict): an object or an array.
        const first = text.trimStart()[0];
        if (first !== '{' && first !== '[') throw new SyntaxError('not an object');
        body = JSON.parse(text);
      } catch {
        return sendJson(res, 400, errorBody('Malformed request body: expected JSON', 'BAD_REQUEST'));
      }
      const params = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as OperationParams) : {};
      const refuse = (p: PersistedRefusal) => sendJson(res, p.status, refusalBody(p));
      const { persisted } = options;
      if (persisted.mode === 'apq') {
        const problem = persistedQueryProblem(params);
        if (problem) return refuse(problem);
      } else if (persisted.mode === 'only') {
        // As persistedOperationsMiddleware: the trusted document replaces the query, or the request is refused.
        const trusted = trustedDocument(persisted.documents, params);
        if ('code' in trusted) return refuse(trusted);
        body = withTrustedQuery(body as Record<string, unknown>, trusted.query);
      }
      const query: unknown = (body as OperationParams).query;
      const problem = typeof query === 'string' ? queryTextProblem(query, limits) : null;
      if (problem) return sendJson(res, 400, errorBody(problem, 'QUERY_TOO_COMPLEX'));
      const headers = new HeaderMap();
      for (const [key, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
      }
      const response = await apollo.executeHTTPGraphQLRequest({
        httpGraphQLRequest: { method: 'POST', headers, search: '', body },
        context: () => options.context(caller, requestId),
      });
      for (const [key, value] of response.headers) res.setHeader(key, value);
      res.statusCode = response.status || 200;
      if (response.body.kind === 'complete') {
        // Encoded once: Buffer.byteLength and then end(string) each walked the body (a tree of positions' 94 KB twice).
        const bytes = Buffer.from(response.body.string, 'utf8');
        res.setHeader('content-length', bytes.length);
        res.end(bytes);
        return;
      }
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    });
  };
}
