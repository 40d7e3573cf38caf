// Persisted operations (PERSISTED_OPERATIONS):
//   off   no persisted queries: a request with extensions.persistedQuery gets PERSISTED_QUERY_NOT_SUPPORTED.
//   apq   Apollo's automatic persisted queries, as Apollo Client's persisted-query link sends them: a hash
//         alone is answered from a bounded in-memory cache or with PERSISTED_QUERY_NOT_FOUND, and the
//         client then sends hash and text, which registers the text (once it has passed validation and
//         the limits). Only saves bandwidth: any document is still accepted.
//   only  trusted documents: just the documents of PERSISTED_OPERATIONS_FILE (a JSON map from SHA-256 hex
//         to document, made by `npm run persisted:build`), sent by hash or as their exact text; anything
//         else is refused with PERSISTED_QUERY_NOT_ALLOWED before it is parsed, over HTTP and WebSocket.
//         The limits still apply to every request: cost is computed with its variables.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ApolloServerOptions } from '@apollo/server';
import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { getOperationAST, parse } from 'graphql';
import { refusalBody } from '../http/errorBody';

export type PersistedOperationsConfig =
  | { mode: 'off' }
  | { mode: 'apq' }
  | { mode: 'only'; file: string; documents: ReadonlyMap<string, string> };

export const PERSISTED_MODES = ['off', 'apq', 'only'] as const;

/** Memory for APQ documents (Apollo's LRU cache counts each entry's JSON length). */
export const APQ_CACHE_BYTES = 16 * 1024 * 1024;

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The documents of a manifest file by hash. Throws (with a message naming what is wrong) unless it is a
 * JSON object whose every key is the lower-case SHA-256 hex of its value, a parsable GraphQL document.
 */
