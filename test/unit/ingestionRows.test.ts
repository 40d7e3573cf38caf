// Pure parts of the position importer: field checks of one row, the bounded
// error log, chunk numbering and read-ahead, and how failures are described.
import { checkedChunks, readAhead } from '../../src/services/ingestion/chunks';
import { describeFailure, RowsRejected, SourceUnreadable } from '../../src/services/ingestion/failures';
import type { RunSummary } from '../../src/services/ingestion/lineage';
import { RowErrorLog, rowErrorsFromJson, TRUNCATED_CODE } from '../../src/services/ingestion/rowErrors';
import type { IncomingRow, RawPositionRow } from '../../src/services/ingestion/types';
import { calendarDate, checkRow } from '../../src/services/ingestion/validateRows';

const NODE = '6f1c1d1e-0000-4000-8000-000000000001';
const base: RawPositionRow = { nodeId: NODE, isin: 'US0378331005', quantity: '100', baseCurrency: 'USD' };

/** [field, code] of each error of the row, or 'ok'. */
function problems(raw: RawPositionRow): 'ok' | [string | null, string][] {
  const result = checkRow(raw, 7);
  if ('ok' in result) return 'ok';
  for (const e of result.rejected.errors) expect(e.row).toBe(7);
  return result.rejected.errors.map((e) => [e.field, e.code]);
}

describe('checkRow', () => {
  it('normalises a valid row: identifiers upper-cased and trimmed, decimals canonical, ids lower-cased', () => {
    const result = checkRow({ ...base, nodeId: NODE.toUpperCase(), isin: ' us0378331005 ', quantity: '+0012.50', baseCurrency: ' eur ', marketValue: '-1.10', asOfDate: '2024-02-29' }, 3);
    expect(result).toEqual({
      ok: {
        row: 3, nodeId: NODE, instrument: { by: 'isin', value: 'US0378331005' }, quantity: '12.5', baseCcy: 'EUR',
        valuation: { asOfDate: '2024-02-29', marketValue: '-1.1' }, tradeDate: '2024-02-29',
      },
    });
  });

  it('names the instrument by exactly one of instrumentId, isin, cusip, ticker', () => {
    const { isin: _isin, ...noInstrument } = base;
    expect(problems({ ...noInstrument, cusip: '037833100' })).toBe('ok');
    expect(problems({ ...noInstrument, ticker: 'aapl.o' })).toBe('ok');
    expect(problems({ ...noInstrument, instrumentId: NODE })).toBe('ok');
    expect(problems(noInstrument)).toEqual([['instrumentId', 'BAD_USER_INPUT']]);
    expect(problems({ ...noInstrument, isin: '  ', ticker: '' })).toEqual([['instrumentId', 'BAD_USER_INPUT']]);
    expect(problems({ ...base, ticker: 'AAPL', cusip: '037833100' })).toEqual([['isin,cusip,ticker', 'BAD_USER_INPUT']]);
  });

  it('verifies identifier check digits and id syntax', () => {
    expect(problems({ ...base, isin: 'US0378331006' })).toEqual([['isin', 'BAD_USER_INPUT']]);
    const { isin: _isin, ...rest } = base;
    expect(problems({ ...rest, cusip: '037833101' })).toEqual([['cusip', 'BAD_USER_INPUT']]);
    expect(problems({ ...rest, ticker: 'no$such' })).toEqual([['ticker', 'BAD_USER_INPUT']]);
    expect(problems({ ...rest, instrumentId: 'abc' })).toEqual([['instrumentId', 'NOT_FOUND']]);
    expect(problems({ ...base, nodeId: 'node-1' })).toEqual([['nodeId', 'NOT_FOUND']]);
    expect(problems({ ...base, nodeId: undefined })).toEqual([['nodeId', 'BAD_USER_INPUT']]);
  });

  it('keeps decimals exact within column precision, never rounding', () => {
    expect(problems({ ...base, quantity: '123456789012345678.1234567891' })).toBe('ok');
    expect(problems({ ...base, quantity: '1.12345678901' })).toEqual([['quantity', 'BAD_USER_INPUT']]);
    expect(problems({ ...base, quantity: '1234567890123456789' })).toEqual([['quantity', 'BAD_USER_INPUT']]);
    for (const bad of ['NaN', 'Infinity', '1e5', '1,5', 'abc', '']) {
      expect(problems({ ...base, quantity: bad })).toEqual([['quantity', 'BAD_USER_INPUT']]);
    }
    expect(problems({ ...base, marketValue: '1.123456789', asOfDate: '2024-06-28' })).toEqual([['marketValue', 'BAD_USER_INPUT']]);
    expect(problems({ ...base, marketValue: '12345678901234567890.12345678', asOfDate: '2024-06-28' })).toBe('ok');
  });

  it('checks currency and the marketValue/asOfDate pair', () => {
    expect(problems({ ...base, baseCurrency: 'EURO' })).toEqual([['baseCurrency', 'BAD_USER_INPUT']]);
    expect(problems({ ...base, baseCurrency: 'XYZ' })).toEqual([['baseCurrency', 'BAD_USER_INPUT']]);
    expect(problems({ ...base, marketValue: '5' })).toEqual([['asOfDate', 'BAD_USER_INPUT']]);
    expect(problems({ ...base, asOfDate: '2024-06-28' })).toEqual([['marketValue', 'BAD_USER_INPUT']]);
    expect(problems({ ...base, marketValue: '5', asOfDate: '2023-02-29' })).toEqual([['asOfDate', 'BAD_USER_INPUT']]);
    expect(problems({ ...base, marketValue: '5', asOfDate: new Date('2024-06-28T00:00:00Z') })).toBe('ok');
  });

  it('reports every problem of a row at once, and non-string values', () => {
    const result = checkRow({ ...base, quantity: 'x' }, 1);
    expect(result).toMatchObject({ rejected: { nodeId: NODE, instrument: { by: 'isin', value: 'US0378331005' } } });
    expect(problems({ nodeId: 42, isin: 'US0378331006', quantity: '1.5.5', baseCurrency: 'usdollar', marketValue: '1' })).toEqual([
      ['nodeId', 'BAD_USER_INPUT'], ['isin', 'BAD_USER_INPUT'], ['quantity', 'BAD_USER_INPUT'],
      ['baseCurrency', 'BAD_USER_INPUT'], ['asOfDate', 'BAD_USER_INPUT'],
    ]);
  });

  it('parses calendar dates strictly', () => {
    expect(calendarDate('2024-12-31', 'd')).toBe('2024-12-31');
    for (const bad of ['2024-13-01', '2024-1-01', '31/12/2024', '2024-12-31T00:00:00Z']) expect(() => calendarDate(bad, 'd')).toThrow(/calendar date/);
  });
});

