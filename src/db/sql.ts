// The low-level SQL session under Prisma, for the few jobs Prisma's query API
// cannot do: applying multi-statement migration scripts and bulk loading (the
// importer, also behind the upload mutations), and the replica bookkeeping.
// Read paths never use it; they go through Prisma, or for a hot read through
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

function pgliteSession(db: PGlite | PGliteTransaction, onScript: () => void = () => undefined): SqlSession {
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      const result = await db.query<T>(sql, params);
      return result.rows;
    },
    async exec(script: string) {
      await db.exec(script);
      onScript();
    },
  };
}

/**
 * PGlite serialises an array parameter by the element type it knows, from a list of array types it reads
 * when it starts. A type created later (a migration's enum, e.g. position_status[]) is not on that list,
 * and its arrays were sent as "A,B,C" (malformed array literal) by every statement, Prisma's included,
 * until the process restarted: on a fresh embedded database, position pages failed on first start. So
 * after every script (migrations and other DDL run as scripts), once its transaction has committed, the
 * list is read again.
 */
export function pgliteRunner(db: PGlite): SqlRunner {
  return {
    ...pgliteSession(db),
    async exec(script: string) {
      await db.exec(script);
      await db.refreshArrayTypes();
    },
    async transaction(fn) {
      let ranScript = false;
      const result = await db.transaction((tx) => fn(pgliteSession(tx, () => (ranScript = true))));
      if (ranScript) await db.refreshArrayTypes();
      return result;
    },
  };
}
