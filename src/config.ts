// Environment -> typed configuration, validated once at start-up.
import { COMPILE_ON_REQUEST } from './graphql/executor';
import { DEFAULT_LIMITS, type QueryLimits } from './graphql/limits';
import { PERSISTED_MODES, readManifest, type PersistedOperationsConfig } from './graphql/persisted';
//
// Every variable is documented in .env.example. A malformed value stops the
// process with a message naming the variable, rather than falling back to a
// default the operator did not ask for.

export type DatabaseConfig =
  | {
      kind: 'postgres';
      url: string;
      poolMax: number;
      connectTimeoutMs: number;
      statementTimeoutMs: number;
      idleTimeoutMs: number;
      /** PostgreSQL's JIT compiler for this service's sessions (off unless DB_JIT=true). */
      jit: boolean;
      /** work_mem of the service's sessions, in MB (default 16). */
      workMemMb?: number;
      /** Prepared statements for the reads sent more than once (DB_PREPARED_STATEMENTS, default true): src/db/prepared.ts. */
      preparedStatements?: boolean;
    }
  | { kind: 'embedded'; dataDir: string };

export type AuthConfig =
  | { mode: 'off' }
  | {
      mode: 'jwt';
      secret?: string;
      publicKeyPem?: string;
      jwksFile?: string;
      issuer?: string;
      audience?: string;
      clockToleranceSec: number;
    };

/** GraphQL subscriptions over WebSocket (src/graphql/websocket.ts). */
export interface WebSocketSettings {
  /** Open WebSocket connections per process (WS_MAX_CONNECTIONS); one more is closed with 1013. */
  maxConnections: number;
  /** Subscriptions at once per connection (WS_MAX_SUBSCRIPTIONS); one more is refused with QUERY_TOO_COMPLEX. */
  maxSubscriptions: number;
  /** Largest message a client may send, in bytes (WS_MAX_PAYLOAD_BYTES); a larger one closes the socket with 1009. */
  maxPayloadBytes: number;
  /** Interval of the server's keep-alive pings (WS_KEEPALIVE_MS); a client that misses a pong for as long is dropped. 0: no pings. */
  keepAliveMs: number;
}

export const DEFAULT_WEBSOCKET: WebSocketSettings = { maxConnections: 10_000, maxSubscriptions: 100, maxPayloadBytes: 64 * 1024, keepAliveMs: 12_000 };

/** Prometheus metrics at GET /metrics (src/observability/metrics.ts). */
export interface MetricsSettings {
  /** METRICS_ENABLED (default true): false serves no /metrics and observes nothing. */
  enabled: boolean;
  /** METRICS_TOKEN: when set, GET /metrics requires it as a bearer token (401 otherwise). */
  token?: string;
  /** METRICS_MAX_OPERATION_NAMES: operation names with a label of their own (the first seen); later ones are "other". */
  maxOperationNames: number;
}

export const DEFAULT_METRICS: MetricsSettings = { enabled: true, maxOperationNames: 100 };

