// The importer's file readers: CSV through csv-parse's streaming API and the
// bounded-memory JSON scanner, fed in pieces as a file stream would.
import { Readable } from 'node:stream';
import { csvRows, headerFields } from '../../src/services/ingestion/sources/csvRows';
import { JsonRowScanner, jsonRows } from '../../src/services/ingestion/sources/jsonRows';
import type { IncomingRow } from '../../src/services/ingestion/types';

async function collect(rows: AsyncIterable<IncomingRow>): Promise<IncomingRow[]> {
  const out: IncomingRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

/** The text as a stream of small pieces, split anywhere (also inside tokens). */
function pieces(text: string, size: number): Readable {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
  return Readable.from(parts);
}

describe('csvRows', () => {
  const csv = [
    '\ufeffNodeID,quantity,ISIN,baseCurrency,marketValue,asOfDate',
    'n1,100.5,US0378331005,USD,,',
    '',
    'n2,"1,5",US0378331005,EUR,10.25,2024-06-28',
    'n3,7,US0378331005',
    '"n4",8,US0378331005,GBP,,,extra',
  ].join('\r\n');

  it('maps header names in any order and case, drops empty cells, and flags wrong cell counts', async () => {
    for (const size of [3, 1000]) {
      expect(await collect(csvRows(pieces(csv, size)))).toEqual([
        { values: { nodeId: 'n1', quantity: '100.5', isin: 'US0378331005', baseCurrency: 'USD' } },
        { values: { nodeId: 'n2', quantity: '1,5', isin: 'US0378331005', baseCurrency: 'EUR', marketValue: '10.25', asOfDate: '2024-06-28' } },
        { unreadable: 'the record has 3 cells; the header has 6' },
        { unreadable: 'the record has 7 cells; the header has 6' },
      ]);
    }
  });

  it('refuses a header with unknown, repeated or missing columns, and an empty file', async () => {
    expect(() => headerFields(['nodeId', 'qty', 'baseCurrency'])).toThrow(/unknown column "qty"/);
    expect(() => headerFields(['nodeId', 'quantity', 'quantity', 'baseCurrency'])).toThrow(/twice/);
    expect(() => headerFields(['nodeId', 'isin', 'baseCurrency'])).toThrow(/lacks the column\(s\) quantity/);
    await expect(collect(csvRows(Readable.from([''])))).rejects.toThrow(/empty/);
  });

  it('stops on broken quoting', async () => {
    await expect(collect(csvRows(Readable.from(['nodeId,quantity,baseCurrency\nn1,"5,USD\n'])))).rejects.toThrow(/quote/i);
  });
});

describe('jsonRows', () => {
  const doc = `{"source": "x", "meta": {"rows": [1]}, "rows": [
    {"nodeId": "n1", "quantity": 1000.123456789012345, "baseCurrency": "USD", "note": "a, ] } \\" ["},
    {"nodeId": "n2", "quantity": "5", "marketValue": -12e3, "asOfDate": null},
    42, {broken}, [1]
  ], "tail": true}`;

  it('reads the rows of { "rows": [...] } one at a time, numbers exactly as written', async () => {
    for (const size of [1, 5, 4096]) {
      expect(await collect(jsonRows(pieces(doc, size)))).toEqual([
        { values: { nodeId: 'n1', quantity: '1000.123456789012345', baseCurrency: 'USD', note: 'a, ] } " [' } },
        { values: { nodeId: 'n2', quantity: '5', marketValue: '-12e3', asOfDate: null } },
        { unreadable: 'the row is not a JSON object' },
        { unreadable: expect.stringContaining('not valid JSON') },
        { unreadable: 'the row is not a JSON object' },
      ]);
    }
  });

  it('reads a bare array, including an empty one', async () => {
    expect(await collect(jsonRows(pieces('[{"a": 1}, {"b": [2.50, {"c": 3}]}]', 2)))).toEqual([
      { values: { a: '1' } }, { values: { b: ['2.50', { c: '3' }] } },
    ]);
    expect(await collect(jsonRows(Readable.from([' [ ] ', '\n'])))).toEqual([]);
  });

  it('refuses documents without a rows array', async () => {
    await expect(collect(jsonRows(Readable.from([''])))).rejects.toThrow(/empty/);
    await expect(collect(jsonRows(Readable.from(['{"data": []}'])))).rejects.toThrow(/no "rows" array/);
    await expect(collect(jsonRows(Readable.from(['"rows"'])))).rejects.toThrow(/expected an array/);
    await expect(collect(jsonRows(Readable.from(['[{"a": 1}, {"b"'])))).rejects.toThrow(/ends before/);
  });

  it('bounds the size of one row', () => {
    const scanner = new JsonRowScanner();
    scanner.feed('[{"a": "');
    expect(() => scanner.feed('x'.repeat(1_000_001))).toThrow(/longer than/);
  });
});
