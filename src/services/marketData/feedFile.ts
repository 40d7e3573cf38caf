// Market-data files as payloads, for the CLI importer. JSON files hold the
// payload itself or { "asOfDate", "source", "payload" }; CSV files have a
// header row naming their columns (case, spaces and underscores ignored):
//   fx       pair, rate
//   ratings  lei | isin | ticker | id, agency, rating
//   curve    currency, tenor, rate, discountFactor
//   spreads  lei | isin | ticker | id, tenor, bps
// Values stay text, so numbers reach the checks exactly as written. Anything
// the file cannot be read as is BAD_USER_INPUT on the field "file".
import { parse } from 'csv-parse/sync';
import type { FeedType } from '../../generated/prisma/client';
import { ENTITY_KEYS } from '../../domain/quality/entityRef';
import { badInput } from '../../errors';

export type FeedFileFormat = 'json' | 'csv';
export type FeedFileKindName = 'fx' | 'ratings' | 'curve' | 'spreads';

export const FEED_TYPE_OF_KIND: Record<FeedFileKindName, FeedType> = {
  fx: 'FX_SPOT', ratings: 'RATING', curve: 'YIELD_CURVE', spreads: 'CREDIT_SPREAD',
};

export interface ParsedFeedFile {
  format: FeedFileFormat;
  payload: unknown;
  /** From a JSON envelope, when it has them. */
  asOfDate?: string;
  source?: string;
  /** Data rows of a CSV file; entries of a JSON payload's list. */
  rows: number;
}

type Row = Record<string, string>;

const columnName = (header: string) => header.trim().toLowerCase().replace(/[\s_-]+/g, '');

function requireColumn(header: readonly string[], name: string): void {
  if (!header.includes(name)) throw badInput('file', `the CSV header has no "${name}" column (found: ${header.join(', ') || 'none'})`);
}

/** The identifier column of a ratings or spreads file: exactly one of lei, isin, ticker, id. */
function identifierColumn(header: readonly string[]): string {
  const found = ENTITY_KEYS.filter((k) => header.includes(k));
  if (found.length !== 1) throw badInput('file', `the CSV header must name exactly one identifier column of ${ENTITY_KEYS.join(', ')} (found ${found.length})`);
  return found[0] as string;
}

function curvePayload(rows: readonly Row[]) {
  const currencies = [...new Set(rows.map((r) => (r.currency ?? '').trim().toUpperCase()))];
  if (currencies.length > 1) throw badInput('file', `a curve file holds one currency, found ${currencies.slice(0, 5).join(', ')}`);
  return {
    currency: currencies[0] ?? '',
    points: rows.map((r) => ({ tenor: r.tenor, rate: r.rate, discountFactor: r.discountfactor })),
  };
}

const CSV_COLUMNS: Record<FeedFileKindName, string[]> = {
  fx: ['pair', 'rate'], ratings: ['agency', 'rating'], curve: ['currency', 'tenor', 'rate', 'discountfactor'], spreads: ['tenor', 'bps'],
};

function payloadFromRows(kind: FeedFileKindName, rows: readonly Row[], header: readonly string[]): unknown {
  for (const name of CSV_COLUMNS[kind]) requireColumn(header, name);
  const id = kind === 'ratings' || kind === 'spreads' ? identifierColumn(header) : '';
  switch (kind) {
    case 'fx': return { rates: rows.map((r) => ({ pair: r.pair, rate: r.rate })) };
    case 'ratings': return { ratings: rows.map((r) => ({ entity: { [id]: r[id] }, agency: r.agency, rating: r.rating })) };
    case 'spreads': return { spreads: rows.map((r) => ({ entity: { [id]: r[id] }, tenor: r.tenor, bps: r.bps })) };
    case 'curve': return curvePayload(rows);
  }
}

function parseCsv(kind: FeedFileKindName, text: string): ParsedFeedFile {
  let header: string[] = [];
  let rows: Row[];
  try {
    rows = parse(text, {
      bom: true, trim: true, skip_empty_lines: true,
      columns: (names: string[]) => (header = names.map(columnName)),
    }) as Row[];
  } catch (error) {
    throw badInput('file', `the file is not valid CSV: ${(error as Error).message}`);
  }
  if (rows.length === 0) throw badInput('file', 'the CSV file has no data rows');
  return { format: 'csv', payload: payloadFromRows(kind, rows, header), rows: rows.length };
}

const isEnvelope = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && 'payload' in value;

function parseJson(text: string, entryKey: string): ParsedFeedFile {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw badInput('file', `the file is not valid JSON: ${(error as Error).message}`);
  }
  const envelope = isEnvelope(value) ? value : null;
  const payload = envelope ? envelope.payload : value;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const entries = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)[entryKey] : undefined;
  return {
    format: 'json',
    payload,
    asOfDate: str(envelope?.asOfDate),
    source: str(envelope?.source),
    rows: Array.isArray(entries) ? entries.length : 0,
  };
}

/** JSON by extension (.json) or, without a known extension, by a first character of { or [. */
export function parseFeedFile(kind: FeedFileKindName, fileName: string, text: string, entryKey: string): ParsedFeedFile {
  const lower = fileName.toLowerCase();
  const json = lower.endsWith('.json') || (!lower.endsWith('.csv') && /^\uFEFF?\s*[[{]/.test(text));
  return json ? parseJson(text, entryKey) : parseCsv(kind, text);
}
