// A real service on a free port, and a small GraphQL-over-HTTP client for it.
import type { AuthConfig, Config } from '../../src/config';
import { silentLogger } from '../../src/logger';
import { createServer, type Service } from '../../src/server';
import type { Database } from '../../src/db/database';

export interface RunningService {
  service: Service;
  url: string;
  stop(): Promise<void>;
}

export async function startService(
  db: Database,
  config: { production?: boolean; graphqlIntrospection?: boolean; graphqlIde?: boolean; auth?: AuthConfig } & Partial<Pick<Config, 'limits' | 'corsOrigins' | 'bodyLimitBytes' | 'analyticsCacheBytes'>> = {},
): Promise<RunningService> {
  const service = await createServer({
    config: { production: config.production ?? false, graphqlIntrospection: config.graphqlIntrospection ?? true, graphqlIde: config.graphqlIde ?? true, auth: config.auth ?? { mode: 'off' }, limits: config.limits, corsOrigins: config.corsOrigins, bodyLimitBytes: config.bodyLimitBytes, analyticsCacheBytes: config.analyticsCacheBytes },
    db,
    logger: silentLogger,
  });
  const port = await service.listen(0, '127.0.0.1');
  return { service, url: `http://127.0.0.1:${port}`, stop: () => service.stop() };
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
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: GraphQLResponse['errors'] };
  return { status: response.status, data: body.data ?? undefined, errors: body.errors, headers: response.headers };
}
