// Two databases, one code path above them: PostgreSQL through @prisma/adapter-pg
// when DATABASE_URL is set, an embedded PGlite database in DATA_DIR otherwise.
// Everything above this file sees a Database: a Prisma client (for requests)
// and a SqlRunner (for migrations and bulk loads) on the same database.
import { mkdirSync } from 'node:fs';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import type * as BtreeGist from '@electric-sql/pglite/contrib/btree_gist' with { 'resolution-mode': 'import' };
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { DatabaseConfig } from '../config';
import { PrismaClient } from '../generated/prisma/client';
import { silentLogger, type Logger } from '../logger';
import { preparedReads } from './prepared';
import { pgliteRunner, pgRunner, type SqlRunner } from './sql';
import { countStatement } from './statementScope';

export type Prisma = PrismaClient<'query'>;

export interface QueryEvent {
  query: string;
  /** The bound parameters, as Prisma reports them (a JSON array). */
  params: string;
  durationMs: number;
}

export interface Database {
  kind: 'postgres' | 'embedded';
  prisma: Prisma;
  sql: SqlRunner;
  /** Subscribes to every statement sent (Prisma's and `read`'s); returns the unsubscribe function. */
  onQuery(listener: (event: QueryEvent) => void): () => void;
  /**
   * One read statement ($1.. parameters) straight through the driver, without Prisma's query
   * engine: for the hottest read paths (a tree view's one statement). Rows come as the driver
   * decodes them (timestamps as Date, JSON parsed, numeric as text). Counted and reported to
   * onQuery listeners like Prisma's statements.
   */
  read<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  /**
   * PostgreSQL: whether the pool can hand out a connection right now without waiting (one is idle, or it
   * may open another). For best-effort writes beside a transaction this process holds open (an import's
   * progress, src/services/ingestion/progress.ts): they are skipped rather than queued behind it (with
   * DB_POOL_MAX=1 the transaction holds the only connection). Absent on the embedded database, whose one
   * session a transaction holds whole.
   */
  spareConnection?(): boolean;
  /** PostgreSQL: the pool's connections (open, idle), requests waiting for one, and its bound, for metrics. Absent on the embedded database. */
  poolStats?(): { total: number; idle: number; waiting: number; max: number };
  /** The embedded database's PGlite instance (embedded only): for its own LISTEN API (src/live/listener.ts). */
  readonly pglite?: PGlite;
  close(): Promise<void>;
}

export interface OpenOptions {
  logger?: Logger;
  /** For tests and tools: an already open PGlite instance instead of a data directory. */
  pglite?: PGlite;
}

function queryEvents(prisma: Prisma) {
  const listeners = new Set<(event: QueryEvent) => void>();
  const emit = (event: QueryEvent) => {
    countStatement();
    for (const listener of listeners) listener(event);
  };
  prisma.$on('query', (e) => emit({ query: e.query, params: e.params, durationMs: Number(e.duration) }));
  const subscribe = (listener: (event: QueryEvent) => void) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
  /** A driver-level read reported like Prisma's statements. */
  const reported = (run: (sql: string, params: unknown[]) => Promise<unknown[]>) =>
    async <T>(sql: string, params: unknown[] = []): Promise<T[]> => {
      const started = performance.now();
      try {
        return (await run(sql, params)) as T[];
      } finally {
        emit({ query: sql, params: JSON.stringify(params), durationMs: performance.now() - started });
      }
    };
  return { subscribe, reported };
}

/** What a failed database call says about the database itself (not about the request). */
export type DatabaseFailure = 'unavailable' | 'timeout';