export function readManifest(path: string): Map<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read the manifest ${path}: ${(error as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${path} must hold a JSON object mapping SHA-256 hex to a GraphQL document (npm run persisted:build makes one)`);
  }
  const documents = new Map<string, string>();
  for (const [hash, document] of Object.entries(json)) {
    if (!SHA256_HEX.test(hash)) throw new Error(`${path}: key "${hash.slice(0, 80)}" is not a lower-case SHA-256 hex digest`);
    if (typeof document !== 'string') throw new Error(`${path}: the value of ${hash} is not a string`);
    if (sha256Hex(document) !== hash) throw new Error(`${path}: ${hash} is not the SHA-256 of its document`);
    try {
      parse(document);
    } catch (error) {
      throw new Error(`${path}: the document of ${hash} does not parse: ${(error as Error).message}`);
    }
    documents.set(hash, document);
  }
  if (documents.size === 0) throw new Error(`${path} lists no operations`);
  return documents;
}

/** The names of a manifest's operations: a bounded list, so metrics may label them. */
export function trustedOperationNames(documents: ReadonlyMap<string, string>): string[] {
  return [...documents.values()].map((document) => getOperationAST(parse(document))?.name?.value).filter((name): name is string => name !== undefined);
}

/** Apollo Server's persistedQueries option: a bounded cache in apq mode, off otherwise (`only` resolves documents before Apollo). */
export function apolloPersistedQueries(config: PersistedOperationsConfig): ApolloServerOptions<object>['persistedQueries'] {
  return config.mode === 'apq' ? { cache: new InMemoryLRUCache<string>({ maxSize: APQ_CACHE_BYTES }), ttl: null } : false;
}

/** A refusal: its code, message, HTTP status and the offending input. */
export interface PersistedRefusal {
  code: 'PERSISTED_QUERY_NOT_ALLOWED' | 'BAD_REQUEST';
  message: string;
  field: string;
  status: number;
}

/** A request's GraphQL parameters, as far as persisted operations are concerned. */
export interface OperationParams {
  query?: unknown;
  extensions?: unknown;
}

interface PersistedQuery {
  version?: unknown;
  sha256Hash?: unknown;
}

const persistedQueryOf = (extensions: unknown): PersistedQuery | undefined =>
  typeof extensions === 'object' && extensions !== null ? ((extensions as { persistedQuery?: unknown }).persistedQuery as PersistedQuery | undefined) : undefined;

const notAllowed = (field: string, message: string): PersistedRefusal => ({ code: 'PERSISTED_QUERY_NOT_ALLOWED', message, field, status: 400 });

/**
 * What is wrong with a persistedQuery extension as Apollo checks it (version 1, a hash matching the text
 * sent beside it), or null. Apollo reports these without an error code, which our formatter would mask.
 */
export function persistedQueryProblem(params: OperationParams): PersistedRefusal | null {
  const persisted = persistedQueryOf(params.extensions);
  if (persisted === undefined || persisted === null) return null;
  if (persisted.version !== 1) {
    return { code: 'BAD_REQUEST', message: 'Unsupported persisted query version: expected 1', field: 'extensions.persistedQuery.version', status: 400 };
  }
  if (typeof persisted.sha256Hash !== 'string' || !SHA256_HEX.test(persisted.sha256Hash)) {
    return { code: 'BAD_REQUEST', message: 'persistedQuery.sha256Hash must be a lower-case SHA-256 hex digest', field: 'extensions.persistedQuery.sha256Hash', status: 400 };
  }
  if (typeof params.query === 'string' && params.query !== '' && sha256Hex(params.query) !== persisted.sha256Hash) {
    return { code: 'BAD_REQUEST', message: 'persistedQuery.sha256Hash is not the SHA-256 of the query sent with it', field: 'extensions.persistedQuery.sha256Hash', status: 400 };
  }
  return null;
}

/**
 * The trusted document of a request (`only` mode): the listed document of its hash, or its text when that
 * is listed; otherwise a refusal. The persistedQuery extension is consumed here (Apollo's own APQ is off).
 */
export function trustedDocument(documents: ReadonlyMap<string, string>, params: OperationParams): { query: string } | PersistedRefusal {
  const problem = persistedQueryProblem(params);
  if (problem) return problem;
  const hash = persistedQueryOf(params.extensions)?.sha256Hash;
  if (typeof hash === 'string') {
    const listed = documents.get(hash);
    if (listed === undefined) return notAllowed('extensions.persistedQuery.sha256Hash', 'This operation is not a trusted document of this service (PERSISTED_OPERATIONS=only)');
    return { query: listed };
  }
  if (typeof params.query !== 'string' || params.query === '') {
    return notAllowed('query', 'Send a trusted document: extensions.persistedQuery.sha256Hash, or the exact text of a listed operation');
  }
  if (!documents.has(sha256Hex(params.query))) {
    return notAllowed('query', 'Only trusted documents are served (PERSISTED_OPERATIONS=only): this text is not listed');
  }
  return { query: params.query };
}

/** A POST body with its trusted document as the query, and its extensions without persistedQuery. */
export function withTrustedQuery(body: Record<string, unknown>, query: string): Record<string, unknown> {
  const { extensions: given, ...rest } = body;
  const extensions = withoutPersistedQuery(given);
  return { ...rest, query, ...(extensions ? { extensions } : {}) };
}

function withoutPersistedQuery(extensions: unknown): Record<string, unknown> | undefined {
  if (typeof extensions !== 'object' || extensions === null) return undefined;
  const { persistedQuery: _, ...rest } = extensions as Record<string, unknown>;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

const refuse = (res: Response, refusal: PersistedRefusal) =>
  res.status(refusal.status).json(refusalBody(refusal));

/**
 * The HTTP side, after the body is parsed: in `only` mode, replaces the request's query by its trusted
 * document (POST body, or GET's query string, which is what Apollo reads) or refuses it; in `apq` mode,
 * refuses a malformed or mismatching persistedQuery extension with a code.
 */
export function persistedOperationsMiddleware(config: PersistedOperationsConfig): RequestHandler {
  if (config.mode === 'off') return (_req: Request, _res: Response, next: NextFunction) => next();
  return (req: Request, res: Response, next: NextFunction) => {
    const get = req.method === 'GET' || req.method === 'HEAD';
    const url = get ? new URL(req.url, 'http://localhost') : null;
    let params: OperationParams;
    if (url) {
      const extensions = url.searchParams.get('extensions');
      let parsed: unknown;
      try {
        parsed = extensions === null ? undefined : JSON.parse(extensions);
      } catch {
        parsed = undefined; // Apollo answers malformed extensions itself
      }
      params = { query: url.searchParams.get('query') ?? undefined, extensions: parsed };
    } else {
      params = typeof req.body === 'object' && req.body !== null && !Array.isArray(req.body) ? (req.body as OperationParams) : {};
    }
    if (config.mode === 'apq') {
      const problem = persistedQueryProblem(params);
      if (problem) return refuse(res, problem);
      return next();
    }
    // Nothing to resolve in a request Apollo refuses anyway (no body, a GET without parameters).
    if (!url && (typeof req.body !== 'object' || req.body === null)) return next();
    if (url && url.search === '') return next();
    const trusted = trustedDocument(config.documents, params);
    if ('code' in trusted) return refuse(res, trusted);
    const extensions = withoutPersistedQuery(params.extensions);
    if (url) {
      url.searchParams.set('query', trusted.query);
      if (extensions) url.searchParams.set('extensions', JSON.stringify(extensions));
      else url.searchParams.delete('extensions');
      req.url = `${url.pathname}${url.search}`;
    } else {
      req.body = withTrustedQuery(req.body as Record<string, unknown>, trusted.query);
    }
    next();
  };
}
