// The life of an ingestion_batch row: STARTED -> VALIDATING -> COMPLETED or
// FAILED. Every transition is its own committed statement, except COMPLETED,
// which commits together with the batch's rows (so a batch is never COMPLETED
// without its rows, nor its rows visible before it is COMPLETED). The batch
// row is created before anything else and survives whatever happens to its rows.
// While VALIDATING, its counts so far may be recorded after each chunk
// (recordProgress, on PostgreSQL: see ./progress.ts).
import type { SqlRunner, SqlSession } from '../../db/sql';
import type { IngestionBatch } from '../../generated/prisma/client';
import { DomainError } from '../../errors';
import type { BatchStatus, PositionBatchType, RowError } from './types';

// Columns as the Prisma model names them, so API and CLI return the same shape.
const BATCH_COLUMNS = `id::text AS id, batch_type::text AS "batchType", status::text AS status, source_system AS "sourceSystem",
  idempotency_key AS "idempotencyKey", created_by AS "createdBy", fund_ids::text[] AS "fundIds", row_count AS "rowCount", accepted_count AS "acceptedCount",
  rejected_count AS "rejectedCount", validation_errors_json AS "validationErrorsJson", started_at AS "startedAt",
  completed_at AS "completedAt", created_at AS "createdAt", updated_at AS "updatedAt"`;

export interface NewBatch {
  batchType: PositionBatchType;
  sourceSystem: string;
  /** Scoped to createdBy: the same key from another sender is another key. */
  idempotencyKey: string | null;
  /** The caller (token subject, or cli:<user>) sending it: may always see it. Required with a key. */
  createdBy: string | null;
}

/** Who is asking, for the visibility of a batch found by its key (null funds: every fund). */
export interface BatchReader {
  funds: readonly string[] | null;
  subject: string | null;
}

/**
 * May the reader read this batch by id? The rule of batchVisible (./queries.ts), applied to a row in
 * hand: every fund its rows named is the reader's; a batch that named none, only its sender.
 */
export function mayReadBatch(batch: Pick<IngestionBatch, 'fundIds' | 'createdBy'>, reader: BatchReader): boolean {
  if (reader.funds === null) return true;
  const funds = new Set(reader.funds);
  return batch.fundIds.every((f) => funds.has(f)) && (batch.fundIds.length > 0 || (batch.createdBy !== null && batch.createdBy === reader.subject));
}

/**
 * The earlier batch a key names for this sender: their own (created_by = sender), else one keyed before
 * senders were recorded (created_by NULL: the key was global then) that the reader may read. Someone
 * else's batch is never found, whatever its key.
 */
async function batchOfKey(sql: SqlRunner, key: string, sender: string, reader: BatchReader): Promise<IngestionBatch | null> {
  const rows = await sql.query<IngestionBatch>(
    `SELECT ${BATCH_COLUMNS} FROM ingestion_batch
     WHERE idempotency_key = $1 AND (created_by = $2 OR created_by IS NULL)
     ORDER BY created_by NULLS LAST`,
    [key, sender],
  );
  const own = rows.find((row) => row.createdBy === sender);
  if (own) {
    if (mayReadBatch(own, reader)) return own;
    // Their own key, for a batch they may no longer read (their funds changed): neither show it nor load twice.
    throw new DomainError('CONFLICT', 'This idempotency key was used by an earlier upload of yours whose batch you may no longer read; send it with a new key', 'input.idempotencyKey');
  }
  return rows.find((row) => row.createdBy === null && mayReadBatch(row, reader)) ?? null;
}

/**
 * Creates the batch (STARTED) in its own statement, or, when the sender's idempotency key names an
 * earlier batch they may read, returns that one with created = false. The unique index on
 * (created_by, idempotency_key) decides between simultaneous uploads of one sender: exactly one
 * INSERT wins, the others do nothing and read the winner back. Other senders' keys never meet.
 */
export async function createBatch(sql: SqlRunner, batch: NewBatch, reader: BatchReader): Promise<{ batch: IngestionBatch; created: boolean }> {
  const key = batch.idempotencyKey;
  if (key !== null && batch.createdBy === null) throw new Error('an upload with an idempotency key needs its sender (createdBy)');
  if (key !== null) {
    const earlier = await batchOfKey(sql, key, batch.createdBy as string, reader);
    if (earlier) return { batch: earlier, created: false };
  }
  const [inserted] = await sql.query<IngestionBatch>(
    `INSERT INTO ingestion_batch (batch_type, status, source_system, idempotency_key, created_by)
     VALUES ($1::text::batch_type, 'STARTED', $2, $3, $4)
     ON CONFLICT (created_by, idempotency_key) DO NOTHING
     RETURNING ${BATCH_COLUMNS}`,
    [batch.batchType, batch.sourceSystem, key, batch.createdBy],
  );
  if (inserted) return { batch: inserted, created: true };
  // A simultaneous upload of the same sender with the same key won the insert.
  const winner = await batchOfKey(sql, key as string, batch.createdBy as string, reader);
  if (!winner) throw new Error(`ingestion batch with idempotency key ${key} vanished`);
  return { batch: winner, created: false };
}

