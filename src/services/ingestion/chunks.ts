// Chunking of a row source, with the pure field checks done as the rows are
// read, and a one-chunk read-ahead: the next chunk is read, parsed and checked
// while the current one is being written, so the importer's CPU work overlaps
// the database's. At most two chunks are in memory at any time.
import { SourceUnreadable } from './failures';
import { checkRow } from './validateRows';
import type { CheckedRow, IncomingRow, RejectedRow } from './types';

export type RowSource = AsyncIterable<IncomingRow> | Iterable<IncomingRow>;

export interface CheckedChunk {
  /** Rows read in this chunk. */
  size: number;
  /** Rows whose fields are fine (their node and instrument still to be looked up). */
  checked: CheckedRow[];
  /** The rows with field errors. */
  rejected: RejectedRow[];
}

function checkChunk(rows: readonly IncomingRow[], firstRow: number): CheckedChunk {
  const checked: CheckedRow[] = [];
  const rejected: RejectedRow[] = [];
  rows.forEach((incoming, i) => {
    const row = firstRow + i;
    if ('unreadable' in incoming) {
      const errors = [{ row, field: null, code: 'BAD_USER_INPUT', message: incoming.unreadable }];
      rejected.push({ row, errors, nodeId: null, instrument: null });
      return;
    }
    const result = checkRow(incoming.values, row);
    if ('ok' in result) checked.push(result.ok);
    else rejected.push(result.rejected);
  });
  return { size: rows.length, checked, rejected };
}

/** The source in checked chunks of `size` rows (rows numbered from 1); an error of the source itself becomes SourceUnreadable. */
export async function* checkedChunks(source: RowSource, size: number): AsyncGenerator<CheckedChunk> {
  let rows: IncomingRow[] = [];
  let first = 1;
  try {
    for await (const incoming of source) {
      rows.push(incoming);
      if (rows.length >= size) {
        const chunk = checkChunk(rows, first);
        first += rows.length;
        rows = [];
        yield chunk;
      }
    }
  } catch (error) {
    throw new SourceUnreadable(error);
  }
  if (rows.length > 0) yield checkChunk(rows, first);
}

/** The same items, asking for the next one as soon as the current one is handed out. */
export async function* readAhead<T>(items: AsyncIterable<T>): AsyncGenerator<T> {
  const iterator = items[Symbol.asyncIterator]();
  let next = iterator.next();
  try {
    for (;;) {
      const current = await next;
      if (current.done) return;
      next = iterator.next();
      // Should the consumer stop early, a failure of the read-ahead is not worth an unhandled rejection.
      next.catch(() => undefined);
      yield current.value;
    }
  } finally {
    await iterator.return?.();
  }
}
