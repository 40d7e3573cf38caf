// The one pipeline behind uploadPositions and `npm run ingest -- positions`:
// rows stream in from any source (an array, a CSV or JSON file), are checked,
// resolved and written a chunk at a time, so memory stays bounded whatever
// the number of rows.
//
// 1. The batch row is created (STARTED) in its own committed statement, then
//    moved to VALIDATING; both survive whatever happens to the rows.
// 2. One transaction spans the whole source. Each chunk is checked (pure),
//    its nodes and instruments resolved (two statements), and its valid rows
//    written set-based. With ALL_OR_NOTHING, writing stops at the first
//    invalid row but checking goes on, so every error is reported; at the end
//    the transaction is rolled back. The database itself is the staging area:
//    written rows stay invisible to everyone else until the commit. After each
//    chunk the counts so far are recorded on the batch row outside that
//    transaction (PostgreSQL; best effort, never waited for: ./progress.ts), so
//    ingestionBatchProgress and ingestionBatch show the batch advancing.
// 3. COMPLETED and the lineage commit with the rows. On any failure (invalid
//    rows under ALL_OR_NOTHING, an unreadable source, a database error
//    mid-way) the transaction rolls back and the batch is marked FAILED, with
//    the reason as a row-0 error, in a transaction of its own. If even that
//    cannot be written (the database is gone), the original error is thrown
//    and the mark is retried in the background until the database is back.
import type { Database } from '../../db/database';
import type { SqlSession } from '../../db/sql';
import type { IngestionBatch } from '../../generated/prisma/client';
import { silentLogger, type Logger } from '../../logger';
import { createBatch, failBatch, finishBatch, markValidating } from './batches';
import { checkedChunks, readAhead, type CheckedChunk, type RowSource } from './chunks';
import { describeFailure, RowsRejected } from './failures';
import { batchLineage, type IngestOrigin, type RunSummary } from './lineage';
import { batchProgressWriter, type ProgressWriter } from './progress';
import { RefCache, resolveChunk } from './resolveRefs';
import { RowErrorLog } from './rowErrors';
import { writeRows } from './writeRows';
import { DEFAULT_CHUNK_SIZE, DEFAULT_MAX_KEPT_ERRORS, type BatchStatus, type IngestMode, type PositionBatchType } from './types';

export interface IngestProgress {
  rows: number;
  accepted: number;
  rejected: number;
}

export interface IngestOptions {
  batchType: PositionBatchType;
  mode: IngestMode;
  sourceSystem: string;
  idempotencyKey?: string | null;
  origin: IngestOrigin;
  /** The FUND ids whose nodes the caller may write to; null or absent: every fund. */
  funds?: readonly string[] | null;
  /** The caller sending the batch (token subject), recorded on it. */
  createdBy?: string | null;
  chunkSize?: number;
  maxKeptErrors?: number;
  onProgress?: (progress: IngestProgress) => void;
  /** How long to keep retrying the FAILED mark in the background when the database is unreachable (default 5 minutes). */
  failMarkRetryMs?: number;
  /** Called after each status change has been committed. */
  onStatus?: (status: BatchStatus, batchId: string) => void | Promise<void>;
  /** Where a failed progress write is reported (a warning, once per batch); silent by default. */
  logger?: Logger;
  /**
   * A COMPLETED batch that wrote at least this many rows, and at least a twentieth of the positions there
   * were, refreshes the statistics of the tables it wrote (analyzeAfterWrite); default 10,000.
   */
  analyzeAfterRows?: number;
}

/** The tables a batch writes (and the position counts its triggers keep), whose statistics the read plans use. */
const WRITTEN_TABLES = ['position', 'position_version', 'valuation_result', 'node_position_count', 'node_position_change'];

