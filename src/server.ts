// createServer(): the HTTP service: GraphQL at /graphql (subscriptions over
// WebSocket on the same path), health at /livez and /readyz. No globals:
// everything comes in through the arguments, so tests start as many servers
// as they like.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { compiledExecutor } from './graphql/executor';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import { makeExecutableSchema } from '@graphql-tools/schema';
import cors from 'cors';
import express from 'express';
import { GraphQLError } from 'graphql';
import { OPEN_CALLER, type Caller } from './auth/caller';
import { bearerToken, createVerifier } from './auth/jwt';
import { DEFAULT_ANALYTICS_CACHE_BYTES, DEFAULT_BODY_LIMITS, DEFAULT_WEBSOCKET, type Config } from './config';
import { bodyGate, deferContinue, requestCaller } from './http/body';
import { apolloPersistedQueries, persistedOperationsMiddleware, trustedDocument, trustedOperationNames } from './graphql/persisted';
import { DomainError } from './errors';
import { createContext, type Context } from './context';
import { AnalyticsCache } from './services/analytics/cache';
import type { Database } from './db/database';
import type { ReplicaSet } from './db/replicas';
import { PrimaryWal } from './db/wal';
import { runInStatementScope } from './db/statementScope';
import { createErrorFormatter } from './graphql/formatError';
import { armor, costLimitPlugin, DEFAULT_LIMITS, noSubscriptionsOverHttp, queryTextProblem } from './graphql/limits';
import { graphqlIde } from './graphql/ide';
import { readRoutingPlugin, replicaMetrics } from './graphql/readRouting';
import { requestLoggingPlugin } from './graphql/requestLogging';
import { resolvers } from './graphql/resolvers';
import { createWebSocketTransport } from './graphql/websocket';
import type { LiveEvents } from './live/events';
import { LiveHub } from './live/hub';
import type { Logger } from './logger';
import { metricsPlugin, webSocketObserver } from './observability/graphql';
import { httpMetrics, metricsEndpoint, observeHttp } from './observability/http';
import './http/apolloHash';
import { fastGraphql, servesFast } from './http/fastGraphql';
import { ServiceMetrics } from './observability/metrics';
import { errorBody } from './http/errorBody';

export const SCHEMA_PATH = join(__dirname, '../schema.graphql');

export interface ServiceOptions {
  config: Pick<Config, 'production' | 'graphqlIntrospection' | 'graphqlIde' | 'auth'> &
    Partial<Pick<Config, 'limits' | 'corsOrigins' | 'bodyLimitBytes' | 'analyticsCacheBytes' | 'logStatementCounts' | 'websocket'>> &
    Partial<Pick<Config, 'uploadBodyLimitBytes' | 'maxConcurrentLargeBodies' | 'persistedOperations'>> &
    Partial<Pick<Config, 'metrics' | 'graphqlCompileOnRequest'>>;
  db: Database;
  logger: Logger;
  /**
   * Committed writes of the database, for subscriptions (src/live/listener.ts). Owned by the caller
   * (closed after stop()); without it, subscriptions are refused with a clear error.
   */
  live?: LiveEvents;
  /**
   * Read replicas (src/db/replicas.ts): queries go to them, mutations and subscriptions to `db`. Owned by
   * the caller (closed after stop()).
   */
  replicas?: ReplicaSet | null;
}

export interface Service {
  app: express.Express;
  httpServer: Server;
  /** Starts listening; resolves with the bound port (0 picks a free one). */
  listen(port: number, host?: string): Promise<number>;
  /**
   * Stops accepting, closes WebSockets (1001) and lets in-flight operations finish (even those whose
   * client left), then stops Apollo. Does not close the database nor the LiveEvents.
   */
  stop(): Promise<void>;
  /** The subscriptions' streams (null without LiveEvents). */
  live: LiveHub | null;
  /** This server's metrics (GET /metrics), for more databases (registerDatabase) and replica figures; null with METRICS_ENABLED=false. */
  metrics: ServiceMetrics | null;
  /** The read replicas in use (null without): status() per replica. */
  replicas: ReplicaSet | null;
  /** Plans compiled so far, documents graphql-jit refused (run by graphql-js), plans kept now (src/graphql/executor.ts). */
  compiledPlans(): { compiled: number; refused: number; kept: number };
}

/**
 * Counts operations from start to response. Apollo's drain waits for requests on open
 * sockets only: an operation whose client hung up keeps running (an upload still commits
 * or fails its batch) and must finish before the database is closed under it.
 */
function inFlightOperations() {
  let count = 0;
  let idle: (() => void) | null = null;
  const plugin: ApolloServerPlugin<Context> = {
    async requestDidStart() {
      count++;
      return {
        async willSendResponse() {
          if (--count === 0) idle?.();
        },
      };
    },
  };
  const settled = () => (count === 0 ? Promise.resolve() : new Promise<void>((resolve) => (idle = resolve)));
  return { plugin, settled };
}

/** The client's X-Request-Id when well-formed, else a new one. */
function requestIdOf(header: string | undefined): string {
  return header && /^[\w.-]{1,100}$/.test(header) ? header : randomUUID();
}

