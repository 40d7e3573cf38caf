// Position rows streamed from a file, by its extension: .csv (header line) or
// .json (an array of rows, or { "rows": [...] }).
import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import type { IncomingRow } from '../types';
import { csvRows } from './csvRows';
import { jsonRows } from './jsonRows';

export type FileFormat = 'csv' | 'json';

export function fileFormat(path: string): FileFormat | null {
  const ext = extname(path).toLowerCase();
  return ext === '.csv' ? 'csv' : ext === '.json' ? 'json' : null;
}

export interface FileRowOptions {
  /** The valuation date of rows that give a marketValue without an asOfDate. */
  defaultAsOfDate?: string;
}

async function* withDefaultAsOf(rows: AsyncIterable<IncomingRow>, asOfDate: string): AsyncGenerator<IncomingRow> {
  for await (const row of rows) {
    if ('values' in row && row.values.marketValue !== undefined && row.values.asOfDate === undefined) {
      yield { values: { ...row.values, asOfDate } };
    } else {
      yield row;
    }
  }
}

/** The rows of the file; nothing is opened until the first row is asked for. */
export async function* fileRows(path: string, options: FileRowOptions = {}): AsyncGenerator<IncomingRow> {
  const format = fileFormat(path);
  if (format === null) throw new Error(`${path}: expected a .csv or .json file`);
  // csv-parse decodes bytes itself; the JSON scanner wants text (decoded across chunk boundaries by the stream).
  const stream = createReadStream(path, { encoding: format === 'csv' ? undefined : 'utf8', highWaterMark: 256 * 1024 });
  const rows = format === 'csv' ? csvRows(stream) : jsonRows(stream);
  yield* options.defaultAsOfDate ? withDefaultAsOf(rows, options.defaultAsOfDate) : rows;
}
