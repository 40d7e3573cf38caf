// Prepared statements for the reads the service sends again and again (Database.read on PostgreSQL).
// Sent unnamed, a statement is parsed and planned anew each time: the statement of ten books' first
// positions with their instruments and issuers planned in ~2 ms and ran in ~0.5 ms at 10,000
// positions (EXPLAIN: Planning Time), the same at a million. Named, it is parsed once per connection,
// and PostgreSQL's plan cache keeps a generic plan when that costs no more than the custom plans it
// made the first five times (plan_cache_mode auto), else plans it for each call's values as before.
// Only a text sent a second time is named (a statement built around literals and sent once is not
// kept by every connection), and at most `max` texts per process: each connection keeps what it
// prepared until it closes. DB_PREPARED_STATEMENTS=false sends every statement unnamed (a pooler in
// transaction mode without prepared-statement support, such as PgBouncer before 1.21, needs that).
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';

/** The most statement texts one process names. */
export const MAX_NAMED_STATEMENTS = 300;

type Read = (text: string, values?: unknown[]) => Promise<unknown[]>;

export function preparedReads(pool: Pick<Pool, 'query'>, max = MAX_NAMED_STATEMENTS): Read & { named(): number } {
  // Per text: how often it was sent unnamed (a number), its name, or false (never named).
  const texts = new Map<string, number | string | false>();
  let named = 0;
  const nameOf = (text: string): string | undefined => {
    const known = texts.get(text);
    if (typeof known === 'string') return known;
    if (known === false || named >= max) return undefined;
    if (known === undefined) {
      // Texts seen once are counted up to a bound, then counted afresh (the named ones stay).
      if (texts.size >= max * 4) for (const [t, state] of texts) if (typeof state === 'number') texts.delete(t);
      texts.set(text, 1);
      return undefined;
    }
    // Named by the text's digest: the same text has the same name on every connection and for every
    // reader of a pool, and two texts never share one (pg refuses a name reused for another text).
    const name = `pds_${createHash('sha256').update(text).digest('base64url').slice(0, 32)}`;
    named++;
    texts.set(text, name);
    return name;
  };
  const read = async (text: string, values: unknown[] = []) => {
    const name = nameOf(text);
    if (name === undefined) return (await pool.query(text, values)).rows;
    try {
      return (await pool.query({ name, text, values })).rows;
    } catch (error) {
      // A table whose columns changed under a prepared `SELECT t.*` (a migration applied beside a
      // running instance): PostgreSQL refuses the prepared statement on that connection from then on.
      if ((error as { code?: string }).code === '0A000' && /cached plan must not change result type/.test((error as Error).message)) {
        texts.set(text, false);
        return (await pool.query(text, values)).rows;
      }
      throw error;
    }
  };
  return Object.assign(read, { named: () => named });
}
