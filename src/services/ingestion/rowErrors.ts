// The errors of one batch, bounded: the first `limit` are kept in detail,
// the rest only counted (per code), so a file of a million bad rows does not
// hold a million messages in memory or in validation_errors_json.
import { DomainError } from '../../errors';
import type { RowError } from './types';

export const TRUNCATED_CODE = 'ERRORS_TRUNCATED';

export class RowErrorLog {
  readonly kept: RowError[] = [];
  /** Every error seen, kept or not. */
  total = 0;
  /** Rows with at least one error. */
  rejectedRows = 0;
  readonly byCode: Record<string, number> = {};

  constructor(readonly limit: number) {}

  /** Records the errors of one rejected row. */
  reject(errors: readonly RowError[]): void {
    this.rejectedRows++;
    for (const error of errors) {
      this.total++;
      this.byCode[error.code] = (this.byCode[error.code] ?? 0) + 1;
      if (this.kept.length < this.limit) this.kept.push(error);
    }
  }

  /** What validation_errors_json stores: batch-level errors (row 0) first, then the kept row errors, then a count of the rest. */
  toJson(batchErrors: readonly RowError[] = []): RowError[] {
    const dropped = this.total - this.kept.length;
    const tail: RowError[] = dropped > 0
      ? [{ row: 0, field: null, code: TRUNCATED_CODE, message: `${dropped} more errors were found; only the first ${this.limit} are kept` }]
      : [];
    return [...batchErrors, ...this.kept, ...tail];
  }
}

/** A DomainError (from the shared input checks) as the RowError of a row. */
export function rowErrorOf(row: number, error: unknown, fallbackField: string | null): RowError {
  if (error instanceof DomainError) return { row, field: error.field ?? fallbackField, code: error.code, message: error.message };
  throw error;
}

/** Runs one field check; a DomainError becomes a RowError in `errors` and the result is null. */
export function attempt<T>(errors: RowError[], row: number, field: string, check: () => T): T | null {
  try {
    return check();
  } catch (error) {
    errors.push(rowErrorOf(row, error, field));
    return null;
  }
}

/** Parses validation_errors_json defensively (it is ours, but older or foreign rows must not break a query). */
export function rowErrorsFromJson(json: unknown): RowError[] {
  if (!Array.isArray(json)) return [];
  return json.flatMap((e: unknown) => {
    const v = e as Partial<RowError> | null;
    if (!v || typeof v.row !== 'number' || typeof v.code !== 'string' || typeof v.message !== 'string') return [];
    return [{ row: v.row, field: typeof v.field === 'string' ? v.field : null, code: v.code, message: v.message }];
  });
}
