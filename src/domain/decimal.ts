// Exact decimal input: syntax, and the precision of the column it goes to.
// A value with more digits than the column keeps is rejected, never rounded.
// Pure; strings in, strings out (decimal.js does arithmetic elsewhere).

export interface DecimalSpec {
  /** Digits allowed before the decimal point. */
  integerDigits: number;
  /** Digits allowed after the decimal point. */
  scale: number;
  /** Whether zero and negative values are allowed. */
  positive?: boolean;
}

/** numeric(28,10): quantities. */
export const QUANTITY: DecimalSpec = { integerDigits: 18, scale: 10 };
/** numeric(28,8): money amounts. */
export const MONEY: DecimalSpec = { integerDigits: 20, scale: 8 };
/** numeric(28,12): FX rates, strictly positive. */
export const FX_RATE: DecimalSpec = { integerDigits: 16, scale: 12, positive: true };

const SYNTAX = /^([+-]?)(\d+)(?:\.(\d+))?$/;
export const MAX_DECIMAL_LENGTH = 64;

/**
 * Canonical text of a plain decimal ("+001.50" -> "1.5", "-0.0" -> "0"), or null when the
 * text is not one (exponents, NaN, Infinity, spaces inside, empty, too long).
 */
export function canonicalDecimal(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_DECIMAL_LENGTH) return null;
  const match = SYNTAX.exec(trimmed);
  if (!match) return null;
  const [, sign, intPart = '', fracPart = ''] = match;
  const integer = intPart.replace(/^0+(?=\d)/, '');
  const fraction = fracPart.replace(/0+$/, '');
  const isZero = /^0*$/.test(integer) && fraction === '';
  const body = fraction ? `${integer}.${fraction}` : integer;
  return sign === '-' && !isZero ? `-${body}` : body;
}

/** Why a canonical decimal does not fit the spec, or null when it does. */
export function decimalProblem(canonical: string, spec: DecimalSpec): string | null {
  const unsigned = canonical.replace(/^-/, '');
  const [integer = '', fraction = ''] = unsigned.split('.');
  if (fraction.length > spec.scale) {
    return `has ${fraction.length} digits after the decimal point; at most ${spec.scale} are kept (the value is not rounded)`;
  }
  if (integer.replace(/^0+/, '').length > spec.integerDigits) {
    return `has more than ${spec.integerDigits} digits before the decimal point`;
  }
  if (spec.positive && (canonical.startsWith('-') || /^0(\.0*)?$/.test(unsigned))) return 'must be greater than zero';
  return null;
}
