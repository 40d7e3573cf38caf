// FX conversion rules, shared by the fxRate query and (mirrored in SQL) by
// marketValue and exposure. From the rates of one feed, A -> B is:
//   identity when A = B; the direct pair AB; else 1 / BA; else through USD,
//   (A -> USD) x (USD -> B), each leg direct or inverse.
// Inverses and triangulated products are rounded to 20 decimal places, half
// away from zero (PostgreSQL's numeric round()); converted amounts to 8.
import Decimal from 'decimal.js';

/** Decimal with room for exact products of our widest numbers, rounding like PostgreSQL's round(). */
export const Exact = Decimal.clone({ precision: 120, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -100, toExpPos: 100 });
export type Exact = InstanceType<typeof Exact>;

export const DERIVED_RATE_SCALE = 20;
export const AMOUNT_SCALE = 8;
export const WEIGHT_SCALE = 10;

export type FxDerivation = 'IDENTITY' | 'DIRECT' | 'INVERSE' | 'TRIANGULATED';

export interface DerivedRate {
  rate: Exact;
  derivation: FxDerivation;
}

/** What the fxRate query returns (the GraphQL FxRate type maps onto it). */
export interface FxRateResult {
  base: string;
  quote: string;
  rate: string;
  asOfDate: Date;
  derivation: FxDerivation;
  feedId: string | null;
}

const inverse = (rate: Exact): Exact => new Exact(1).div(rate).toDecimalPlaces(DERIVED_RATE_SCALE);

/** The rate of one leg from the feed: direct, or inverse of the reverse pair. */
function leg(rates: ReadonlyMap<string, Exact>, from: string, to: string): DerivedRate | null {
  if (from === to) return { rate: new Exact(1), derivation: 'IDENTITY' };
  const direct = rates.get(`${from}${to}`);
  if (direct) return { rate: direct, derivation: 'DIRECT' };
  const reverse = rates.get(`${to}${from}`);
  if (reverse) return { rate: inverse(reverse), derivation: 'INVERSE' };
  return null;
}

/** A -> B from one feed's rates (pair -> rate), or null when the feed cannot provide it. */
export function deriveRate(rates: ReadonlyMap<string, Exact>, base: string, quote: string): DerivedRate | null {
  const simple = leg(rates, base, quote);
  if (simple || base === 'USD' || quote === 'USD') return simple;
  const toUsd = leg(rates, base, 'USD');
  const fromUsd = leg(rates, 'USD', quote);
  if (!toUsd || !fromUsd) return null;
  return { rate: toUsd.rate.mul(fromUsd.rate).toDecimalPlaces(DERIVED_RATE_SCALE), derivation: 'TRIANGULATED' };
}

/** An amount converted with a rate, rounded as every amount in a total is. */
export const convertAmount = (amount: Exact, rate: Exact): Exact => amount.mul(rate).toDecimalPlaces(AMOUNT_SCALE);

/** bucket / total rounded to 10 places; 0 when the total is 0. */
export const weightOf = (value: Exact, total: Exact): Exact =>
  total.isZero() ? new Exact(0) : value.div(total).toDecimalPlaces(WEIGHT_SCALE);
