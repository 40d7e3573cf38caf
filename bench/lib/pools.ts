// pg pools for the comparison servers and the floor, with a statement counter:
// every client the pool creates has its query() wrapped, so whatever uses the
// pool (our naive resolvers, PostGraphile, the floor) is counted the same way.
import { Pool, type PoolClient } from 'pg';

export interface CountingPool {
  pool: Pool;
  /** Statements sent since the last reset, with their first words. */
  statements: string[];
  reset(): void;
}

export const BENCH_POOL_MAX = 10;

export function countingPool(url: string, applicationName: string, max = BENCH_POOL_MAX): CountingPool {
  const pool = new Pool({
    connectionString: url,
    max,
    application_name: applicationName,
    // The same session settings as the service (src/db/database.ts turns JIT off unless DB_JIT=true).
    options: '-c jit=off',
  });
  pool.on('error', () => undefined);
  const counter: CountingPool = {
    pool,
    statements: [],
    reset() {
      counter.statements.length = 0;
    },
  };
  pool.on('connect', (client: PoolClient) => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const first = args[0];
      const text = typeof first === 'string' ? first : (first as { text?: string } | undefined)?.text ?? '?';
      counter.statements.push(text.trim().replace(/\s+/g, ' ').slice(0, 80));
      return original(...args);
    };
  });
  return counter;
}