export interface Config {
  production: boolean;
  /** Hostile-request limits (src/graphql/limits.ts). */
  limits: QueryLimits;
  /** Origins allowed to call from a browser (CORS); none by default. */
  corsOrigins: string[];
  /** Largest request body of any caller, in bytes (MAX_BODY_BYTES); src/http/body.ts. */
  bodyLimitBytes: number;
  /** Largest request body of a caller who may upload (INGESTOR, ADMIN, open mode), in bytes (MAX_UPLOAD_BODY_BYTES). */
  uploadBodyLimitBytes: number;
  /** Bodies over bodyLimitBytes read and served at once per process (MAX_CONCURRENT_LARGE_BODIES); one more gets 503. */
  maxConcurrentLargeBodies: number;
  /** PERSISTED_OPERATIONS (src/graphql/persisted.ts). */
  persistedOperations: PersistedOperationsConfig;
  port: number;
  host: string;
  database: DatabaseConfig;
  /** Read replicas (DATABASE_REPLICA_URLS, src/db/replicas.ts); null without. */
  replicas: ReplicaConfig | null;
  /** Apply pending migrations before serving (always true for the embedded database). */
  migrateOnStart: boolean;
  /** Seed a small demo world when the embedded database is empty. */
  seedDemo: boolean;
  logLevel: string;
  graphqlIntrospection: boolean;
  graphqlIde: boolean;
  auth: AuthConfig;
  /** Log each operation's SQL statement count (costs some throughput). */
  logStatementCounts: boolean;
  /** Memory for cached analytics results (src/services/analytics/cache.ts); 0 turns the cache off. */
  analyticsCacheBytes: number;
  /** The request of a document at which its plan is compiled (src/graphql/executor.ts): 1 at once, 0 never. */
  graphqlCompileOnRequest: number;
  websocket: WebSocketSettings;
  metrics: MetricsSettings;
  /** After SIGTERM/SIGINT, how long requests in flight may take before the process exits anyway (src/main.ts). */
  shutdownGraceMs: number;
}

export const DEFAULT_ANALYTICS_CACHE_BYTES = 64 * 1024 * 1024;
export const DEFAULT_BODY_LIMITS = { bodyLimitBytes: 1024 * 1024, uploadBodyLimitBytes: 32 * 1024 * 1024, maxConcurrentLargeBodies: 2 };

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

export function parseBoolean(env: Env, name: string, fallback: boolean): boolean {
  const value = str(env, name);
  if (value === undefined) return fallback;
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new ConfigError(name, `expected true or false, got "${value}"`);
}

export function parseInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = str(env, name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new ConfigError(name, `expected a whole number, got "${value}"`);
  const parsed = Number(value);
  if (parsed < min || parsed > max) throw new ConfigError(name, `expected ${min}..${max}, got ${parsed}`);
  return parsed;
}

export function databaseConfigFrom(env: Env, urlVariable = 'DATABASE_URL'): DatabaseConfig {
  const url = str(env, urlVariable);
  if (url === undefined) return { kind: 'embedded', dataDir: str(env, 'DATA_DIR') ?? './.data' };
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new ConfigError(urlVariable, 'expected a postgresql:// connection string');
  }
  return {
    kind: 'postgres',
    url,
    poolMax: parseInteger(env, 'DB_POOL_MAX', 10, 1, 1000),
    connectTimeoutMs: parseInteger(env, 'DB_CONNECT_TIMEOUT_MS', 5_000, 100, 600_000),
    statementTimeoutMs: parseInteger(env, 'DB_STATEMENT_TIMEOUT_MS', 30_000, 100, 3_600_000),
    idleTimeoutMs: parseInteger(env, 'DB_IDLE_TIMEOUT_MS', 30_000, 1_000, 3_600_000),
    jit: parseBoolean(env, 'DB_JIT', false),
    workMemMb: parseInteger(env, 'DB_WORK_MEM_MB', 16, 1, 4_096),
    preparedStatements: parseBoolean(env, 'DB_PREPARED_STATEMENTS', true),
  };
}

/** PostgreSQL hot standbys for read-only operations (src/db/replicas.ts). */
export interface ReplicaConfig {
  urls: string[];
  /** REPLICA_MAX_LAG_MS: a replica further behind the primary is skipped. */
  maxLagMs: number;
  /** REPLICA_CHECK_MS: how often each replica's lag and health are checked. */
  checkIntervalMs: number;
}

