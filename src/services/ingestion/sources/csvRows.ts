// Position rows from a CSV stream (csv-parse's streaming API), one record at a
// time with backpressure: the file is never held in memory. The first line is
// the header naming the columns (any order, any case): nodeId, instrumentId,
// isin, cusip, ticker, quantity, baseCurrency, marketValue, asOfDate. Empty
// cells are absent values. A record with the wrong number of cells is an
// unreadable row (reported, not fatal); broken quoting stops the file.
import { pipeline, type Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { ROW_FIELDS, type IncomingRow, type RawPositionRow, type RowField } from '../types';

const REQUIRED: readonly RowField[] = ['nodeId', 'quantity', 'baseCurrency'];

/** The header's columns as row fields; throws (the file cannot be read) on an unknown, repeated or missing column. */
export function headerFields(header: readonly string[]): RowField[] {
  const byName = new Map(ROW_FIELDS.map((f) => [f.toLowerCase(), f]));
  const fields = header.map((name) => {
    const field = byName.get(name.trim().toLowerCase());
    if (!field) throw new Error(`unknown column ${JSON.stringify(name.slice(0, 40))} in the header; the columns are ${ROW_FIELDS.join(', ')}`);
    return field;
  });
  const repeated = fields.find((f, i) => fields.indexOf(f) !== i);
  if (repeated) throw new Error(`column ${repeated} appears twice in the header`);
  const missing = REQUIRED.filter((f) => !fields.includes(f));
  if (missing.length > 0) throw new Error(`the header lacks the column(s) ${missing.join(', ')}`);
  return fields;
}

function rowOf(fields: readonly RowField[], record: readonly string[]): IncomingRow {
  if (record.length !== fields.length) {
    return { unreadable: `the record has ${record.length} cells; the header has ${fields.length}` };
  }
  const values: RawPositionRow = {};
  fields.forEach((field, i) => {
    const cell = record[i]!;
    if (cell.trim() !== '') values[field] = cell;
  });
  return { values };
}

export async function* csvRows(input: Readable): AsyncGenerator<IncomingRow> {
  // No `info` option: line numbers cost a third of the parsing time, and errors name the row anyway.
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: true });
  // pipeline, not pipe: a read error of the input reaches the parser (and so this loop).
  pipeline(input, parser, () => undefined);
  let fields: RowField[] | null = null;
  for await (const record of parser as AsyncIterable<string[]>) {
    if (fields === null) {
      fields = headerFields(record);
      continue;
    }
    yield rowOf(fields, record);
  }
  if (fields === null) throw new Error('the file is empty: a header line is required');
}
