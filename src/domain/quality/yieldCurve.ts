// YIELD_CURVE quality rules. Payload:
// { "currency": "USD", "points": [{ "tenor": "1Y", "rate": "0.0412", "discountFactor": "0.9605" }] }
//   curve.currency                 an ISO 4217 code                                  FAIL
//   curve.point_format             tenor, rate and discountFactor readable           FAIL
//   curve.duplicate_tenor          a tenor given twice (12M and 1Y are the same)     FAIL
//   curve.required_tenors          1Y, 2Y, 5Y, 10Y and 30Y present                   FAIL
//   curve.discount_factor_range    every discount factor in (0, 1]                   FAIL
//   curve.discount_factor_monotonic  no discount factor above a shorter tenor's    FAIL
// (Equal discount factors are allowed: a zero forward rate between two tenors.)
import { isCurrencyCode } from '../codes';
import { Exact } from '../fx';
import { check, entryCheck, type Offender, type QualityCheck } from './check';
import { CURVE_RATE, DISCOUNT_FACTOR, describe, isRecord, readDecimal, readTenor, shown, type Tenor } from './values';

export const REQUIRED_TENORS: readonly string[] = ['1Y', '2Y', '5Y', '10Y', '30Y'];

export interface CurvePoint {
  index: number;
  tenor: Tenor;
  rate: string;
  discountFactor: string;
}

function readPoint(entry: unknown, index: number): CurvePoint | Offender {
  if (!isRecord(entry)) return { index, problem: `point is not an object: ${shown(entry)}` };
  const tenor = readTenor(entry.tenor);
  const rate = readDecimal(entry.rate, CURVE_RATE, 'rate');
  const df = readDecimal(entry.discountFactor, DISCOUNT_FACTOR, 'discountFactor');
  const problems = [tenor, rate, df].flatMap((r) => (r.ok ? [] : [r.problem]));
  if (!tenor.ok || !rate.ok || !df.ok) return { index, problem: problems.join(', ') };
  return { index, tenor: tenor.value, rate: rate.value, discountFactor: df.value };
}

function currencyCheck(value: unknown): QualityCheck {
  const code = typeof value === 'string' ? value.trim().toUpperCase() : '';
  return isCurrencyCode(code)
    ? check('curve.currency', 'PASS', `currency ${code}`, code)
    : check('curve.currency', 'FAIL', `currency ${shown(value)} is not an ISO 4217 code`, value === undefined ? null : value);
}

/** Points in tenor order, first occurrence of each tenor only, and the duplicates. */
function uniqueTenors(points: readonly CurvePoint[]): { unique: CurvePoint[]; duplicates: Offender[] } {
  const seen = new Map<number, CurvePoint>();
  const duplicates: Offender[] = [];
  for (const p of points) {
    const first = seen.get(p.tenor.units);
    if (first) duplicates.push({ index: p.index, problem: `tenor ${p.tenor.label} is already given by point #${first.index} (${first.tenor.label})`, tenor: p.tenor.label });
    else seen.set(p.tenor.units, p);
  }
  return { unique: [...seen.values()].sort((a, b) => a.tenor.units - b.tenor.units), duplicates };
}

function requiredTenorsCheck(points: readonly CurvePoint[]): QualityCheck {
  const present = new Set(points.map((p) => p.tenor.units));
  const missing = REQUIRED_TENORS.filter((label) => {
    const tenor = readTenor(label);
    return tenor.ok && !present.has(tenor.value.units);
  });
  const observed = points.map((p) => p.tenor.label);
  return missing.length === 0
    ? check('curve.required_tenors', 'PASS', `all of ${REQUIRED_TENORS.join(', ')} are present`, observed, REQUIRED_TENORS)
    : check('curve.required_tenors', 'FAIL', `missing tenor${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, observed, REQUIRED_TENORS);
}

function rangeCheck(points: readonly CurvePoint[]): QualityCheck {
  const offenders = points
    .filter((p) => { const df = new Exact(p.discountFactor); return df.lte(0) || df.gt(1); })
    .map((p) => ({ index: p.index, problem: `${p.tenor.label} discount factor ${p.discountFactor} is outside (0, 1]`, tenor: p.tenor.label }));
  return entryCheck('curve.discount_factor_range', 'FAIL', offenders, 'every discount factor is in (0, 1]', '(0, 1]');
}

function monotonicCheck(sorted: readonly CurvePoint[]): QualityCheck {
  const offenders: Offender[] = [];
  sorted.forEach((p, i) => {
    const shorter = sorted[i - 1];
    if (shorter && new Exact(p.discountFactor).gt(shorter.discountFactor)) {
      offenders.push({ index: p.index, problem: `${p.tenor.label} discount factor ${p.discountFactor} is above ${shorter.tenor.label}'s ${shorter.discountFactor}`, tenor: p.tenor.label });
    }
  });
  return entryCheck('curve.discount_factor_monotonic', 'FAIL', offenders, 'discount factors do not increase with tenor', 'non-increasing with tenor');
}

export function yieldCurveChecks(payload: unknown): QualityCheck[] {
  const points = isRecord(payload) ? payload.points : undefined;
  if (!isRecord(payload) || !Array.isArray(points) || points.length === 0) {
    const problem = !isRecord(payload)
      ? `the payload must be an object with "currency" and "points", got ${describe(payload)}`
      : `payload.points must be a non-empty array, got ${Array.isArray(points) ? 'an empty array' : describe(points)}`;
    return [check('payload.shape', 'FAIL', problem)];
  }
  const read = points.map(readPoint);
  const good = read.filter((p): p is CurvePoint => 'tenor' in p);
  const { unique, duplicates } = uniqueTenors(good);
  return [
    check('payload.shape', 'PASS', `an object with ${points.length} points`),
    currencyCheck(payload.currency),
    entryCheck('curve.point_format', 'FAIL', read.filter((p): p is Offender => !('tenor' in p)), 'every point has a tenor, a rate and a discount factor'),
    entryCheck('curve.duplicate_tenor', 'FAIL', duplicates, 'no tenor is given twice'),
    requiredTenorsCheck(unique),
    rangeCheck(unique),
    monotonicCheck(unique),
  ];
}
