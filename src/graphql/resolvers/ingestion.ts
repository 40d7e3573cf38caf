// Ingestion batches: uploadPositions, the batch queries and the IngestionBatch type (being implemented).
import type { IngestionBatchResolvers, MutationResolvers, QueryResolvers } from '../generated/resolvers';

export const ingestionQueries: Pick<QueryResolvers, never> = {};
export const ingestionMutations: Pick<MutationResolvers, never> = {};
export const IngestionBatch: IngestionBatchResolvers = {};
