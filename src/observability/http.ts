// HTTP side of the metrics: every request's duration (one histogram
// observation when its response ends), and GET /metrics itself, outside the
// GraphQL authentication: Prometheus sends METRICS_TOKEN as a bearer token when
// one is set (a scrape config's `authorization` / `bearer_token_file`).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { ServiceMetrics } from './metrics';

/** Paths with a route label of their own; anything else (probes, typos, scanners) is "other". */
const ROUTES = new Set(['/graphql', '/metrics', '/livez', '/readyz']);
const METHODS = new Set(['GET', 'POST', 'OPTIONS', 'HEAD']);

const routeOf = (path: string) => {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return ROUTES.has(trimmed) ? trimmed : 'other';
};

export function httpMetrics(metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    observeHttp(metrics, req.method, req.path, res);
    next();
  };
}

/** Times a request from now until its response closes (httpMetrics; the fast GraphQL path calls it itself). */
export function observeHttp(metrics: ServiceMetrics, requestMethod: string | undefined, path: string, res: ServerResponse): void {
  const started = performance.now();
  const route = routeOf(path);
  const method = requestMethod && METHODS.has(requestMethod) ? requestMethod : 'other';
  // 'close' comes after 'finish', and also when the client leaves before the response ends ("aborted").
  res.once('close', () => {
    const status = res.writableFinished ? String(res.statusCode) : 'aborted';
    metrics.httpDuration.observe({ method, route, status_code: status }, (performance.now() - started) / 1000);
  });
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The bearer token of an Authorization header (any token syntax), or null. */
function bearer(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match ? (match[1] as string) : null;
}

/** GET /metrics: the Prometheus text exposition; 401 without the token when one is set. */
export function metricsEndpoint(metrics: ServiceMetrics, token: string | undefined): RequestHandler {
  // Compared as digests: equal lengths for timingSafeEqual, and no timing signal about the token's length.
  const expected = token ? digest(token) : null;
  return async (req, res, next) => {
    if (expected) {
      const given = bearer(req.headers.authorization);
      if (given === null || !timingSafeEqual(digest(given), expected)) {
        res.status(401).set('www-authenticate', 'Bearer realm="metrics"').type('text/plain').send('Send METRICS_TOKEN as "Authorization: Bearer <token>"\n');
        return;
      }
    }
    try {
      const { contentType, body } = await metrics.exposition();
      res.set('content-type', contentType).set('cache-control', 'no-store').send(body);
    } catch (error) {
      next(error);
    }
  };
}
