// Request bodies of POST /graphql, read only once the caller is known.
//
// The bearer token is verified before a byte of the body is read, so a caller
// without a valid token costs no memory (401 at once). A body is then read up to
// the caller's limit: MAX_BODY_BYTES for everyone, MAX_UPLOAD_BODY_BYTES for a
// caller who may upload (INGESTOR, ADMIN, or open mode's local user). A body
// larger than MAX_BODY_BYTES is a "large body": at most
// MAX_CONCURRENT_LARGE_BODIES of them are read and served at once in a process
// (a slot is held until the response is finished); one more gets 503 with
// Retry-After. Refusals come before buffering: by Content-Length when there is
// one, else (chunked) by counting bytes as they arrive, stopping at the limit.
// The rest of a refused body is never buffered: when its announced length is
// at most MAX_UPLOAD_BODY_BYTES, Node reads and discards it (so the client,
// still sending, surely gets the answer, and the connection stays usable);
// a longer or endless one has its connection closed after the answer (a
// client still sending may then see the connection reset). Parsing itself is express.json (body-parser): content
// types, charsets and Content-Encoding as before; its limit applies to the
// decoded body. A client that asks before sending (Expect: 100-continue, as
// curl does for bodies over 1 MB) is invited only once the request is
// accepted: a refused one never sends its body (see deferContinue).
import type { Server } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import { hasRole, type Caller } from '../auth/caller';
import { DomainError } from '../errors';
import { errorBody } from './errorBody';

export interface BodyLimits {
  /** Largest body of any caller, in bytes (MAX_BODY_BYTES). */
  bodyBytes: number;
  /** Largest body of a caller who may upload, in bytes (MAX_UPLOAD_BODY_BYTES). */
  uploadBodyBytes: number;
  /** Bodies over bodyBytes read or served at once in this process (MAX_CONCURRENT_LARGE_BODIES). */
  maxConcurrentLargeBodies: number;
}

/** Seconds a client refused for too many large bodies is asked to wait. */
const RETRY_AFTER_SECONDS = 2;

/** Uploads (uploadPositions, ingestMarketData) need INGESTOR; open mode's local user has every role. */
export const mayUpload = (caller: Caller): boolean => !caller.authenticated || hasRole(caller, 'INGESTOR');

/**
 * Node answers `Expect: 100-continue` with 100 Continue as soon as the headers arrive, before anything has
 * looked at them. With this, the request goes to the app as any other and bodyGate sends 100 Continue once
 * it accepts the request (a route that never reads a body never invites one).
 */
export function deferContinue(server: Server): void {
  server.on('checkContinue', (req, res) => server.emit('request', req, res));
}

const expectsContinue = (req: Request): boolean => /^100-continue$/i.test(req.headers.expect ?? '');

/** The verified caller of a request that went through bodyGate (the context reads it instead of verifying again). */
export const requestCaller = (res: Response): Caller | undefined => res.locals.caller as Caller | undefined;

/**
 * Answers with a GraphQL-shaped error before the body is read. Node then reads and discards what of the
 * body is still on its way, or, with `close`, closes the connection after the answer.
 */
function refuse(res: Response, status: number, code: string, message: string, extensions: Record<string, unknown> = {}, close = true): void {
  if (res.headersSent) return;
  if (close) res.setHeader('connection', 'close');
  res.status(status).json(errorBody(message, code, extensions));
}

const declaredLength = (req: Request): number | null => {
  const header = req.headers['content-length'];
  return header === undefined ? null : Number(header);
};

/** True when the request carries a body without announcing its length (Transfer-Encoding: chunked). */
const streamed = (req: Request): boolean => req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined;

const tooLarge = (res: Response, limit: number, setting: string, close: boolean) =>
  refuse(res, 413, 'QUERY_TOO_COMPLEX', `Request body too large: at most ${limit} bytes for this caller (${setting})`, { limit: setting }, close);

/**
 * Authenticates, then reads the JSON body within the caller's limits. `authenticate` throws a DomainError
 * (UNAUTHENTICATED) for a missing or bad token; the verified caller is kept for the GraphQL context.
 */
export function bodyGate(options: { limits: BodyLimits; authenticate(authorization: string | undefined): Promise<Caller> }): RequestHandler {
  const { limits } = options;
  const uploadBytes = Math.max(limits.uploadBodyBytes, limits.bodyBytes);
  const small = express.json({ limit: limits.bodyBytes });
  const large = express.json({ limit: uploadBytes });
  let largeBodies = 0;

  /** Takes a large-body slot for this request, released when its response is finished or its connection lost. */
  const takeSlot = (res: Response): boolean => {
    if (largeBodies >= limits.maxConcurrentLargeBodies) return false;
    largeBodies++;
    res.once('close', () => largeBodies--);
    return true;
  };

  return async (req: Request, res: Response, next: NextFunction) => {
    const length = declaredLength(req);
    // A refused body is discarded by Node when it is announced no longer than an upload may be, else cut off
    // (and always when the client waits to be invited: it will not send it).
    const close = length === null || length > uploadBytes || expectsContinue(req);
    let caller: Caller;
    try {
      caller = await options.authenticate(req.headers.authorization);
    } catch (error) {
      refuse(res, 401, 'UNAUTHENTICATED', error instanceof DomainError ? error.message : 'Authentication failed', {}, close);
      return;
    }
    res.locals.caller = caller;
    const limit = mayUpload(caller) ? uploadBytes : limits.bodyBytes;
    const setting = limit > limits.bodyBytes ? 'MAX_UPLOAD_BODY_BYTES' : 'MAX_BODY_BYTES';
    if (length !== null && length > limit) return tooLarge(res, limit, setting, close);
    // A body of unknown length (chunked) or of unknown decoded size (compressed) may be large.
    const encoded = (req.headers['content-encoding'] ?? 'identity').toLowerCase() !== 'identity';
    const maybeLarge = limit > limits.bodyBytes && (length === null ? streamed(req) : length > limits.bodyBytes || encoded);
    if (maybeLarge && !takeSlot(res)) {
      res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
      const message = `Too many large request bodies at once: this instance reads ${limits.maxConcurrentLargeBodies} at a time (MAX_CONCURRENT_LARGE_BODIES); retry later`;
      // A size limit (QUERY_TOO_COMPLEX, as WS_MAX_SUBSCRIPTIONS), but a passing one: 503 tells a client to retry.
      return refuse(res, 503, 'QUERY_TOO_COMPLEX', message, { limit: 'MAX_CONCURRENT_LARGE_BODIES' }, close);
    }
    if (length === null && streamed(req)) {
      // Counted as it arrives, beside the parser's own count: the answer goes out at the limit, not after
      // the client has sent the rest. Attached in the same tick as the parser's listener (see below), so
      // neither misses a chunk.
      let seen = 0;
      const count = (chunk: Buffer) => {
        seen += chunk.length;
        if (seen > limit) {
          req.off('data', count);
          tooLarge(res, limit, setting, true);
        }
      };
      req.on('data', count);
    }
    if (expectsContinue(req)) res.writeContinue();
    // express.json attaches its reader synchronously, before the stream starts flowing.
    (limit > limits.bodyBytes ? large : small)(req, res, next);
  };
}
