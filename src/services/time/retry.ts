// Writes that supersede versions run again when the database says their
// recording stamp is older than a version they supersede (superseding_stamp()
// raises 40001: another transaction recorded that version after this one took
// its stamp). Each attempt is a new transaction with a new, later stamp.

import { errorChain } from '../../db/database';

const ATTEMPTS = 4;

/** True for PostgreSQL's serialization_failure (40001), through Prisma's and the adapters' wrappers. */
export function serializationFailure(error: unknown): boolean {
  for (const e of errorChain(error)) {
    if (e.code === '40001' || e.originalCode === '40001') return true;
    if (typeof e.message === 'string' && /\b40001\b|cannot be superseded at/.test(e.message)) return true;
  }
  return false;
}

/** Runs `attempt` (one transaction) again after a serialization failure, a few times. */
export async function retryingSerialization<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= ATTEMPTS || !serializationFailure(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * i));
    }
  }
}
