// Field checks of one position row, without I/O: every field is checked on its
// own so that a row reports all of its problems at once. The shared input
// checks (src/services/inputs.ts) normalise and validate; their DomainErrors
// become RowErrors naming the row's field. Whether the node and instrument
// exist is checked afterwards, a chunk at a time (resolveRefs.ts).
import { MONEY, QUANTITY } from '../../domain/decimal';
import { badInput, notFound } from '../../errors';
import { currencyCode, exactDecimal, isoDate, isUuid, optionalIdentifier } from '../inputs';
import { attempt } from './rowErrors';
import type { CheckedRow, InstrumentKey, InstrumentRef, RawPositionRow, RejectedRow, RowError, RowField } from './types';

const INSTRUMENT_KEYS: readonly InstrumentKey[] = ['instrumentId', 'isin', 'cusip', 'ticker'];
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export const quoted = (value: string) => JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);

/** The value as text, or null when absent or blank; BAD_USER_INPUT for anything but a string (or a Date, for asOfDate). */
function present(raw: RawPositionRow, field: RowField): string | Date | null {
  const value = raw[field];
  if (value === undefined || value === null) return null;
  if (value instanceof Date && (field === 'asOfDate' || field === 'tradeDate')) return value;
  if (typeof value !== 'string') throw badInput(field, `${field} must be a string, got ${typeof value}`);
  return value.trim() === '' ? null : value;
}

function requiredString(raw: RawPositionRow, field: RowField): string {
  const value = present(raw, field);
  if (value === null) throw badInput(field, `${field} is required`);
  return value as string;
}

/** A calendar date as YYYY-MM-DD (a Date from the GraphQL scalar, or text from a file). */
export function calendarDate(value: string | Date, field: string): string {
  if (value instanceof Date) {
    const year = value.getUTCFullYear();
    if (Number.isNaN(value.getTime()) || year < 1 || year > 9999) throw badInput(field, `${field} must be a calendar date YYYY-MM-DD`);
    return isoDate(value);
  }
  const text = value.trim();
  const parsed = ISO_DATE.test(text) ? new Date(`${text}T00:00:00Z`) : null;
  // Year 0 and earlier do not exist for the database: refuse them here, as a row error.
  if (!parsed || Number.isNaN(parsed.getTime()) || isoDate(parsed) !== text || text < '0001-01-01') {
    throw badInput(field, `${field} must be a calendar date YYYY-MM-DD, got ${quoted(text)}`);
  }
  return text;
}

function checkNode(raw: RawPositionRow): string {
  const id = requiredString(raw, 'nodeId').trim();
  if (!isUuid(id)) throw notFound('nodeId', `No portfolio node with id ${quoted(id)}`);
  return id.toLowerCase();
}

/** Exactly one of instrumentId, isin, cusip, ticker; identifiers normalised and their check digits verified. */
function checkInstrument(raw: RawPositionRow): InstrumentRef {
  const given = INSTRUMENT_KEYS.filter((key) => present(raw, key) !== null);
  if (given.length === 0) {
    throw badInput('instrumentId', 'Name the instrument by one of instrumentId, isin, cusip, ticker (none given)');
  }
  if (given.length > 1) {
    throw badInput(given.join(','), `Name the instrument by exactly one of instrumentId, isin, cusip, ticker (got ${given.join(', ')})`);
  }
  const by = given[0]!;
  const value = present(raw, by) as string;
  if (by === 'instrumentId') {
    if (!isUuid(value.trim())) throw notFound(by, `No instrument with id ${quoted(value.trim())}`);
    return { by, value: value.trim().toLowerCase() };
  }
  return { by, value: optionalIdentifier(by, value, by)! };
}

function checkValuation(raw: RawPositionRow, errors: RowError[], row: number): CheckedRow['valuation'] {
  const marketValue = attempt(errors, row, 'marketValue', () => present(raw, 'marketValue') as string | null);
  const asOfDate = attempt(errors, row, 'asOfDate', () => present(raw, 'asOfDate'));
  if (marketValue === null && asOfDate === null) return null;
  if (marketValue === null || asOfDate === null) {
    const missing = marketValue === null ? 'marketValue' : 'asOfDate';
    if (!errors.some((e) => e.field === missing)) {
      errors.push({ row, field: missing, code: 'BAD_USER_INPUT', message: 'marketValue and asOfDate are given together or not at all' });
    }
    return null;
  }
  const value = attempt(errors, row, 'marketValue', () => exactDecimal(marketValue, MONEY, 'marketValue'));
  const date = attempt(errors, row, 'asOfDate', () => calendarDate(asOfDate, 'asOfDate'));
  return value === null || date === null ? null : { asOfDate: date, marketValue: value };
}

/**
 * The first date held: tradeDate when given (not in the future), else the valuation's date (the row
 * says what was held then), else today (UTC). A valuation dated before the trade date is refused.
 */
function checkTradeDate(raw: RawPositionRow, valuation: CheckedRow['valuation'], errors: RowError[], row: number, today: string): string | null {
  const given = attempt(errors, row, 'tradeDate', () => present(raw, 'tradeDate'));
  if (given === null) {
    if (errors.some((e) => e.field === 'tradeDate')) return null;
    return valuation && valuation.asOfDate <= today ? valuation.asOfDate : today;
  }
  const date = attempt(errors, row, 'tradeDate', () => {
    const day = calendarDate(given, 'tradeDate');
    if (day > today) throw badInput('tradeDate', `tradeDate ${day} is in the future (today is ${today}, UTC)`);
    return day;
  });
  if (valuation && valuation.asOfDate > today && !errors.some((e) => e.field === 'asOfDate')) {
    errors.push({ row, field: 'asOfDate', code: 'BAD_USER_INPUT', message: `asOfDate ${valuation.asOfDate} is in the future (today is ${today}, UTC)` });
  }
  if (date !== null && valuation && valuation.asOfDate < date) {
    errors.push({ row, field: 'asOfDate', code: 'BAD_USER_INPUT', message: `asOfDate ${valuation.asOfDate} is before the position's tradeDate ${date}` });
  }
  return date;
}

/** The checked row, or every problem of its fields (with the node and instrument, where well-formed, still to be looked up). */
export function checkRow(raw: RawPositionRow, row: number, today = isoDate(new Date())): { ok: CheckedRow } | { rejected: RejectedRow } {
  const errors: RowError[] = [];
  const nodeId = attempt(errors, row, 'nodeId', () => checkNode(raw));
  const instrument = attempt(errors, row, 'instrumentId', () => checkInstrument(raw));
  const quantity = attempt(errors, row, 'quantity', () => exactDecimal(requiredString(raw, 'quantity'), QUANTITY, 'quantity'));
  const baseCcy = attempt(errors, row, 'baseCurrency', () => currencyCode(requiredString(raw, 'baseCurrency'), 'baseCurrency'));
  const valuation = checkValuation(raw, errors, row);
  const tradeDate = checkTradeDate(raw, valuation, errors, row, today);
  if (errors.length > 0) return { rejected: { row, errors, nodeId, instrument } };
  return { ok: { row, nodeId: nodeId!, instrument: instrument!, quantity: quantity!, baseCcy: baseCcy!, valuation, tradeDate: tradeDate! } };
}
