// Two databases, one code path above them: PostgreSQL through @prisma/adapter-pg
// when DATABASE_URL is set, an embedded PGlite database in DATA_DIR otherwise.
// Everything above this file sees a Database: a Prisma client (for requests)
// and a SqlRunner (for migrations and bulk loads) on the same database.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { DatabaseConfig } from '../config';
import { PrismaClient } from '../generated/prisma/client';
import { silentLogger, type Logger } from '../logger';
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
  /** Subscribes to every statement Prisma sends; returns the unsubscribe function. */
  onQuery(listener: (event: QueryEvent) => void): () => void;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface OpenOptions {
  logger?: Logger;
  /** For tests and tools: an already open PGlite instance instead of a data directory. */
  pglite?: PGlite;
}

function withQueryEvents(prisma: Prisma) {
  const listeners = new Set<(event: QueryEvent) => void>();
  prisma.$on('query', (e) => {
    countStatement();
    for (const listener of listeners) listener({ query: e.query, params: e.params, durationMs: Number(e.duration) });
  });
  return (listener: (event: QueryEvent) => void) => {
    listeners.add(listener);
    return () => void listeners.delete(listener);
  };
}

function openPostgres(config: Extract<DatabaseConfig, { kind: 'postgres' }>, logger: Logger): Database {
  const pool = new Pool({
    connectionString: config.url,
    max: config.poolMax,
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: config.idleTimeoutMs,
    statement_timeout: config.statementTimeoutMs,
    // The client-side timeout catches a server that stops answering altogether.
    query_timeout: config.statementTimeoutMs + 5_000,
    application_name: 'portfolio-data-service',
    // JIT compilation costs ~0.25 s on analytics statements whose row estimates are off
    // (recursive subtrees), and never pays back at our statement sizes.
    options: config.jit ? undefined : '-c jit=off',
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle database connection failed'));
  const prisma: Prisma = new PrismaClient({
    adapter: new PrismaPg(pool, { onPoolError: () => undefined }),
    log: [{ emit: 'event', level: 'query' }],
  });
  return {
    kind: 'postgres',
    prisma,
    sql: pgRunner(pool),
    onQuery: withQueryEvents(prisma),
    ping: async () => {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    close: async () => {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function openEmbedded(
  config: Extract<DatabaseConfig, { kind: 'embedded' }>,
  options: OpenOptions,
): Promise<Database> {
  let pglite = options.pglite;
  if (!pglite) {
    mkdirSync(config.dataDir, { recursive: true });
    pglite = await PGlite.create(config.dataDir);
  }
  const db = pglite;
  const prisma: Prisma = new PrismaClient({
    adapter: new PrismaPGlite(db),
    log: [{ emit: 'event', level: 'query' }],
  });
  return {
    kind: 'embedded',
    prisma,
    sql: pgliteRunner(db),
    onQuery: withQueryEvents(prisma),
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
