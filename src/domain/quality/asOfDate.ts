// Checks every feed gets, whatever its type: the as-of date is not in the
// future (FAIL) and not stale (WARN). Dates are 'YYYY-MM-DD' strings; "today"
// is the caller's (the service passes today's UTC date).
import { check, type QualityCheck } from './check';

const DAY_MS = 86_400_000;

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS);
}

export function asOfDateChecks(asOf: string, today: string, staleDays: number): QualityCheck[] {
  const age = daysBetween(asOf, today);
  const future = age < 0
    ? check('asOfDate.not_future', 'FAIL', `the as-of date ${asOf} is after today (${today}, UTC)`, asOf, today)
    : check('asOfDate.not_future', 'PASS', `the as-of date ${asOf} is not after today (${today}, UTC)`, asOf, today);
  let stale: QualityCheck;
  if (age > staleDays) {
    stale = check('asOfDate.fresh', 'WARN', `the as-of date ${asOf} is ${age} days old, more than ${staleDays}`, age, staleDays);
  } else {
    stale = check('asOfDate.fresh', 'PASS', `the as-of date is ${Math.max(age, 0)} days old, at most ${staleDays}`, age, staleDays);
  }
  return [future, stale];
}
