// Per-request loaders of the ingestion domain: batches by id, and the lineage of batches.
import type { Caller } from '../auth/caller';
import type { Prisma } from '../db/database';
import { findBatchesByIds, findLineageOfBatches } from '../services/ingestion/queries';
import { listLoader, rowLoader } from './keyed';

export function ingestionLoaders(prisma: Prisma, caller: Caller) {
  return {
    ingestionBatchById: rowLoader((ids: readonly string[]) => findBatchesByIds(prisma, ids, caller), (b) => b.id),
    lineageByBatchId: listLoader((ids: readonly string[]) => findLineageOfBatches(prisma, ids), (l) => l.ingestionBatchId as string),
  };
}
