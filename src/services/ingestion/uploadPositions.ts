// uploadPositions: the API's way into the ingestion pipeline. Checks the
// upload as a whole (source, type, mode, key, row limit) and throws
// BAD_USER_INPUT for those; row problems never throw, they are reported in
// the batch.
import type { Database } from '../../db/database';
import { badInput } from '../../errors';
import type { IngestionBatch } from '../../generated/prisma/client';
import { optionalText, requiredText } from '../inputs';
import { ingestPositionRows, type IngestOptions } from './ingestRows';
import { MAX_API_ROWS, type IncomingRow, type IngestMode, type PositionBatchType, type RawPositionRow } from './types';

export interface PositionUploadInput {
  sourceSystem: string;
  batchType?: string | null;
  mode?: string | null;
  idempotencyKey?: string | null;
  rows: readonly RawPositionRow[];
}

const BATCH_TYPES: readonly PositionBatchType[] = ['POSITION_UPLOAD', 'LOAN_SERVICING'];
const MODES: readonly IngestMode[] = ['ALL_OR_NOTHING', 'SKIP_INVALID'];

export function positionBatchType(value: string | null | undefined, field: string): PositionBatchType {
  const type = value ?? 'POSITION_UPLOAD';
  if (!BATCH_TYPES.includes(type as PositionBatchType)) {
    throw badInput(field, `${field} must be POSITION_UPLOAD or LOAN_SERVICING (MARKET_DATA batches come from feeds), got ${JSON.stringify(type)}`);
  }
  return type as PositionBatchType;
}

export function ingestMode(value: string | null | undefined, field: string): IngestMode {
  const mode = value ?? 'ALL_OR_NOTHING';
  if (!MODES.includes(mode as IngestMode)) throw badInput(field, `${field} must be ALL_OR_NOTHING or SKIP_INVALID, got ${JSON.stringify(mode)}`);
  return mode as IngestMode;
}

/** The checked options of an upload, shared by the API and the CLI. */
export function uploadOptions(input: Omit<PositionUploadInput, 'rows'>, prefix: string): Pick<
  IngestOptions, 'batchType' | 'mode' | 'sourceSystem' | 'idempotencyKey'
> {
  return {
    sourceSystem: requiredText(input.sourceSystem, `${prefix}sourceSystem`, 200),
    batchType: positionBatchType(input.batchType, `${prefix}batchType`),
    mode: ingestMode(input.mode, `${prefix}mode`),
    idempotencyKey: optionalText(input.idempotencyKey, `${prefix}idempotencyKey`, 200),
  };
}

function* incoming(rows: readonly RawPositionRow[]): Generator<IncomingRow> {
  for (const values of rows) yield { values };
}

/**
 * Loads the rows as one batch and returns it (COMPLETED or FAILED), or, for an
 * idempotency key seen before, the first batch as it stands, writing nothing.
 */
export async function uploadPositions(
  db: Database,
  input: PositionUploadInput,
  access: { funds?: readonly string[] | null; createdBy?: string | null; onFinished?: (batch: IngestionBatch) => void } = {},
): Promise<IngestionBatch> {
  const options = uploadOptions(input, 'input.');
  if (input.rows.length > MAX_API_ROWS) {
    throw badInput('input.rows', `At most ${MAX_API_ROWS.toLocaleString('en')} rows per call (got ${input.rows.length.toLocaleString('en')}); use the CLI importer (npm run ingest) for larger files`);
  }
  const result = await ingestPositionRows(db, incoming(input.rows), {
    ...options,
    funds: access.funds ?? null,
    createdBy: access.createdBy ?? null,
    origin: { kind: 'api', step: 'GraphQL uploadPositions', details: { rowsReceived: input.rows.length } },
  });
  // Not for an earlier batch found by its idempotency key: this call finished nothing.
  if (result.created) access.onFinished?.(result.batch);
  return result.batch;
}
