// Quality checks of market-data feeds: the result of one check, the feed's
// status as the worst of them (FAIL > WARN > PASS), and the thresholds the
// checks compare with. Pure; the service decides what the status allows.
import type { Exact } from '../fx';

export type CheckStatus = 'PASS' | 'WARN' | 'FAIL';

/** One check as stored in validation_json and data_lineage.quality_checks. */
export interface QualityCheck {
  name: string;
  status: CheckStatus;
  message: string;
  /** The measured value (exact decimals as strings) or the offending entries; null when nothing was measured. */
  observed: unknown;
  /** What it was compared with; null for checks without a threshold. */
  threshold: unknown;
}

/** Limits of the checks; decimals are strings so they stay exact. */
export interface QualityThresholds {
  /** An as-of date more than this many days before today is stale (WARN). */
  staleDays: number;
  /** A rate moving more than this percentage against the previous FX_SPOT feed (WARN). */
  fxMovePct: string;
  /** Largest allowed |rate x inverse rate - 1| when a pair and its inverse are both quoted (FAIL). */
  fxInverseTolerance: string;
  /** Largest allowed deviation, in percent, of a cross rate from the product of its USD legs (WARN). */
  fxCrossTolerancePct: string;
  /** Largest allowed move, in basis points, of a spread against the previous CREDIT_SPREAD feed (WARN). */
  spreadJumpBps: string;
}

export const DEFAULT_THRESHOLDS: Readonly<QualityThresholds> = {
  staleDays: 7,
  fxMovePct: '5',
  fxInverseTolerance: '0.0001',
  fxCrossTolerancePct: '0.5',
  spreadJumpBps: '100',
};

const RANK: Record<CheckStatus, number> = { PASS: 0, WARN: 1, FAIL: 2 };

/** The worst status of the checks; PASS when there are none. */
export function worstStatus(checks: readonly QualityCheck[]): CheckStatus {
  return checks.reduce<CheckStatus>((worst, c) => (RANK[c.status] > RANK[worst] ? c.status : worst), 'PASS');
}

export function check(name: string, status: CheckStatus, message: string, observed: unknown = null, threshold: unknown = null): QualityCheck {
  return { name, status, message, observed, threshold };
}

/** Offending entries kept in `observed`: enough to find them, bounded so a bad 10,000-row feed stays small. */
export const MAX_LISTED = 20;

/** An entry that broke a rule: its position in the payload and what is wrong with it. */
export interface Offender {
  index: number;
  problem: string;
  [detail: string]: unknown;
}

/**
 * A check over entries: PASS when none offends, otherwise `failStatus` with
 * the first offenders listed in the message and in `observed`.
 */
export function entryCheck(
  name: string,
  failStatus: CheckStatus,
  offenders: readonly Offender[],
  passMessage: string,
  threshold: unknown = null,
): QualityCheck {
  if (offenders.length === 0) return check(name, 'PASS', passMessage, [], threshold);
  const shown = offenders.slice(0, 3).map((o) => `#${o.index}: ${o.problem}`).join('; ');
  const more = offenders.length > 3 ? ` (and ${offenders.length - 3} more)` : '';
  return check(name, failStatus, `${offenders.length} entr${offenders.length === 1 ? 'y' : 'ies'}: ${shown}${more}`, offenders.slice(0, MAX_LISTED), threshold);
}

/** A measured quantity of one entry (a deviation, a move), compared with a limit. */
export interface Measure {
  index: number;
  /** What was measured, e.g. "EURUSD" or "EURUSD/USDEUR". */
  label: string;
  value: Exact;
  [detail: string]: unknown;
}

/** Measures are shown to 10 decimal places; the comparison itself is exact. */
const shownMeasure = (value: Exact): string => value.toDecimalPlaces(10).toFixed();

/**
 * A check over measures: `failStatus` when any exceeds the limit. `observed`
 * is { max, offenders }: the largest measure (null when nothing could be
 * measured) and the first offending entries.
 */
export function measuredCheck(
  name: string,
  failStatus: CheckStatus,
  measures: readonly Measure[],
  limit: Exact,
  texts: { what: string; unit: string; none: string },
): QualityCheck {
  const threshold = limit.toFixed();
  if (measures.length === 0) return check(name, 'PASS', texts.none, { max: null, offenders: [] }, threshold);
  const max = measures.reduce((m, x) => (x.value.gt(m.value) ? x : m));
  const offenders = measures.filter((m) => m.value.gt(limit)).map(({ value, ...rest }) => ({ ...rest, value: shownMeasure(value) }));
  const observed = { max: shownMeasure(max.value), offenders: offenders.slice(0, MAX_LISTED) };
  if (offenders.length === 0) {
    return check(name, 'PASS', `${measures.length} ${texts.what} within ${threshold}${texts.unit} (largest ${observed.max}${texts.unit}, ${max.label})`, observed, threshold);
  }
  const listed = offenders.slice(0, 3).map((o) => `${o.label} ${o.value}${texts.unit}`).join('; ');
  const more = offenders.length > 3 ? ` (and ${offenders.length - 3} more)` : '';
  return check(name, failStatus, `${offenders.length} of ${measures.length} ${texts.what} beyond ${threshold}${texts.unit}: ${listed}${more}`, observed, threshold);
}
