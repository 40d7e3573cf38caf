// GraphQL subscriptions over WebSocket: graphql-ws (protocol
// graphql-transport-ws) on the HTTP server, same port and path as HTTP
// (/graphql), wired as Apollo Server's subscriptions docs describe and drained
// with it (the plugin below, beside ApolloServerPluginDrainHttpServer).
//
// Apollo's plugins do not run on this path, so what they do for HTTP is done
// here with the same rules: the token (in connection_init) is verified once
// for the connection and again at every subscribe (it may have expired); the
// query text, depth, alias, directive and cost limits (QUERY_TOO_COMPLEX);
// a fresh context per subscription; errors masked by the same formatter and
// unexpected ones logged with the subscription's request id.
//
// Refusals (README, "Live updates"): 4403 bad or missing token, and a token
// that expires while its connection is open (closed when its `exp` passes);
// 1013 more than WS_MAX_CONNECTIONS connections; 1009 a message over
// WS_MAX_PAYLOAD_BYTES (a client's fault: logged at warn, not on the
// console); QUERY_TOO_COMPLEX (extensions.limit WS_MAX_SUBSCRIPTIONS) one
// subscription too many; 1001 the service stops.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  getOperationAST, GraphQLError, parse, specifiedRules, validate,
  type DocumentNode, type ExecutionArgs, type GraphQLFormattedError, type GraphQLSchema, type OperationDefinitionNode, type ValidationRule,
} from 'graphql';
import { LRUCache } from 'lru-cache';
import { getVariableValues } from 'graphql/execution/values';
import { CloseCode, type SubscribePayload } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Caller } from '../auth/caller';
import { bearerToken } from '../auth/jwt';
import type { WebSocketSettings } from '../config';
import type { Context } from '../context';
import { databaseFailure } from '../db/database';
import { DomainError } from '../errors';
import type { Logger } from '../logger';
import { createErrorFormatter, isExpectedError } from './formatError';
import { costProblem, operationCost, queryTextProblem, tooComplex, type QueryLimits } from './limits';
import type { OperationParams, PersistedRefusal } from './persisted';

/** Standard close codes used besides graphql-ws's own (4400, 4401, 4403, 4408, 4409, 4429, 4500). */
export const WS_CLOSE = { goingAway: 1001, messageTooBig: 1009, tryAgainLater: 1013, forbidden: CloseCode.Forbidden } as const;

/** How long a stopping service waits for clients to answer its close frames before cutting them off. */
const CLOSE_GRACE_MS = 5_000;

/** setTimeout's longest delay (2^31 - 1 ms, about 24.8 days); a longer one fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How often an expired token still accepted (the verifier's clock tolerance) is checked again. */
const EXPIRY_RECHECK_MS = 1_000;

/** The `exp` (ms since the epoch) of an `authorization` value's JWT, already verified; null when it has none. */
function expiryOf(authorization: string | undefined): number | null {
  try {
    const token = bearerToken(authorization);
    const payload: unknown = token ? JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) : null;
    const exp = (payload as { exp?: unknown } | null)?.exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

export interface WebSocketTransportOptions {
  httpServer: Server;
  schema: GraphQLSchema;
  settings: WebSocketSettings;
  limits: QueryLimits;
  production: boolean;
  /** HTTP's validation rules beyond graphql-js's own (armor's depth, alias and directive limits). */
  validationRules: readonly ValidationRule[];
  /** The caller of an `authorization` value ("Bearer <jwt>"); throws (DomainError UNAUTHENTICATED) when refused. */
  authenticate(authorization: string | undefined): Promise<Caller>;
  /**
   * PERSISTED_OPERATIONS=only: the trusted document of a subscribe message (by its persistedQuery hash or
   * exact text), or its refusal (PERSISTED_QUERY_NOT_ALLOWED). Unset: any document.
   */
  trustedDocument?(payload: OperationParams): { query: string } | PersistedRefusal;
  /** A fresh context for one subscription. */
  context(caller: Caller, requestId: string): Context;
  logger: Logger;
  isDraining(): boolean;
  /** Told of each subscription and error, for metrics (src/observability/graphql.ts). */
  observer?: WebSocketObserver;
}

/** What the transport reports about its operations. */
export interface WebSocketObserver {
  subscribed(): void;
  /** A subscription ended (completed, failed, or its socket closed), `seconds` after it started. */
  completed(operationName: string | null, seconds: number): void;
  /** An error sent to a client, by its extensions.code. */
  errored(code: string): void;
}

interface Session {
  authorization: string | undefined;
  operations: Map<string, { context: Context; started: number; operationName: string | null }>;
}

interface WsContext {
  connectionParams?: Readonly<Record<string, unknown>>;
  subscriptions: Record<string, unknown>;
  extra: { socket: WebSocket };
}

const coded = (error: GraphQLError, code: string) =>
  new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, originalError: error.originalError, extensions: { ...error.extensions, code } });