// Node socket errors and SQLSTATEs of a server that is gone, restarting or full:
// class 08 (connection exception), 57P01-57P03 (shutdown, crash, starting up), 53300 (too many connections).
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  '08000', '08001', '08003', '08004', '08006', '57P01', '57P02', '57P03', '53300',
  // Prisma: cannot reach the server; the server closed the connection.
  'P1001', 'P1017',
]);
// 57014: statement_timeout; P1008/P2024: Prisma gave up waiting for the database or for a pooled connection;
// P2028: a transaction could not start in time (no pooled connection came) or ran out of time.
const TIMEOUT_CODES = new Set(['57014', 'ETIMEDOUT', 'P1008', 'P2024', 'P2028']);
// @prisma/adapter-pg's DriverAdapterError kinds.
const UNAVAILABLE_KINDS = new Set(['DatabaseNotReachable', 'ConnectionClosed', 'TooManyConnections']);
// pg's own errors carry no code: a connection lost mid-query, a pool that could not connect in time, query_timeout.
const UNAVAILABLE_MESSAGE = /Connection terminated|not queryable|Can't reach database server|Server has closed the connection/i;
const TIMEOUT_MESSAGE = /timeout exceeded when trying to connect|Query read timeout|connection timeout/i;

/**
 * 'unavailable' when the error means the database cannot be reached (down, restarting,
 * connection lost), 'timeout' when it did not answer in time, null for anything else.
 * Looks through Prisma's and the driver adapter's wrappers to the driver's error.
 */
export function databaseFailure(error: unknown): DatabaseFailure | null {
  for (const e of errorChain(error)) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    const kind = typeof e.kind === 'string' ? e.kind : undefined;
    const message = typeof e.message === 'string' ? e.message : '';
    if ((code && TIMEOUT_CODES.has(code)) || kind === 'SocketTimeout' || TIMEOUT_MESSAGE.test(message)) return 'timeout';
    if ((code && UNAVAILABLE_CODES.has(code)) || (kind && UNAVAILABLE_KINDS.has(kind)) || UNAVAILABLE_MESSAGE.test(message)) {
      return 'unavailable';
    }
  }
  return null;
}

/**
 * An error and every error it wraps (cause, the driver's original error, a value graphql-js wrapped, the
 * driver adapter's error and its cause), breadth first, each once: Prisma's and the adapters' wrappers hide the driver's code.
 */
export function* errorChain(error: unknown): Generator<Record<string, any>> {
  const seen = new Set<unknown>();
  const queue = [error];
  while (queue.length > 0) {
    const e = queue.shift() as Record<string, any> | null | undefined;
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    yield e;
    // thrownValue: graphql-js wraps a thrown value that is not `instanceof Error` of its own realm (a
    // driver's error created by Node's core under a test runner's VM context) in NonErrorThrown.
    queue.push(e.cause, e.originalError, e.thrownValue, e.meta?.driverAdapterError, e.meta?.driverAdapterError?.cause);
  }
}

/** What a client is told when a request failed because of the database (the code stays INTERNAL_SERVER_ERROR). */
export const DATABASE_FAILURE_MESSAGES: Record<DatabaseFailure, string> = {
  unavailable: 'The database is unavailable; retry shortly',
  timeout: 'The database did not answer in time; retry shortly',
};

/** /readyz waits at most this long for the database, whatever the pool is doing. */
const PING_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The configuration for maintenance (migrations): no statement timeout. A migration's backfill
 * of a large table may run for minutes; the request timeout (DB_STATEMENT_TIMEOUT_MS) would
 * cancel it and roll the migration back.
 */
export function maintenanceConfig(config: DatabaseConfig): DatabaseConfig {
  return config.kind === 'postgres' ? { ...config, statementTimeoutMs: 0, poolMax: 1 } : config;
}

