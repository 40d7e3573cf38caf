// Writes that supersede versions run again when the database says their
// recording stamp is older than a version they supersede (superseding_stamp()
// raises 40001: another transaction recorded that version after this one took
// its stamp). Each attempt is a new transaction with a new, later stamp.

const ATTEMPTS = 4;

/** True for PostgreSQL's serialization_failure (40001), through Prisma's and the adapters' wrappers. */
export function serializationFailure(error: unknown): boolean {
  const seen = new Set<unknown>();
  const queue = [error];
  while (queue.length > 0) {
    const e = queue.shift() as Record<string, any> | null | undefined;
    if (!e || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    if (e.code === '40001' || e.originalCode === '40001') return true;
    if (typeof e.message === 'string' && /\b40001\b|cannot be superseded at/.test(e.message)) return true;
    queue.push(e.cause, e.meta?.driverAdapterError, e.meta?.driverAdapterError?.cause);
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
