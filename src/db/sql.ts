// The low-level SQL session under Prisma, for the few jobs Prisma's query API
// cannot do: applying multi-statement migration scripts and bulk loading.
// Request paths never use it; they go through Prisma, or for a hot read through
// Database.read, which is counted and reported like Prisma's statements
// (src/db/database.ts).
import type { PGlite, Transaction as PGliteTransaction } from '@electric-sql/pglite';
import type { Pool, PoolClient } from 'pg';

export interface SqlSession {
  /** One statement with $1.. parameters. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A script of several statements, without parameters. */
  exec(script: string): Promise<void>;
}

export interface SqlRunner extends SqlSession {
  /** Runs fn in one transaction on one connection; commits when fn resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T>;
}

function pgSession(client: Pool | PoolClient): SqlSession {
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const result = await client.query(sql, params);
      return result.rows as T[];
    },
    async exec(script: string) {
      // No parameters: pg uses the simple query protocol, which accepts several statements.
      await client.query(script);
    },
  };
}

export function pgRunner(pool: Pool): SqlRunner {
  return {
    ...pgSession(pool),
    async transaction<T>(fn: (tx: SqlSession) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(pgSession(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true; // the connection is unusable: do not return it to the pool
        });
        throw error;
      } finally {
        client.release(broken);
      }
    },
  };
}

function pgliteSession(db: PGlite | PGliteTransaction): SqlSession {
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const result = await db.query<T>(sql, params);
      return result.rows;
    },
    async exec(script: string) {
      await db.exec(script);
    },
  };
}

export function pgliteRunner(db: PGlite): SqlRunner {
  return {
    ...pgliteSession(db),
    transaction: (fn) => db.transaction((tx) => fn(pgliteSession(tx))),
  };
}
