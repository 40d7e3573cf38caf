// Input checks shared by every service (the API and the CLI importers go
// through the same ones). Each normalises first (trim, upper-case where the
// value is a code), then validates, and throws BAD_USER_INPUT naming the field.
import { isCurrencyCode } from '../domain/codes';
import { canonicalDecimal, decimalProblem, type DecimalSpec } from '../domain/decimal';
import { isValidCusip, isValidIsin, isValidLei, normalizeIdentifier } from '../domain/identifiers';
import { jsonValueProblem } from '../domain/jsonSafety';
import { badInput } from '../errors';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a syntactically valid UUID; other ids cannot exist, so lookups skip them. */
export const isUuid = (id: string): boolean => UUID.test(id);

/** The ids that can exist (lookups of others would only make the database raise an error). */
export const validIds = (ids: readonly string[]): string[] => ids.filter(isUuid);

/** Trimmed, non-empty text of at most `max` characters, without control characters. */
export function requiredText(value: string | null | undefined, field: string, max = 200): string {
  const text = (value ?? '').trim();
  if (text.length === 0) throw badInput(field, `${field} must not be empty`);
  if (text.length > max) throw badInput(field, `${field} must be at most ${max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text) || /[\ud800-\udfff]/.test(text.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) {
    throw badInput(field, `${field} contains control characters or broken Unicode`);
  }
  return text;
}

export function optionalText(value: string | null | undefined, field: string, max = 200): string | null {
  return value === null || value === undefined || value.trim() === '' ? null : requiredText(value, field, max);
}

export function currencyCode(value: string, field: string): string {
  const code = value.trim().toUpperCase();
  if (!isCurrencyCode(code)) throw badInput(field, `${field} must be an ISO 4217 currency code, got "${value.slice(0, 20)}"`);
  return code;
}

export function exactDecimal(value: string, spec: DecimalSpec, field: string): string {
  const canonical = canonicalDecimal(value);
  if (canonical === null) throw badInput(field, `${field} must be a plain decimal number such as "1150000.25"`);
  const problem = decimalProblem(canonical, spec);
  if (problem) throw badInput(field, `${field} ${problem}`);
  return canonical;
}

type IdentifierKind = 'isin' | 'cusip' | 'lei' | 'ticker';

const IDENTIFIER_RULES: Record<IdentifierKind, [(v: string) => boolean, string]> = {
  isin: [isValidIsin, 'must be an ISIN: 2 letters, 9 letters or digits and a valid check digit'],
  cusip: [isValidCusip, 'must be a CUSIP: 8 letters, digits, *, @ or # and a valid check digit'],
  lei: [isValidLei, 'must be an LEI: 18 letters or digits and 2 valid check digits (ISO 17442)'],
  ticker: [(v) => /^[A-Z0-9][A-Z0-9 ./:-]{0,31}$/.test(v), 'must be 1 to 32 letters, digits, spaces or . / : -'],
};

/** A normalised identifier, null when absent or blank; BAD_USER_INPUT when malformed or its check digits fail. */
export function optionalIdentifier(kind: IdentifierKind, value: string | null | undefined, field: string): string | null {
  if (value === null || value === undefined || value.trim() === '') return null;
  const normalised = normalizeIdentifier(value);
  const [valid, message] = IDENTIFIER_RULES[kind];
  if (!valid(normalised)) throw badInput(field, `${field} ${message}`);
  return normalised;
}

/** A JSON object of bounded size (default 16 KiB) and depth, storable as it is: for tags and attributes. */
export function jsonObject(value: unknown, field: string, maxBytes = 16_384): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(field, `${field} must be a JSON object`);
  const problem = jsonValueProblem(value, 16);
  if (problem) throw badInput(field, `${field} ${problem}`);
  if (Buffer.byteLength(JSON.stringify(value)) > maxBytes) throw badInput(field, `${field} must be at most ${maxBytes} bytes of JSON`);
  return value as Record<string, unknown>;
}

/** Free text of a filter or search: NUL characters and broken Unicode are refused, not sent to the database. */
export function filterText(value: string, field: string, max = 200): string {
  if (value.length > max) throw badInput(field, `${field} must be at most ${max} characters`);
  const problem = jsonValueProblem(value);
  if (problem) throw badInput(field, `${field} ${problem}`);
  return value;
}

/**
 * Text for a LIKE pattern, taken literally: Prisma's `contains`, `startsWith` and `endsWith` put the
 * text into the pattern as it is, so a user's `%` or `_` would be a wildcard. Escapes both and the
 * escape character itself (PostgreSQL's default LIKE escape is the backslash).
 */
export const likeLiteral = (text: string): string => text.replace(/[\\%_]/g, '\\$&');

/** A case-insensitive "contains" filter on text a user typed, taken literally (no wildcards). */
export function containsText(value: string, field: string, max = 200): { contains: string; mode: 'insensitive' } {
  return { contains: likeLiteral(filterText(value, field, max)), mode: 'insensitive' };
}

/** The calendar date of a Date at UTC midnight (how Date scalars and @db.Date columns arrive). */
export const isoDate = (date: Date): string => date.toISOString().slice(0, 10);