/**
 * After a large write, fresh statistics for the tables it wrote: the planner's row estimates come from
 * them, and autovacuum's ANALYZE comes only once a tenth of a table has changed, up to a minute later -
 * a first upload into a nearly empty database left the reads planned for the empty tables (nested loops
 * over "1 row" that were 50,000). Skipped for small batches (the statistics still hold) and relative to
 * the table (a twentieth of the positions there were). ANALYZE samples a bounded number of rows: about a
 * second even at a million positions, against the minute such a batch takes. Returns whether it ran.
 */
export async function analyzeAfterWrite(db: Database, rowsWritten: number, minRows = 10_000): Promise<boolean> {
  if (rowsWritten < minRows) return false;
  const [row] = await db.sql.query<{ before: number }>(
    `SELECT GREATEST(reltuples, 0)::float8 AS before FROM pg_class WHERE oid = 'position'::regclass`);
  // reltuples as of the last ANALYZE (or VACUUM): the table before this batch, near enough.
  if (rowsWritten < (row?.before ?? 0) / 20) return false;
  await db.sql.exec(`ANALYZE ${WRITTEN_TABLES.join(', ')}`);
  return true;
}

export interface IngestResult {
  batch: IngestionBatch;
  /** False when the idempotency key named an earlier batch: nothing was read or written. */
  created: boolean;
  /** The error that failed the batch, for logs (the batch's errors hold the reason a client may see). */
  failure?: unknown;
}

export type { RowSource };

class BatchRun {
  rows = 0;
  accepted = 0;
  positions = 0;
  valuations = 0;
  readonly cache: RefCache;
  readonly errors: RowErrorLog;
  readonly chunkSize: number;
  /** Records the counts so far on the batch row after each chunk (null: nobody else could read them). */
  progress: ProgressWriter | null = null;