const refusal = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

/** A close reason fits in a control frame (123 bytes). */
const closeReason = (message: string) => (Buffer.byteLength(message) <= 123 ? message : `${Buffer.from(message).subarray(0, 120).toString()}...`);

export function createWebSocketTransport(options: WebSocketTransportOptions) {
  const { schema, settings, limits, production, logger } = options;
  const format = createErrorFormatter({ production });
  const rules = [...specifiedRules, ...options.validationRules];
  const sessions = new WeakMap<object, Session>();
  const wsServer = new WebSocketServer({ server: options.httpServer, path: '/graphql', maxPayload: settings.maxPayloadBytes });

  // Registered before graphql-ws's own handler, so it runs first.
  wsServer.on('connection', (socket) => {
    if (options.isDraining()) socket.close(WS_CLOSE.goingAway, 'The service is stopping');
    else if (wsServer.clients.size > settings.maxConnections) {
      socket.close(WS_CLOSE.tryAgainLater, `Too many connections: this instance accepts ${settings.maxConnections} (WS_MAX_CONNECTIONS)`);
    }
  });

  /** Every error a client sees goes through HTTP's formatter; unexpected ones are logged and carry the request id. */
  function formatOne(error: GraphQLError, context: Context | undefined): GraphQLFormattedError {
    // A failing stream's error has no path: what it wraps is the error to format (a DomainError keeps its code).
    const source = !error.path && error.originalError ? error.originalError : error;
    const formatted = format(error.toJSON(), source);
    if (isExpectedError(source)) return formatted;
    const log = context?.logger ?? logger;
    const failure = databaseFailure(source);
    if (failure) log.warn({ failure, err: (source as Error).message, path: error.path }, 'database failure');
    else log.error({ err: source, path: error.path }, 'unexpected error');
    if (formatted.extensions?.code === 'INTERNAL_SERVER_ERROR' && context) return { ...formatted, extensions: { ...formatted.extensions, requestId: context.requestId } };
    return formatted;
  }

  /** A formatted error on its way to a client, its code reported to the observer. */
  const reported = (formatted: GraphQLFormattedError) => {
    const code = formatted.extensions?.code;
    options.observer?.errored(typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR');
    return formatted;
  };

  /**
   * Documents that passed the checks that do not depend on variables, by operation name and text: a front-end
   * opens the same few subscriptions many times, and each would otherwise be parsed and validated again and
   * keep its own copy of the parsed document for its whole life.
   */
  const checked = new LRUCache<string, { document: DocumentNode; operation: OperationDefinitionNode }>({ max: 1_000 });

  /** The parsed, validated subscription of a subscribe message, or why it is refused (HTTP's checks, in HTTP's order). */
  function checkDocument(payload: SubscribePayload): { document: DocumentNode; operation: OperationDefinitionNode } | GraphQLError[] {
    const key = `${payload.operationName ?? ''}\u0000${payload.query}`;
    const known = checked.get(key);
    if (known) return known;
    const problem = queryTextProblem(payload.query, limits);
    if (problem) return [tooComplex(problem)];
    let document;
    try {
      document = parse(payload.query);
    } catch (error) {
      return [coded(error as GraphQLError, 'GRAPHQL_PARSE_FAILED')];
    }
    const operation = getOperationAST(document, payload.operationName ?? undefined);
    if (!operation) return [refusal('Could not identify the operation: name one with operationName', 'OPERATION_RESOLUTION_FAILURE')];
    if (operation.operation !== 'subscription') {
      return [refusal(`Only subscriptions are served over WebSocket; send ${operation.operation === 'mutation' ? 'mutations' : 'queries'} with POST /graphql`, 'BAD_REQUEST')];
    }
    const invalid = validate(schema, document, rules);
    if (invalid.length > 0) {
      return invalid.map((error) => {
        // Field suggestions are hidden in production, as graphql-armor does for HTTP.
        const masked = production ? new GraphQLError(error.message.replace(/Did you mean ".+"\?/g, '[Suggestion hidden]').trim(), error) : error;
        return typeof masked.extensions.code === 'string' ? masked : coded(masked, 'GRAPHQL_VALIDATION_FAILED');
      });
    }
    const valid = { document, operation };
    checked.set(key, valid);
    return valid;
  }

  /** The execution arguments of a subscribe message, or why it is refused: HTTP's checks, in HTTP's order. */
  function prepare(payload: SubscribePayload): Omit<ExecutionArgs, 'contextValue'> | GraphQLError[] {
    const valid = checkDocument(payload);
    if (Array.isArray(valid)) return valid;
    const { document, operation } = valid;
    const variables = payload.variables ?? {};
    const cost = operationCost(schema, document, operation, variables);
    if (cost > limits.maxCost) return [tooComplex(costProblem(cost, limits))];
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
    if (coerced.errors) return coerced.errors.map((error) => coded(error, 'BAD_USER_INPUT'));
    return { schema, document, operationName: payload.operationName ?? undefined, variableValues: variables };
  }

  const forbidSocket = (socket: WebSocket, error: unknown) => {
    const message = error instanceof DomainError ? error.message : 'Authentication failed';
    socket.close(WS_CLOSE.forbidden, closeReason(`Forbidden: ${message}`));
    return message;
  };
  const forbid = (ctx: WsContext, error: unknown) => forbidSocket(ctx.extra.socket, error);

  /**
   * Closes the socket with 4403 once its token expires: a timer at the token's `exp` (in steps of at most
   * MAX_TIMER_MS), cleared when the socket closes. The verifier decides, so its clock tolerance applies:
   * a token it still accepts is checked again every EXPIRY_RECHECK_MS.
   */
  function closeOnExpiry(socket: WebSocket, authorization: string | undefined): void {
    const exp = expiryOf(authorization);
    if (exp === null || socket.readyState === socket.CLOSED) return;
    let timer: NodeJS.Timeout | null = null;
    let closed = false;
    const arm = (at: number) => {
      timer = setTimeout(() => void check(at), Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS));
      timer.unref();
    };
    const check = async (at: number) => {
      timer = null;
      if (closed) return;
      if (Date.now() < at) return arm(at); // a long wait's next step (or a timer a little early)
      try {
        await options.authenticate(authorization);
      } catch (error) {
        if (closed) return;
        logger.info({ reason: error instanceof DomainError ? error.message : 'authentication failed' }, 'websocket closed: the token expired');
        forbidSocket(socket, error);
        return;
      }
      if (!closed) arm(Date.now() + EXPIRY_RECHECK_MS);
    };
    socket.once('close', () => {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
    });
    arm(exp);
  }

  const cleanup = useServer(
    {
      schema,
      isProd: production,
      onConnect: async (ctx) => {
        const socket = ctx.extra.socket;
        if (socket.readyState !== socket.OPEN) return false;
        // { authorization: "Bearer <jwt>" } as the contract says; "Authorization" too, as header editors spell it.
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const authorization = typeof raw === 'string' ? raw : undefined;
        let caller: Caller;
        try {
          caller = await options.authenticate(authorization);
        } catch (error) {
          forbid(ctx as WsContext, error);
          return false;
        }
        sessions.set(ctx, { authorization, operations: new Map() });
        // Open mode (AUTH_MODE=off) has no token to expire.
        if (caller.authenticated) closeOnExpiry(socket, authorization);
        return true;
      },
      onSubscribe: async (ctx, id, payload) => {
        const session = sessions.get(ctx);
        if (!session) return [refusal('Not connected', 'UNAUTHENTICATED')];
        // The map already holds this one.
        if (Object.keys(ctx.subscriptions).length > settings.maxSubscriptions) {
          const message = `Too many subscriptions on this connection: at most ${settings.maxSubscriptions} at once (WS_MAX_SUBSCRIPTIONS)`;
          return [new GraphQLError(message, { originalError: new DomainError('QUERY_TOO_COMPLEX', message, undefined, { limit: 'WS_MAX_SUBSCRIPTIONS' }) })];
        }
        let caller: Caller;
        try {
          // The token was valid at connection_init; HTTP checks every request, so every subscribe is checked too.
          caller = await options.authenticate(session.authorization);
        } catch (error) {
          return [refusal(forbid(ctx as WsContext, error), 'UNAUTHENTICATED')];
        }
        let request = payload;
        if (options.trustedDocument) {
          const trusted = options.trustedDocument(payload);
          if ('code' in trusted) return [new GraphQLError(trusted.message, { extensions: { code: trusted.code, field: trusted.field } })];
          request = { ...payload, query: trusted.query };
        }
        const prepared = prepare(request);
        if (Array.isArray(prepared)) return prepared;
        const requestId = randomUUID();
        const context = options.context(caller, requestId);
        // The document's own name when the message names none (graphql-ws's client sends none unless told).
        const operationName = payload.operationName ?? getOperationAST(prepared.document)?.name?.value ?? null;
        session.operations.set(id, { context, started: Date.now(), operationName });
        options.observer?.subscribed();
        return { ...prepared, contextValue: context };
      },
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors?.length) return;
        const context = args.contextValue as Context;
        return { ...result, errors: result.errors.map((error) => reported(formatOne(error, context))) };
      },
      onError: (ctx, id, _payload, errors) => {
        const context = sessions.get(ctx)?.operations.get(id)?.context;
        return errors.map((error) => reported(formatOne(error, context)));
      },
      onComplete: (ctx, id) => {
        const operations = sessions.get(ctx)?.operations;
        const operation = operations?.get(id);
        if (!operation) return;
        operations!.delete(id);
        options.observer?.completed(operation.operationName, (Date.now() - operation.started) / 1000);
        operation.context.logger.info({ operation: operation.operationName, durationMs: Date.now() - operation.started, transport: 'websocket' }, 'graphql subscription');
      },
    },
    wsServer,
    settings.keepAliveMs,
  );

  // Registered after graphql-ws's handler, which listens for a socket's errors only to print them with
  // console.error and close with 4500. A socket's 'error' is a client's protocol fault found by ws (a
  // message over maxPayload, a bad frame or UTF-8), and ws has already closed the socket with the code
  // that says so (1009, 1002, 1007): a warning in our log, not console noise.
  wsServer.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (error: Error & { code?: string }) => {
      if (typeof error.code === 'string' && error.code.startsWith('WS_ERR_')) {
        logger.warn({ code: error.code, err: error.message }, 'websocket closed: the client broke the protocol');
        return;
      }
      logger.error({ err: error }, 'websocket error');
      if (socket.readyState === socket.OPEN) socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
  });

  /** Closes every connection (1001) and stops accepting; resolves once all are closed (clients that do not answer are cut off). */
  async function dispose(): Promise<void> {
    const cutOff = setTimeout(() => {
      for (const socket of wsServer.clients) socket.terminate();
    }, CLOSE_GRACE_MS);
    cutOff.unref();
    try {
      await cleanup.dispose();
    } finally {
      clearTimeout(cutOff);
    }
  }

  /** Apollo drains this transport with HTTP (service.stop()). */
  const plugin: ApolloServerPlugin<Context> = {
    async serverWillStart() {
      return {
        async drainServer() {
          await dispose();
        },
      };
    },
  };

  return { wsServer, dispose, plugin };
}
