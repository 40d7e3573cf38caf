// What the service sends to the database while a test runs some requests.
import type { Database } from '../../src/db/database';
import type { SqlRunner } from '../../src/db/sql';

/** The statements Prisma sends during fn (the service's statements, not the test's own SQL). */
export async function statementsDuring<T>(db: Database, fn: () => Promise<T>): Promise<[T, string[]]> {
  const seen: string[] = [];
  const off = db.onQuery((e) => seen.push(e.query));
  try {
    return [await fn(), seen];
  } finally {
    off();
  }
}

/**
 * Resolves once some connection to the current database waits on a lock while running a
 * statement containing `queryText` (PostgreSQL only: pg_stat_activity); throws after 5 s.
 */
export async function waitForLockWait(sql: SqlRunner, queryText: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [row] = await sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND wait_event_type = 'Lock' AND position($1 in query) > 0`,
      [queryText],
    );
    if (row!.n > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no statement with "${queryText}" ever waited on a lock`);
}
