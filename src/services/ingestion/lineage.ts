// The lineage recorded for every position batch (data_lineage with
// ingestion_batch_id): where the rows came from, the steps applied, and a
// summary of the quality checks in the same shape as a feed's checks.
import type { BatchLineage } from './batches';
import type { IngestMode, PositionBatchType, RowError } from './types';

/** How the rows arrived: the first step of the transformation chain, and details for the metadata. */
export interface IngestOrigin {
  kind: 'api' | 'cli';
  /** e.g. "GraphQL uploadPositions" or "read CSV file positions.csv". */
  step: string;
  details?: Record<string, unknown>;
}

export interface RunSummary {
  batchType: PositionBatchType;
  mode: IngestMode;
  sourceSystem: string;
  idempotencyKey: string | null;
  chunkSize: number;
  rows: number;
  accepted: number;
  rejected: number;
  positions: number;
  valuations: number;
  errorsByCode: Record<string, number>;
  errorsKept: number;
  errorsTotal: number;
}

function qualityChecks(run: RunSummary, failure: RowError | null): unknown[] {
  const written = failure === null;
  return [
    {
      name: 'row validation',
      status: run.rejected === 0 ? 'PASS' : run.mode === 'SKIP_INVALID' ? 'WARN' : 'FAIL',
      message: `${run.accepted} of ${run.rows} rows valid, ${run.rejected} rejected`,
      observed: { rows: run.rows, accepted: run.accepted, rejected: run.rejected, errorsByCode: run.errorsByCode },
      threshold: { mode: run.mode },
    },
    {
      name: 'write',
      status: written ? 'PASS' : 'FAIL',
      message: written ? `${run.positions} positions and ${run.valuations} valuations written` : failure.message,
      observed: { positions: written ? run.positions : 0, valuations: written ? run.valuations : 0 },
      threshold: null,
    },
  ];
}

export function batchLineage(origin: IngestOrigin, run: RunSummary, failure: RowError | null): BatchLineage {
  const written = failure === null;
  return {
    sourceSystem: run.sourceSystem,
    transformationChain: [
      origin.step,
      'check fields (identifier check digits, exact decimals within column precision, ISO 4217 currency, dates)',
      'resolve nodes (BOOK or STRATEGY) and instruments (by id, ISIN, CUSIP or ticker)',
      run.mode === 'ALL_OR_NOTHING' ? 'ALL_OR_NOTHING: any invalid row fails the batch' : 'SKIP_INVALID: invalid rows reported, valid rows kept',
      `insert positions and upsert valuations set-based in chunks of ${run.chunkSize}, one transaction`,
      ...(written ? [] : ['rolled back']),
    ],
    qualityChecks: qualityChecks(run, failure),
    metadata: {
      origin: origin.kind,
      batchType: run.batchType,
      mode: run.mode,
      idempotencyKey: run.idempotencyKey,
      chunkSize: run.chunkSize,
      positionsWritten: written ? run.positions : 0,
      valuationsWritten: written ? run.valuations : 0,
      errorsKept: run.errorsKept,
      errorsTotal: run.errorsTotal,
      ...origin.details,
    },
  };
}