export function replicaConfigFrom(env: Env, database: DatabaseConfig): ReplicaConfig | null {
  const urls = (str(env, 'DATABASE_REPLICA_URLS') ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) return null;
  if (database.kind !== 'postgres') throw new ConfigError('DATABASE_REPLICA_URLS', 'read replicas need DATABASE_URL (their primary)');
  const bad = urls.find((url) => !/^postgres(ql)?:\/\//.test(url));
  if (bad !== undefined) throw new ConfigError('DATABASE_REPLICA_URLS', 'expected comma-separated postgresql:// connection strings');
  return {
    urls,
    maxLagMs: parseInteger(env, 'REPLICA_MAX_LAG_MS', 5_000, 0, 3_600_000),
    checkIntervalMs: parseInteger(env, 'REPLICA_CHECK_MS', 1_000, 50, 600_000),
  };
}

export function authConfigFrom(env: Env, production: boolean): AuthConfig {
  const mode = (str(env, 'AUTH_MODE') ?? (production ? 'jwt' : 'off')).toLowerCase();
  if (mode !== 'jwt' && mode !== 'off') throw new ConfigError('AUTH_MODE', `expected jwt or off, got "${mode}"`);
  if (mode === 'off') {
    if (production) throw new ConfigError('AUTH_MODE', 'production (NODE_ENV=production) requires AUTH_MODE=jwt');
    return { mode: 'off' };
  }
  const config: AuthConfig = {
    mode: 'jwt',
    secret: str(env, 'JWT_SECRET'),
    publicKeyPem: str(env, 'JWT_PUBLIC_KEY'),
    jwksFile: str(env, 'JWT_JWKS_FILE'),
    issuer: str(env, 'JWT_ISSUER'),
    audience: str(env, 'JWT_AUDIENCE'),
    clockToleranceSec: parseInteger(env, 'JWT_CLOCK_TOLERANCE_SEC', 30, 0, 600),
  };
  if (!config.secret && !config.publicKeyPem && !config.jwksFile) {
    throw new ConfigError('AUTH_MODE', 'AUTH_MODE=jwt needs JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_FILE');
  }
  return config;
}

export function bodyLimitsFrom(env: Env): Pick<Config, 'bodyLimitBytes' | 'uploadBodyLimitBytes' | 'maxConcurrentLargeBodies'> {
  const bodyLimitBytes = parseInteger(env, 'MAX_BODY_BYTES', DEFAULT_BODY_LIMITS.bodyLimitBytes, 1_024, 1024 * 1024 * 1024);
  const uploadBodyLimitBytes = parseInteger(env, 'MAX_UPLOAD_BODY_BYTES', Math.max(DEFAULT_BODY_LIMITS.uploadBodyLimitBytes, bodyLimitBytes), 1_024, 1024 * 1024 * 1024);
  if (uploadBodyLimitBytes < bodyLimitBytes) throw new ConfigError('MAX_UPLOAD_BODY_BYTES', `must be at least MAX_BODY_BYTES (${bodyLimitBytes}), got ${uploadBodyLimitBytes}`);
  const maxConcurrentLargeBodies = parseInteger(env, 'MAX_CONCURRENT_LARGE_BODIES', DEFAULT_BODY_LIMITS.maxConcurrentLargeBodies, 0, 10_000);
  return { bodyLimitBytes, uploadBodyLimitBytes, maxConcurrentLargeBodies };
}

export function persistedOperationsFrom(env: Env): PersistedOperationsConfig {
  const mode = (str(env, 'PERSISTED_OPERATIONS') ?? 'apq').toLowerCase();
  if (!(PERSISTED_MODES as readonly string[]).includes(mode)) throw new ConfigError('PERSISTED_OPERATIONS', `expected off, apq or only, got "${mode}"`);
  if (mode !== 'only') return { mode: mode as 'off' | 'apq' };
  const file = str(env, 'PERSISTED_OPERATIONS_FILE');
  if (file === undefined) throw new ConfigError('PERSISTED_OPERATIONS_FILE', 'PERSISTED_OPERATIONS=only needs the manifest of trusted documents (npm run persisted:build)');
  try {
    return { mode: 'only', file, documents: readManifest(file) };
  } catch (error) {
    throw new ConfigError('PERSISTED_OPERATIONS_FILE', (error as Error).message);
  }
}

export function loadConfig(env: Env = process.env): Config {
  const production = str(env, 'NODE_ENV') === 'production';
  const database = databaseConfigFrom(env);
  const embedded = database.kind === 'embedded';
  const logLevel = str(env, 'LOG_LEVEL') ?? (production ? 'info' : 'debug');
  return {
    production,
    port: parseInteger(env, 'PORT', 4000, 0, 65_535),
    host: str(env, 'HOST') ?? '0.0.0.0',
    database,
    replicas: replicaConfigFrom(env, database),
    migrateOnStart: embedded || parseBoolean(env, 'MIGRATE_ON_START', false),
    seedDemo: embedded && parseBoolean(env, 'SEED_DEMO', true),
    shutdownGraceMs: parseInteger(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 3_600_000),
    logLevel,
    logStatementCounts: parseBoolean(env, 'LOG_STATEMENT_COUNTS', ['debug', 'trace'].includes(logLevel)),
    graphqlIntrospection: parseBoolean(env, 'GRAPHQL_INTROSPECTION', !production),
    graphqlIde: parseBoolean(env, 'GRAPHQL_IDE', !production),
    auth: authConfigFrom(env, production),
    limits: {
      maxQueryLength: parseInteger(env, 'MAX_QUERY_LENGTH', DEFAULT_LIMITS.maxQueryLength, 100, 10_000_000),
      maxTokens: parseInteger(env, 'MAX_QUERY_TOKENS', DEFAULT_LIMITS.maxTokens, 10, 1_000_000),
      maxDepth: parseInteger(env, 'MAX_QUERY_DEPTH', DEFAULT_LIMITS.maxDepth, 2, 100),
      maxAliases: parseInteger(env, 'MAX_QUERY_ALIASES', DEFAULT_LIMITS.maxAliases, 0, 1_000),
      maxDirectives: parseInteger(env, 'MAX_QUERY_DIRECTIVES', DEFAULT_LIMITS.maxDirectives, 0, 1_000),
      maxCost: parseInteger(env, 'MAX_QUERY_COST', DEFAULT_LIMITS.maxCost, 10, 100_000_000),
    },
    corsOrigins: (str(env, 'CORS_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter(Boolean),
    ...bodyLimitsFrom(env),
    persistedOperations: persistedOperationsFrom(env),
    websocket: {
      maxConnections: parseInteger(env, 'WS_MAX_CONNECTIONS', DEFAULT_WEBSOCKET.maxConnections, 1, 1_000_000),
      maxSubscriptions: parseInteger(env, 'WS_MAX_SUBSCRIPTIONS', DEFAULT_WEBSOCKET.maxSubscriptions, 1, 10_000),
      maxPayloadBytes: parseInteger(env, 'WS_MAX_PAYLOAD_BYTES', DEFAULT_WEBSOCKET.maxPayloadBytes, 1_024, 64 * 1024 * 1024),
      keepAliveMs: parseInteger(env, 'WS_KEEPALIVE_MS', DEFAULT_WEBSOCKET.keepAliveMs, 0, 600_000),
    },
    metrics: {
      enabled: parseBoolean(env, 'METRICS_ENABLED', DEFAULT_METRICS.enabled),
      token: str(env, 'METRICS_TOKEN'),
      maxOperationNames: parseInteger(env, 'METRICS_MAX_OPERATION_NAMES', DEFAULT_METRICS.maxOperationNames, 0, 10_000),
    },
    graphqlCompileOnRequest: parseInteger(env, 'GRAPHQL_COMPILE_ON_REQUEST', COMPILE_ON_REQUEST, 0, 1_000_000),
    analyticsCacheBytes: parseInteger(env, 'ANALYTICS_CACHE_MB', DEFAULT_ANALYTICS_CACHE_BYTES / 1024 / 1024, 0, 1024 * 1024) * 1024 * 1024,
  };
}