export async function createServer({ config, db, logger, live: events, replicas = null }: ServiceOptions): Promise<Service> {
  const app = express();
  // POST /graphql with a small JSON body skips Express (src/http/fastGraphql.ts), once Apollo has started.
  let fast: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  let fastWhen = { bodyBytes: 0, cors: false };
  const httpServer = createHttpServer((req, res) => {
    if (fast && servesFast(req, fastWhen)) fast(req, res);
    else app(req, res);
  });
  // 100 Continue only once the token and the body's size are accepted (src/http/body.ts).
  deferContinue(httpServer);
  // Idle keep-alive connections live longer than a client's or load balancer's (60 s is common):
  // a server that closes first races the client's next request into ECONNRESET.
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  let draining = false;
  const operations = inFlightOperations();
  const verify = config.auth.mode === 'jwt' ? await createVerifier(config.auth) : null;
  const analytics = new AnalyticsCache(config.analyticsCacheBytes ?? DEFAULT_ANALYTICS_CACHE_BYTES);
  // Counting each request's statements follows every promise of the request (AsyncLocalStorage):
  // about 8 % of throughput on Node 20, so only when asked for (LOG_STATEMENT_COUNTS).
  const countStatements = config.logStatementCounts ?? true;
  const metrics = ServiceMetrics.of(config.metrics);
  metrics?.observeAnalyticsCache(() => analytics.stats());
  const forgetPrimary = metrics?.registerDatabase('primary', db);
  const forgetReplicas = metrics && replicas ? replicaMetrics(replicas, metrics) : undefined;

  /** The caller of an `Authorization` value (HTTP header, or a WebSocket's connection_init); DomainError UNAUTHENTICATED when refused. */
  async function callerOf(authorization: string | undefined): Promise<Caller> {
    if (!verify) return OPEN_CALLER;
    const token = bearerToken(authorization);
    if (!token) throw new DomainError('UNAUTHENTICATED', 'Authentication required: send Authorization: Bearer <JWT>');
    return verify(token);
  }

  /** The caller of a request; UNAUTHENTICATED (HTTP 401) when a token is needed and missing or bad. */
  async function authenticate(header: string | undefined): Promise<Caller> {
    try {
      return await callerOf(header);
    } catch (error) {
      const message = error instanceof DomainError ? error.message : 'Authentication failed';
      throw new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
    }
  }

  const limits = config.limits ?? DEFAULT_LIMITS;
  const persisted = config.persistedOperations ?? { mode: 'apq' };
  // Trusted operations keep their names as metrics labels (a bounded list).
  if (persisted.mode === 'only') metrics?.operationNames.trust(trustedOperationNames(persisted.documents));
  const protection = armor(limits, config.production);
  // One executable schema for both paths: HTTP (Apollo) and WebSocket (graphql-ws).
  const schema = makeExecutableSchema<Context>({ typeDefs: readFileSync(SCHEMA_PATH, 'utf8'), resolvers: resolvers as Record<string, object> });
  const hub = events ? new LiveHub(events, db, analytics, logger) : null;
  const webSocket = createWebSocketTransport({
    httpServer,
    schema,
    settings: config.websocket ?? DEFAULT_WEBSOCKET,
    limits,
    production: config.production,
    validationRules: protection.validationRules,
    authenticate: callerOf,
    trustedDocument: persisted.mode === 'only' ? (payload) => trustedDocument(persisted.documents, payload) : undefined,
    context: (caller, requestId) => createContext(db, caller, requestId, logger.child({ requestId, caller: caller.subject }), analytics, hub),
    logger,
    isDraining: () => draining,
    observer: metrics ? webSocketObserver(metrics) : undefined,
  });
  metrics?.observeWebSocketConnections(() => webSocket.wsServer.clients.size);
  // Documents asked again run as compiled plans (graphql-jit), the first request by graphql-js.
  const executor = compiledExecutor(schema, { compileOnRequest: config.graphqlCompileOnRequest });
  const apollo = new ApolloServer<Context>({
    gateway: executor.gateway,
    introspection: config.graphqlIntrospection,
    formatError: createErrorFormatter({ production: config.production }),
    includeStacktraceInErrorResponses: !config.production,
    allowBatchedHttpRequests: false,
    // main.ts owns SIGTERM/SIGINT (drain, close the pool, exit 0). Apollo's own handlers would race it:
    // a second stop() waits on a barrier Apollo only releases on failure, so the drain never ends.
    stopOnTerminationSignals: false,
    persistedQueries: apolloPersistedQueries(persisted),
    validationRules: [...protection.validationRules, noSubscriptionsOverHttp],
    plugins: [
      ...protection.plugins,
      costLimitPlugin(limits),
      // WebSockets and HTTP drain together: both drainServer hooks start at once on stop().
      webSocket.plugin,
      ApolloServerPluginDrainHttpServer({ httpServer }),
      operations.plugin,
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      // Queries to a replica once their type is known; mutations' consistency tokens.
      readRoutingPlugin({ replicas, wal: db.kind === 'postgres' ? new PrimaryWal(db.sql) : null, logger }),
      requestLoggingPlugin(),
      ...(metrics ? [metricsPlugin(metrics)] : []),
    ],
  });
  await apollo.start();

  app.disable('x-powered-by');
  // No ETag: GraphQL answers are POSTed and never revalidated, and hashing every response body
  // cost about 2 % of the CPU of a tree read.
  app.set('etag', false);
  if (metrics) app.use(httpMetrics(metrics));
  app.use((req, res, next) => {
    const requestId = requestIdOf(req.header('x-request-id'));
    res.setHeader('x-request-id', requestId);
    res.locals.requestId = requestId;
    if (countStatements) runInStatementScope(() => next());
    else next();
  });

  app.get('/livez', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const database = await db.ping();
    const ready = database && !draining;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', database: database ? 'up' : 'down', draining });
  });

  // Prometheus' scrapes: outside the GraphQL authentication, behind METRICS_TOKEN when set.
  if (metrics) app.get('/metrics', metricsEndpoint(metrics, config.metrics?.token));

  // GET /graphql from a browser (Accept: text/html) opens the IDE; GraphQL GETs fall through.
  // CORS first: the IDE's router would otherwise answer preflight OPTIONS requests itself.
  if (config.corsOrigins?.length) app.use('/graphql', cors({ origin: config.corsOrigins, maxAge: 600 }));

  // In open mode (AUTH_MODE=off) the IDE says so on every page.
  if (config.graphqlIde) app.use(graphqlIde({ openMode: config.auth.mode === 'off' }));

  app.use(
    '/graphql',
    // The token is verified before the body is read, and the body read within the caller's limits.
    bodyGate({
      authenticate: callerOf,
      limits: {
        bodyBytes: config.bodyLimitBytes ?? DEFAULT_BODY_LIMITS.bodyLimitBytes,
        uploadBodyBytes: config.uploadBodyLimitBytes ?? DEFAULT_BODY_LIMITS.uploadBodyLimitBytes,
        maxConcurrentLargeBodies: config.maxConcurrentLargeBodies ?? DEFAULT_BODY_LIMITS.maxConcurrentLargeBodies,
      },
    }),
    persistedOperationsMiddleware(persisted),
    (req: express.Request, res: express.Response, next: express.NextFunction) => {
      // Refuse an oversized query text before anything parses it.
      const query: unknown = req.body?.query ?? req.query?.query;
      const problem = typeof query === 'string' ? queryTextProblem(query, limits) : null;
      if (problem) {
        res.status(400).json(errorBody(problem, 'QUERY_TOO_COMPLEX'));
        return;
      }
      next();
    },
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = res.locals.requestId as string;
        // bodyGate verified the token already; only a request that bypassed it is authenticated here.
        const caller = requestCaller(res) ?? (await authenticate(req.headers.authorization));
        return createContext(db, caller, requestId, logger.child({ requestId, caller: caller.subject }), analytics, hub);
      },
    }),
  );

  const bodyBytes = config.bodyLimitBytes ?? DEFAULT_BODY_LIMITS.bodyLimitBytes;
  {
    fastWhen = { bodyBytes, cors: Boolean(config.corsOrigins?.length) };
    fast = fastGraphql<Context>({
      apollo,
      bodyBytes,
      limits,
      persisted,
      cors: fastWhen.cors,
      authenticate: callerOf,
      requestId: requestIdOf,
      context: async (caller, requestId) => createContext(db, caller, requestId, logger.child({ requestId, caller: caller.subject }), analytics, hub),
      around: (_req, res, handle) => {
        if (metrics) observeHttp(metrics, 'POST', '/graphql', res);
        const run = () => {
          handle().catch((error: unknown) => {
            logger.error({ err: error }, 'request failed outside GraphQL');
            if (res.headersSent) res.destroy();
            else {
              res.statusCode = 500;
              res.setHeader('content-type', 'application/json; charset=utf-8');
              res.end(JSON.stringify(errorBody('Internal server error', 'INTERNAL_SERVER_ERROR')));
            }
          });
        };
        if (countStatements) runInStatementScope(run);
        else run();
      },
    });
  }

  // A body the JSON parser refuses (too large, malformed) still gets a GraphQL-shaped answer.
  app.use((error: { status?: number; type?: string; message?: string }, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (!error?.status || error.status >= 500) return next(error);
    // The body gate refused already, mid-body (src/http/body.ts); the parser's own error comes after.
    if (res.headersSent) return;
    const code = error.type === 'entity.too.large' ? 'QUERY_TOO_COMPLEX' : 'BAD_REQUEST';
    const message = error.type === 'entity.too.large' ? 'Request body too large' : 'Malformed request body: expected JSON';
    res.status(error.status).json(errorBody(message, code));
  });

  return {
    app,
    httpServer,
    live: hub,
    metrics,
    replicas,
    compiledPlans: executor.stats,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(port, host, () => resolve((httpServer.address() as AddressInfo).port));
      }),
    stop: async () => {
      draining = true;
      await apollo.stop();
      await operations.settled();
      forgetPrimary?.();
      forgetReplicas?.();
    },
  };
}
