// Ingestion batches: uploadPositions, the batch queries and the IngestionBatch
// type. Thin: the pipeline and the SQL live in src/services/ingestion.
import { fundFilter } from '../../auth/caller';
import { listBatches } from '../../services/ingestion/queries';
import { rowErrorsFromJson } from '../../services/ingestion/rowErrors';
import { uploadPositions } from '../../services/ingestion/uploadPositions';
import { toConnection } from '../connection';
import { asks } from '../selection';
import type { IngestionBatchResolvers, MutationResolvers, QueryResolvers } from '../generated/resolvers';

export const ingestionQueries: Pick<QueryResolvers, 'ingestionBatch' | 'ingestionBatches'> = {
  ingestionBatch: (_root, { id }, ctx) => ctx.loaders.ingestionBatchById.load(id.trim().toLowerCase()),
  ingestionBatches: async (_root, { batchType, status, first, after }, ctx, info) =>
    toConnection(await listBatches(ctx.db.read, { batchType, status }, { first, after }, ctx.caller, asks(info, 'totalCount'))),
};

export const ingestionMutations: Pick<MutationResolvers, 'uploadPositions'> = {
  uploadPositions: (_root, { input }, ctx) =>
    uploadPositions(ctx.db, input, { funds: fundFilter(ctx.caller), createdBy: ctx.caller.subject, onFinished: (batch) => ctx.metrics?.batchFinished(batch) }),
};

export const IngestionBatch: IngestionBatchResolvers = {
  errors: (batch) => rowErrorsFromJson(batch.validationErrorsJson),
  lineage: (batch, _args, ctx) => ctx.loaders.lineageByBatchId.load(batch.id),
};