  constructor(readonly options: IngestOptions) {
    this.cache = new RefCache(options.funds ? new Set(options.funds) : null);
    this.errors = new RowErrorLog(options.maxKeptErrors ?? DEFAULT_MAX_KEPT_ERRORS);
    this.chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  get rejected(): number {
    return this.errors.rejectedRows;
  }

  /** ALL_OR_NOTHING stops writing at the first invalid row (the transaction will roll back anyway). */
  get writing(): boolean {
    return this.options.mode === 'SKIP_INVALID' || this.rejected === 0;
  }

  summary(): RunSummary {
    const { batchType, mode, sourceSystem, idempotencyKey } = this.options;
    return {
      batchType, mode, sourceSystem, idempotencyKey: idempotencyKey ?? null, chunkSize: this.chunkSize,
      rows: this.rows, accepted: this.accepted, rejected: this.rejected, positions: this.positions, valuations: this.valuations,
      errorsByCode: this.errors.byCode, errorsKept: this.errors.kept.length, errorsTotal: this.errors.total,
    };
  }
}

async function processChunk(tx: SqlSession, chunk: CheckedChunk, run: BatchRun): Promise<void> {
  const { resolved, rejected } = await resolveChunk(tx, chunk.checked, chunk.rejected, run.cache);
  for (const errors of rejected) run.errors.reject(errors);
  run.rows += chunk.size;
  run.accepted += resolved.length;
  if (run.writing) {
    const counts = await writeRows(tx, resolved);
    run.positions += counts.positions;
    run.valuations += counts.valuations;
  }
}

async function loadRows(tx: SqlSession, batchId: string, source: RowSource, run: BatchRun): Promise<IngestionBatch> {
  for await (const chunk of readAhead(checkedChunks(source, run.chunkSize))) {
    await processChunk(tx, chunk, run);
    run.options.onProgress?.({ rows: run.rows, accepted: run.accepted, rejected: run.rejected });
    run.progress?.report({ rowCount: run.rows, acceptedCount: run.accepted, rejectedCount: run.rejected });
  }
  // No progress write starts any more: the outcome below carries the final counts. One still in flight is
  // not waited for here (finishBatch locks the batch row: it would wait for this transaction); see ./progress.ts.
  void run.progress?.close();
  if (run.options.mode === 'ALL_OR_NOTHING' && run.rejected > 0) throw new RowsRejected();
  const outcome = {
    status: 'COMPLETED' as const, rowCount: run.rows, acceptedCount: run.accepted, rejectedCount: run.rejected, fundIds: [...run.cache.touchedFunds],
  };
  const done = await finishBatch(tx, batchId, { ...outcome, errors: run.errors.toJson() }, batchLineage(run.options.origin, run.summary(), null));
  // Only this run moves its batch on from VALIDATING; anything else is a bug worth rolling back for.
  if (!done) throw new Error(`ingestion batch ${batchId} was finished by someone else`);
  return done;
}

/** How long a batch whose FAILED mark could not be written (database unreachable) is retried in the background. */
export const FAIL_MARK_RETRY_MS = 5 * 60_000;

/** Retries `attempt` with backoff until it succeeds or the window closes; its timers never keep the process alive. */
async function retryInBackground(attempt: () => Promise<unknown>, windowMs: number): Promise<void> {
  const until = Date.now() + windowMs;
  for (let delay = 250; Date.now() < until; delay = Math.min(delay * 2, 2_000)) {
    await new Promise((resolve) => setTimeout(resolve, delay).unref());
    try {
      await attempt();
      return;
    } catch {
      // still unreachable: try again
    }
  }
}

/** Runs a batch over the rows of `source`; see the file comment for the steps and guarantees. */
export async function ingestPositionRows(db: Database, source: RowSource, options: IngestOptions): Promise<IngestResult> {
  const { batch, created } = await createBatch(db.sql, {
    batchType: options.batchType, sourceSystem: options.sourceSystem, idempotencyKey: options.idempotencyKey ?? null,
    createdBy: options.createdBy ?? null,
  }, { funds: options.funds ?? null, subject: options.createdBy ?? null });
  if (!created) return { batch, created: false };
  await options.onStatus?.('STARTED', batch.id);
  await markValidating(db.sql, batch.id);
  await options.onStatus?.('VALIDATING', batch.id);
  const run = new BatchRun(options);
  const logger = options.logger ?? silentLogger;
  let warned = false;
  run.progress = batchProgressWriter(db, batch.id, (error) => {
    if (warned) return;
    warned = true;
    logger.warn({ batchId: batch.id, err: (error as Error)?.message }, 'ingestion batch progress not recorded (the import goes on)');
  });
  let result: IngestResult;
  try {
    try {
      result = { batch: await db.sql.transaction((tx) => loadRows(tx, batch.id, source, run)), created: true };
    } finally {
      // The rows' transaction has ended: a progress write in flight may now end (changing nothing once the batch is finished).
      await run.progress?.close();
    }
  } catch (error) {
    const reason = describeFailure(error, run.summary());
    const outcome = {
      rowCount: run.rows, acceptedCount: 0, rejectedCount: run.rejected, errors: run.errors.toJson([reason]), fundIds: [...run.cache.touchedFunds],
    };
    const markFailed = () => failBatch(db.sql, batch.id, outcome, batchLineage(options.origin, run.summary(), reason));
    const failed = await markFailed().catch(() => null);
    if (!failed) {
      // The database is gone: report the original error now, and mark the batch FAILED as soon as it is back,
      // so that the batch does not stay VALIDATING with none of its rows.
      void retryInBackground(markFailed, options.failMarkRetryMs ?? FAIL_MARK_RETRY_MS);
      throw error;
    }
    result = { batch: failed, created: true, failure: error instanceof RowsRejected ? undefined : error };
  }
  if (result.batch.status === 'COMPLETED') {
    try {
      await analyzeAfterWrite(db, result.batch.acceptedCount, options.analyzeAfterRows);
    } catch (error) {
      // The rows are in and the batch is COMPLETED: stale statistics are autovacuum's to fix, not a failure.
      logger.warn({ batchId: batch.id, err: (error as Error)?.message }, 'statistics not refreshed after a large batch');
    }
  }
  await options.onStatus?.(result.batch.status, batch.id);
  return result;
}