function openPostgres(config: Extract<DatabaseConfig, { kind: 'postgres' }>, logger: Logger): Database {
  const pool = new Pool({
    connectionString: config.url,
    max: config.poolMax,
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: config.idleTimeoutMs,
    statement_timeout: config.statementTimeoutMs,
    // The client-side timeout catches a server that stops answering altogether (or a
    // network that stalls): the server-side statement_timeout cannot fire then.
    // statementTimeoutMs 0 (maintenanceConfig): no timeout on either side.
    query_timeout: config.statementTimeoutMs === 0 ? undefined : config.statementTimeoutMs + Math.min(5_000, config.statementTimeoutMs),
    application_name: 'portfolio-data-service',
    // JIT compilation costs ~0.25 s on analytics statements whose row estimates are off
    // (recursive subtrees), and never pays back at our statement sizes. work_mem: an analytics
    // statement groups a fund's held positions (400,000+ rows at a million positions); at the
    // default 4 MB it sorts them on disk (measured: marketValue 485 ms, 405-417 ms at 16 MB).
    options: [config.jit ? '' : '-c jit=off', `-c work_mem=${config.workMemMb ?? 16}MB`].filter(Boolean).join(' '),
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle database connection failed'));
  // pg emits 'error' on a client whose connection breaks even while it is checked out
  // (a transaction of SqlRunner, between or during statements), and the pool listens only
  // to idle ones: without a listener of our own, a database crash would crash the process.
  // The statement in flight fails on its own, and a broken client is dropped on release.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const prisma: Prisma = new PrismaClient({
    adapter: new PrismaPg(pool, {
      onPoolError: () => undefined,
      onConnectionError: (error) => logger.warn({ err: error.message }, 'database connection failed in a transaction'),
    }),
    log: [{ emit: 'event', level: 'query' }],
    // A transaction waits for a pooled connection as long as a statement does (Prisma's default, 2 s,
    // failed six concurrent holdingsChange reads of a million-position data set with P2028), and may
    // last as long as its statements may.
    transactionOptions: {
      maxWait: config.connectTimeoutMs,
      timeout: config.statementTimeoutMs === 0 ? 3_600_000 : config.statementTimeoutMs + 5_000,
    },
  });
  const events = queryEvents(prisma);
  return {
    kind: 'postgres',
    prisma,
    sql: pgRunner(pool),
    onQuery: events.subscribe,
    read: events.reported(config.preparedStatements === false ? async (sql, params) => (await pool.query(sql, params)).rows : preparedReads(pool)),
    // Bounded: a stalled server or a pool whose connections all hang must not hold /readyz.
    ping: () => withTimeout(pool.query('SELECT 1').then(() => true, () => false), PING_TIMEOUT_MS, false),
    spareConnection: () => pool.waitingCount === 0 && (pool.idleCount > 0 || pool.totalCount < config.poolMax),
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max: config.poolMax }),
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

/**
 * A PGlite instance with the extensions the migrations need (btree_gist, for the exclusion
 * constraints of versioned tables). Every embedded database is opened through here.
 */
// The package types its contrib entry points as ECMAScript modules only; it ships CommonJS builds too.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { btree_gist } = require('@electric-sql/pglite/contrib/btree_gist') as typeof BtreeGist;

export function createPGlite(dataDir?: string, options: PGliteOptions = {}): Promise<PGlite> {
  return PGlite.create({ ...options, ...(dataDir ? { dataDir } : {}), extensions: { btree_gist, ...options.extensions } });
}

async function openEmbedded(
  config: Extract<DatabaseConfig, { kind: 'embedded' }>,
  options: OpenOptions,
): Promise<Database> {
  let pglite = options.pglite;
  if (!pglite) {
    mkdirSync(config.dataDir, { recursive: true });
    pglite = await createPGlite(config.dataDir);
  }
  const db = pglite;
  const prisma: Prisma = new PrismaClient({
    adapter: new PrismaPGlite(db),
    log: [{ emit: 'event', level: 'query' }],
  });
  const events = queryEvents(prisma);
  return {
    kind: 'embedded',
    prisma,
    pglite: db,
    sql: pgliteRunner(db),
    onQuery: events.subscribe,
    read: events.reported(async (sql, params) => (await db.query(sql, params)).rows),
    ping: async () => {
      try {
        await db.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {
      await prisma.$disconnect();
      if (!db.closed) await db.close();
    },
  };
}

export async function openDatabase(config: DatabaseConfig, options: OpenOptions = {}): Promise<Database> {
  const logger = options.logger ?? silentLogger;
  return config.kind === 'postgres' ? openPostgres(config, logger) : openEmbedded(config, options);
}
