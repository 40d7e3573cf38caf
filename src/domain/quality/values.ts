// Reading the values of a market-data payload without trusting it: any JSON
// may arrive, so every reader returns a value or a problem, never throws.
import { canonicalDecimal, decimalProblem, type DecimalSpec } from '../decimal';
import { Exact } from '../fx';

/** Curve rates as fractions (0.0412 = 4.12%): small numbers, sign allowed (negative rates exist). */
export const CURVE_RATE: DecimalSpec = { integerDigits: 4, scale: 12 };
/** Discount factors; the (0, 1] range is a check of its own. */
export const DISCOUNT_FACTOR: DecimalSpec = { integerDigits: 4, scale: 12 };
/** Credit spreads in basis points; the sign is a check of its own. */
export const SPREAD_BPS: DecimalSpec = { integerDigits: 6, scale: 6 };

export type Read<T> = { ok: true; value: T } | { ok: false; problem: string };

export const ok = <T>(value: T): Read<T> => ({ ok: true, value });
export const bad = <T>(problem: string): Read<T> => ({ ok: false, problem });

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a value is, for messages ("an array", "a string"). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return typeof value === 'undefined' ? 'missing' : `a ${typeof value}`;
}

/** A short, safe rendering of a payload value for a message. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return describe(value);
}

/**
 * The canonical decimal text of a string ("1.0850") or a JSON number (1.085:
 * its shortest round-trip text, which is what the sender wrote); null for
 * anything else. Numbers are accepted because JSON has them, strings advised.
 */
export function decimalText(value: unknown): string | null {
  if (typeof value === 'string') return canonicalDecimal(value);
  if (typeof value === 'number' && Number.isFinite(value)) return canonicalDecimal(new Exact(value).toFixed());
  return null;
}

/** A decimal that fits the spec, as canonical text. */
export function readDecimal(value: unknown, spec: DecimalSpec, what: string): Read<string> {
  const text = decimalText(value);
  if (text === null) return bad(`${what} ${shown(value)} is not a decimal number`);
  const problem = decimalProblem(text, spec);
  return problem ? bad(`${what} ${text} ${problem}`) : ok(text);
}

export interface Tenor {
  /** As written, normalised: "5Y", "6M". */
  label: string;
  /** Length in 1/4380 of a year (the least common unit of D, W, M, Y): 12M and 1Y are equal, and order is exact. */
  units: number;
}

const TENOR_UNITS: Record<string, number> = { D: 12, W: 84, M: 365, Y: 4380 };
const TENOR = /^(\d{1,5})([DWMY])$/;
const MAX_TENOR_UNITS = 100 * 4380;

/** A tenor such as "1Y", "6M", "2W", "7D" (upper or lower case), of more than 0 and at most 100 years. */
export function readTenor(value: unknown): Read<Tenor> {
  const match = typeof value === 'string' ? TENOR.exec(value.trim().toUpperCase()) : null;
  if (!match) return bad(`tenor ${shown(value)} is not a number of days, weeks, months or years such as "5Y"`);
  const count = Number(match[1]);
  const units = count * (TENOR_UNITS[match[2] as string] as number);
  if (units <= 0 || units > MAX_TENOR_UNITS) return bad(`tenor ${shown(value)} must be more than 0 and at most 100 years`);
  return ok({ label: `${count}${match[2]}`, units });
}

/**
 * The array a payload keeps its entries in (`{"rates": [...]}`), or why the
 * payload does not have that shape.
 */
export function entriesOf(payload: unknown, key: string): Read<unknown[]> {
  if (!isRecord(payload)) return bad(`the payload must be an object with a "${key}" array, got ${describe(payload)}`);
  const entries = payload[key];
  if (!Array.isArray(entries)) return bad(`payload.${key} must be an array, got ${describe(entries)}`);
  if (entries.length === 0) return bad(`payload.${key} must not be empty`);
  return ok(entries);
}
