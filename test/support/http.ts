// A real service on a free port, and a small GraphQL-over-HTTP client for it.
import type { AuthConfig, Config } from '../../src/config';
import { silentLogger } from '../../src/logger';
import { createServer, type Service } from '../../src/server';
import type { Database } from '../../src/db/database';
import type { LiveEvents } from '../../src/live/events';
import { productionMode } from './testDatabase';

const hasAuthorization = (headers: Record<string, string>) => Object.keys(headers).some((k) => k.toLowerCase() === 'authorization');

export interface RunningService {
  service: Service;
  url: string;
  stop(): Promise<void>;
}

/** The secret of the services `npm run test:production` starts without an auth setting of their own. */
const PRODUCTION_TEST_SECRET = 'production-mode-test-secret-of-at-least-32-bytes';
/** Authorization headers sent by graphql() to a service, unless the call sends its own. */
const defaultHeaders = new Map<string, Record<string, string>>();

/** A token of a caller with every role and fund, like the open mode's local user. */
async function productionToken(): Promise<string> {
  const jose = await import('jose');
  return new jose.SignJWT({ roles: ['ADMIN'], funds: ['*'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('local')
    .setExpirationTime('2h').sign(new TextEncoder().encode(PRODUCTION_TEST_SECRET));
}

/** The headers graphql() adds for a service (its sign-in under test:production), for requests sent by hand. */
export const serviceHeaders = (baseUrl: string): Record<string, string> => ({ ...defaultHeaders.get(baseUrl) });

export async function startService(
  db: Database,
  config: { production?: boolean; graphqlIntrospection?: boolean; graphqlIde?: boolean; auth?: AuthConfig; live?: LiveEvents } &
    Partial<Pick<Config, 'limits' | 'corsOrigins' | 'bodyLimitBytes' | 'analyticsCacheBytes' | 'websocket'>> &
    Partial<Pick<Config, 'uploadBodyLimitBytes' | 'maxConcurrentLargeBodies' | 'persistedOperations' | 'metrics' | 'graphqlCompileOnRequest'>> = {},
): Promise<RunningService> {
  // In production mode (npm run test:production) a service that a test starts in open mode runs with
  // JWT authentication instead, as production requires, and graphql() signs its requests in.
  const production = config.production ?? productionMode;
  const signIn = productionMode && config.auth === undefined;
  const auth: AuthConfig = config.auth ?? (signIn ? { mode: 'jwt', secret: PRODUCTION_TEST_SECRET, clockToleranceSec: 0 } : { mode: 'off' });
  const service = await createServer({
    config: {
      production, graphqlIntrospection: config.graphqlIntrospection ?? true, graphqlIde: config.graphqlIde ?? true, auth, limits: config.limits,
      corsOrigins: config.corsOrigins, bodyLimitBytes: config.bodyLimitBytes, analyticsCacheBytes: config.analyticsCacheBytes, websocket: config.websocket,
      uploadBodyLimitBytes: config.uploadBodyLimitBytes, maxConcurrentLargeBodies: config.maxConcurrentLargeBodies, persistedOperations: config.persistedOperations,
      metrics: config.metrics,
      // The API tests run every operation as a compiled plan (graphql-jit) from its first request;
      // the production-mode suite as deployed (graphql-js first, compiled when asked again).
      graphqlCompileOnRequest: config.graphqlCompileOnRequest ?? (productionMode ? undefined : 1),
    },
    db,
    logger: silentLogger,
    live: config.live,
  });
  const port = await service.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${port}`;
  if (signIn) defaultHeaders.set(url, { authorization: `Bearer ${await productionToken()}` });
  return {
    service,
    url,
    stop: () => {
      defaultHeaders.delete(url);
      return service.stop();
    },
  };
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  headers: Headers;
}

export async function graphql<T = Record<string, any>>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<GraphQLResponse<T>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(hasAuthorization(headers) ? {} : defaultHeaders.get(baseUrl)), ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: GraphQLResponse['errors'] };
  return { status: response.status, data: body.data ?? undefined, errors: body.errors, headers: response.headers };
}
