// The shapes that flow through a position upload, from a raw row as received
// (GraphQL input, CSV record, JSON object) to a row ready to be written.

/** The fields of a position row, in the order of the CSV header. */
export const ROW_FIELDS = [
  'nodeId', 'instrumentId', 'isin', 'cusip', 'ticker', 'quantity', 'baseCurrency', 'marketValue', 'asOfDate', 'tradeDate',
] as const;
export type RowField = (typeof ROW_FIELDS)[number];

/** A row as received: every value is whatever the source gave (strings, a Date from GraphQL, or absent). */
export type RawPositionRow = Partial<Record<RowField, unknown>>;

/** What a row source yields: a row's values, or why the row could not even be read (e.g. wrong column count). */
export type IncomingRow = { values: RawPositionRow } | { unreadable: string };

/** Why one row of an upload was refused; row counts from 1 (0 is the batch as a whole). */
export interface RowError {
  row: number;
  field: string | null;
  code: string;
  message: string;
}

export type InstrumentKey = 'instrumentId' | 'isin' | 'cusip' | 'ticker';

export interface InstrumentRef {
  by: InstrumentKey;
  value: string;
}

/** A row whose fields are well-formed and normalised; its node and instrument are not looked up yet. */
export interface CheckedRow {
  row: number;
  nodeId: string;
  instrument: InstrumentRef;
  quantity: string;
  baseCcy: string;
  valuation: { asOfDate: string; marketValue: string } | null;
  /** The first date held: the row's tradeDate, else its valuation date, else today (UTC). */
  tradeDate: string;
}

/**
 * A row with field errors, and whichever of its node and instrument were well-formed:
 * those are still looked up, so that the row reports all of its problems at once.
 */
export interface RejectedRow {
  row: number;
  errors: RowError[];
  nodeId: string | null;
  instrument: InstrumentRef | null;
}

/** A row ready to be written: node and instrument exist and may be used. */
export interface ResolvedRow {
  row: number;
  nodeId: string;
  instrumentId: string;
  quantity: string;
  baseCcy: string;
  valuation: { asOfDate: string; marketValue: string } | null;
  tradeDate: string;
}

export type IngestMode = 'ALL_OR_NOTHING' | 'SKIP_INVALID';
/** The batch types that load positions (MARKET_DATA batches belong to feeds). */
export type PositionBatchType = 'POSITION_UPLOAD' | 'LOAN_SERVICING';
export type BatchStatus = 'STARTED' | 'VALIDATING' | 'COMPLETED' | 'FAILED';

/** At most this many rows per API call; the CLI importer streams larger files. */
export const MAX_API_ROWS = 100_000;
/** Rows validated and written per set-based statement. */
export const DEFAULT_CHUNK_SIZE = 5_000;
/** Detailed errors kept in a batch; beyond that only counts (memory and row size stay bounded). */
export const DEFAULT_MAX_KEPT_ERRORS = 1_000;
