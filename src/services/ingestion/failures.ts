// Why a batch failed, as the row-0 error stored with it. Database errors are
// described by their SQLSTATE and constraint only: their messages can carry
// SQL or values and must not reach a client.
import type { RunSummary } from './lineage';
import type { RowError } from './types';

/** ALL_OR_NOTHING with at least one invalid row: the rows' transaction is rolled back. */
export class RowsRejected extends Error {
  constructor() {
    super('invalid rows under ALL_OR_NOTHING');
    this.name = 'RowsRejected';
  }
}

/** The row source itself failed (unreadable file, broken CSV quoting, invalid JSON structure). */
export class SourceUnreadable extends Error {
  constructor(readonly reason: unknown) {
    super(reason instanceof Error ? reason.message : String(reason));
    this.name = 'SourceUnreadable';
  }
}

interface DriverError {
  code?: unknown;
  constraint?: unknown;
  table?: unknown;
}

const CONNECTION_LOST = /connection (terminated|ended|lost|closed)|ECONNRESET|ECONNREFUSED|EPIPE|timeout/i;

function databaseDetail(error: unknown): string {
  const e = (error ?? {}) as DriverError;
  const message = error instanceof Error ? error.message : '';
  if (!(typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) && CONNECTION_LOST.test(`${message} ${String(e.code ?? '')}`)) {
    return 'the database connection was lost or timed out';
  }
  const parts = [
    typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) ? `SQLSTATE ${e.code}` : null,
    typeof e.constraint === 'string' ? `constraint ${e.constraint}` : null,
    typeof e.table === 'string' ? `table ${e.table}` : null,
  ].filter((p): p is string => p !== null);
  return parts.length > 0 ? parts.join(', ') : 'no database detail';
}

export function describeFailure(error: unknown, run: RunSummary): RowError {
  if (error instanceof RowsRejected) {
    return {
      row: 0, field: null, code: 'ROWS_REJECTED',
      message: `${run.rejected} of ${run.rows} rows are invalid; with ALL_OR_NOTHING nothing of the batch was written`,
    };
  }
  if (error instanceof SourceUnreadable) {
    return {
      row: 0, field: null, code: 'UNREADABLE_INPUT',
      message: `The input could not be read after ${run.rows} rows (${error.message.slice(0, 300)}); nothing of the batch was written`,
    };
  }
  return {
    row: 0, field: null, code: 'WRITE_FAILED',
    message: `Writing the rows failed after ${run.rows} rows (${databaseDetail(error)}); nothing of the batch was written`,
  };
}