export async function markValidating(sql: SqlRunner, id: string): Promise<void> {
  await sql.query(`UPDATE ingestion_batch SET status = 'VALIDATING', updated_at = clock_timestamp() WHERE id = $1::uuid`, [id]);
}

/** A running batch's counts so far (rows read, accepted, rejected). */
export interface BatchCounts {
  rowCount: number;
  acceptedCount: number;
  rejectedCount: number;
}

/**
 * Records a running batch's counts so far (its progress: the NOTIFY trigger announces the change), in a
 * statement of its own, never in the rows' transaction. Only while the batch is VALIDATING: a batch already
 * COMPLETED or FAILED is left as it is, whenever this arrives (a statement waiting on the row lock of the
 * transaction that finishes the batch re-reads the row after that commit and finds it finished). True when
 * the counts were written.
 */
export async function recordProgress(sql: SqlRunner, id: string, counts: BatchCounts): Promise<boolean> {
  const rows = await sql.query(
    `UPDATE ingestion_batch SET row_count = $2, accepted_count = $3, rejected_count = $4, updated_at = clock_timestamp()
     WHERE id = $1::uuid AND status = 'VALIDATING'
     RETURNING 1 AS written`,
    [id, counts.rowCount, counts.acceptedCount, counts.rejectedCount],
  );
  return rows.length > 0;
}

/** The outcome of a batch as stored on its row. */
export interface BatchOutcome {
  status: Extract<BatchStatus, 'COMPLETED' | 'FAILED'>;
  rowCount: number;
  acceptedCount: number;
  rejectedCount: number;
  errors: readonly RowError[];
  /** The funds whose nodes the rows named (who may see the batch). */
  fundIds: readonly string[];
}

/** Lineage of a batch: where it came from, the steps applied, the checks' outcome. */
export interface BatchLineage {
  sourceSystem: string;
  transformationChain: readonly string[];
  qualityChecks: readonly unknown[];
  metadata: Record<string, unknown>;
}

/**
 * Records the outcome and the lineage on the given session (the rows' transaction for COMPLETED), if the
 * batch is still open (STARTED or VALIDATING); null when it was finished already.
 */
export async function finishBatch(tx: SqlSession, id: string, outcome: BatchOutcome, lineage: BatchLineage): Promise<IngestionBatch | null> {
  const [row] = await tx.query<IngestionBatch>(
    `UPDATE ingestion_batch
     SET status = $2::text::batch_status, row_count = $3, accepted_count = $4, rejected_count = $5,
         validation_errors_json = $6::text::jsonb, fund_ids = $7::uuid[],
         completed_at = GREATEST(clock_timestamp(), started_at), updated_at = clock_timestamp()
     WHERE id = $1::uuid AND status IN ('STARTED', 'VALIDATING')
     RETURNING ${BATCH_COLUMNS}`,
    [id, outcome.status, outcome.rowCount, outcome.acceptedCount, outcome.rejectedCount, JSON.stringify(outcome.errors), [...outcome.fundIds]],
  );
  if (!row) return null;
  await tx.query(
    `INSERT INTO data_lineage (ingestion_batch_id, source_system, transformation_chain, quality_checks, metadata_json)
     VALUES ($1::uuid, $2, $3::text[], $4::text::jsonb, $5::text::jsonb)`,
    [id, lineage.sourceSystem, [...lineage.transformationChain], JSON.stringify(lineage.qualityChecks), JSON.stringify(lineage.metadata)],
  );
  return row;
}

export async function findBatch(sql: SqlSession, id: string): Promise<IngestionBatch> {
  const [row] = await sql.query<IngestionBatch>(`SELECT ${BATCH_COLUMNS} FROM ingestion_batch WHERE id = $1::uuid`, [id]);
  if (!row) throw new Error(`ingestion batch ${id} vanished`);
  return row;
}

/**
 * Marks the batch FAILED in a transaction of its own (after the rows' transaction rolled back). Should the
 * batch be finished already (a COMMIT whose answer was lost with the connection), it is returned as it is:
 * a COMPLETED batch is never turned FAILED.
 */
export function failBatch(sql: SqlRunner, id: string, outcome: Omit<BatchOutcome, 'status'>, lineage: BatchLineage): Promise<IngestionBatch> {
  return sql.transaction(async (tx) => (await finishBatch(tx, id, { ...outcome, status: 'FAILED', acceptedCount: 0 }, lineage)) ?? findBatch(tx, id));
}
