// A running batch's counts for everyone else (ingestionBatchProgress, a poll
// of ingestionBatch): after each chunk the importer hands its counts so far to
// a ProgressWriter, which records them on the batch row OUTSIDE the rows'
// transaction, so that they commit at once and the batch row's NOTIFY trigger
// announces them to every instance. The rows themselves stay invisible until
// the batch commits COMPLETED (or are rolled back and the batch marked FAILED:
// the counts seen while it ran were progress, and FAILED sets acceptedCount 0).
//
// Best effort, and never in the import's way:
// - at most one write in flight; counts reported meanwhile replace each other
//   (the latest wins), so a slow database costs skipped updates, not time;
// - the import never waits for a write while its transaction is open: the
//   transaction that finishes the batch locks the batch row, and a progress
//   write still in flight then waits for that commit (and, being conditional on
//   VALIDATING, changes nothing); waiting for it inside the transaction would be
//   a deadlock. close() is awaited after the transaction has ended;
// - a write is only started when the pool has a connection to spare right now
//   (Database.spareConnection): with DB_POOL_MAX=1 the transaction holds the
//   only one, and under load the requests have it, so progress is skipped;
// - a failed write is reported to onError (logged) and the next chunk tries again.
//
// PostgreSQL only. On the embedded database (PGlite) one session serves the whole
// process and a transaction holds it whole: every other statement, the reads
// of ingestionBatch and of the subscriptions included, waits for the import to
// commit, so nobody can read a count before the final one. There the batch goes
// from VALIDATING (zero counts) to COMPLETED or FAILED, and onProgress (the
// importer's own callback, e.g. the CLI's progress lines) is the only progress.
import type { Database } from '../../db/database';
import { recordProgress, type BatchCounts } from './batches';

export class ProgressWriter {
  private pending: BatchCounts | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private running = false;
  private closed = false;
  /** Writes started, and those skipped for want of a spare connection (for tests and logs). */
  readonly stats = { written: 0, skipped: 0, failed: 0 };

  constructor(
    private readonly write: (counts: BatchCounts) => Promise<unknown>,
    private readonly canWrite: () => boolean,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The counts so far; written now if nothing is in flight, else after it (replacing any not yet written). */
  report(counts: BatchCounts): void {
    if (this.closed) return;
    this.pending = counts;
    if (!this.running) {
      this.running = true;
      this.flushing = this.flush();
    }
  }

  private async flush(): Promise<void> {
    try {
      while (this.pending && !this.closed) {
        const counts = this.pending;
        this.pending = null;
        if (!this.canWrite()) {
          this.stats.skipped++;
          continue;
        }
        this.stats.written++;
        try {
          await this.write(counts);
        } catch (error) {
          this.stats.failed++;
          this.onError(error);
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** No write starts from now on; resolves once the one in flight (if any) has ended. Never rejects. */
  close(): Promise<void> {
    this.closed = true;
    this.pending = null;
    return this.flushing;
  }
}

/**
 * The progress writer of a batch on this database, or null where other sessions cannot be shown progress
 * (the embedded database: see the file comment).
 */
export function batchProgressWriter(db: Database, batchId: string, onError: (error: unknown) => void): ProgressWriter | null {
  const spare = db.spareConnection;
  if (db.kind !== 'postgres' || !spare) return null;
  return new ProgressWriter((counts) => recordProgress(db.sql, batchId, counts), () => spare(), onError);
}