describe('RowErrorLog', () => {
  it('keeps the first errors in detail and counts the rest', () => {
    const log = new RowErrorLog(3);
    for (let row = 1; row <= 5; row++) log.reject([{ row, field: 'quantity', code: 'BAD_USER_INPUT', message: 'x' }]);
    log.reject([{ row: 6, field: 'nodeId', code: 'NOT_FOUND', message: 'y' }, { row: 6, field: 'isin', code: 'NOT_FOUND', message: 'z' }]);
    expect(log.rejectedRows).toBe(6);
    expect(log.total).toBe(7);
    expect(log.byCode).toEqual({ BAD_USER_INPUT: 5, NOT_FOUND: 2 });
    const json = log.toJson([{ row: 0, field: null, code: 'ROWS_REJECTED', message: 'r' }]);
    expect(json.map((e) => e.row)).toEqual([0, 1, 2, 3, 0]);
    expect(json[4]).toMatchObject({ code: TRUNCATED_CODE, message: expect.stringContaining('4 more errors') });
    expect(rowErrorsFromJson(JSON.parse(JSON.stringify(json)))).toEqual(json);
    expect(rowErrorsFromJson({ not: 'an array' })).toEqual([]);
  });
});

describe('chunks', () => {
  async function* rows(n: number, failAt?: number): AsyncGenerator<IncomingRow> {
    for (let i = 1; i <= n; i++) {
      if (i === failAt) throw new Error('disk on fire');
      yield i % 4 === 0 ? { unreadable: 'bad line' } : { values: { ...base, quantity: String(i) } };
    }
  }

  it('numbers rows from 1 across chunks and checks them as they are read', async () => {
    const chunks = [];
    for await (const chunk of readAhead(checkedChunks(rows(10), 4))) chunks.push(chunk);
    expect(chunks.map((c) => c.size)).toEqual([4, 4, 2]);
    expect(chunks.flatMap((c) => c.checked.map((r) => r.row))).toEqual([1, 2, 3, 5, 6, 7, 9, 10]);
    expect(chunks.flatMap((c) => c.rejected.map((r) => r.row))).toEqual([4, 8]);
    expect(chunks[2]!.checked.map((r) => r.quantity)).toEqual(['9', '10']);
  });

  it('turns a failure of the source into SourceUnreadable, also when it happens during read-ahead', async () => {
    const seen: number[] = [];
    const consume = async () => {
      for await (const chunk of readAhead(checkedChunks(rows(20, 11), 4))) seen.push(chunk.size);
    };
    await expect(consume()).rejects.toBeInstanceOf(SourceUnreadable);
    expect(seen).toEqual([4, 4]);
  });
});

describe('describeFailure', () => {
  const run = { rows: 12, rejected: 3 } as RunSummary;

  it('describes a database error by SQLSTATE and constraint only, never its message', () => {
    const error = Object.assign(new Error('new row for relation "valuation_result" violates check constraint; SELECT secret'), {
      code: '23514', constraint: 'valuation_result_marker_check', table: 'valuation_result',
    });
    const described = describeFailure(error, run);
    expect(described).toMatchObject({ row: 0, field: null, code: 'WRITE_FAILED' });
    expect(described.message).toContain('SQLSTATE 23514, constraint valuation_result_marker_check');
    expect(described.message).not.toContain('secret');
  });

  it('says when the connection was lost', () => {
    expect(describeFailure(new Error('Connection terminated unexpectedly'), run).message).toContain('connection was lost');
    expect(describeFailure(new Error('something odd'), run).message).toContain('no database detail');
  });

  it('names rejected rows and unreadable input', () => {
    expect(describeFailure(new RowsRejected(), run)).toMatchObject({ code: 'ROWS_REJECTED', message: expect.stringContaining('3 of 12 rows') });
    expect(describeFailure(new SourceUnreadable(new Error('Invalid Closing Quote')), run)).toMatchObject({
      code: 'UNREADABLE_INPUT', message: expect.stringContaining('Invalid Closing Quote'),
    });
  });
});
