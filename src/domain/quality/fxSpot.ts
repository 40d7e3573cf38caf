// FX_SPOT quality rules. Payload: { "rates": [{ "pair": "EURUSD", "rate": "1.0850" }] },
// one unit of the first currency = rate units of the second.
//   fx.pair_format          6 letters, two different ISO 4217 codes          FAIL
//   fx.rate_format          a decimal > 0 that fits numeric(28,12)           FAIL
//   fx.duplicate_pair       a pair quoted twice                              FAIL
//   fx.inverse_consistency  |rate(AB) x rate(BA) - 1| <= tolerance           FAIL
//   fx.cross_consistency    a cross within a % of its USD legs' product      WARN
//   fx.move_vs_previous     within a % of the previous PASS/WARN feed        WARN
import { isCurrencyCode } from '../codes';
import { FX_RATE } from '../decimal';
import { deriveRate, Exact } from '../fx';
import { check, entryCheck, measuredCheck, type Measure, type Offender, type QualityCheck, type QualityThresholds } from './check';
import { bad, entriesOf, isRecord, ok, readDecimal, shown, type Read } from './values';

export interface FxEntry {
  index: number;
  pair: string;
  /** Canonical decimal text. */
  rate: string;
}

export interface FxRead {
  /** The readable entries, first occurrence of each pair only. */
  rates: FxEntry[];
  checks: QualityCheck[];
}

/** The rates of the previous PASS or WARN FX_SPOT feed, to measure moves against. */
export interface PreviousFxFeed {
  id: string;
  asOfDate: string;
  rates: ReadonlyMap<string, string>;
}

export function readPair(value: unknown): Read<string> {
  const pair = typeof value === 'string' ? value.trim().toUpperCase() : '';
  if (!/^[A-Z]{6}$/.test(pair)) return bad(`pair ${shown(value)} is not 6 letters such as "EURUSD"`);
  const [base, quote] = [pair.slice(0, 3), pair.slice(3)];
  if (!isCurrencyCode(base) || !isCurrencyCode(quote)) return bad(`pair ${pair} is not made of two ISO 4217 currency codes`);
  if (base === quote) return bad(`pair ${pair} quotes a currency against itself`);
  return ok(pair);
}

/** payload.shape and the per-entry checks; the entries that pass them go on to the consistency checks. */
export function readFxPayload(payload: unknown): FxRead {
  const entries = entriesOf(payload, 'rates');
  if (!entries.ok) return { rates: [], checks: [check('payload.shape', 'FAIL', entries.problem)] };
  const pairProblems: Offender[] = [];
  const rateProblems: Offender[] = [];
  const duplicates: Offender[] = [];
  const seen = new Map<string, number>();
  const rates: FxEntry[] = [];
  entries.value.forEach((entry, index) => {
    const item = isRecord(entry) ? entry : {};
    const pair = isRecord(entry) ? readPair(item.pair) : bad<string>(`entry is not an object: ${shown(entry)}`);
    const rate = readDecimal(item.rate, FX_RATE, 'rate');
    if (!pair.ok) pairProblems.push({ index, problem: pair.problem });
    if (isRecord(entry) && !rate.ok) rateProblems.push({ index, problem: rate.problem, pair: pair.ok ? pair.value : null });
    if (!pair.ok || !rate.ok) return;
    const first = seen.get(pair.value);
    if (first !== undefined) duplicates.push({ index, problem: `pair ${pair.value} is already quoted by entry #${first}`, pair: pair.value });
    else {
      seen.set(pair.value, index);
      rates.push({ index, pair: pair.value, rate: rate.value });
    }
  });
  return {
    rates,
    checks: [
      check('payload.shape', 'PASS', `an object with ${entries.value.length} rates`),
      entryCheck('fx.pair_format', 'FAIL', pairProblems, 'every pair is two different ISO 4217 currencies'),
      entryCheck('fx.rate_format', 'FAIL', rateProblems, 'every rate is a decimal > 0 with at most 12 decimal places', 'numeric(28,12) > 0'),
      entryCheck('fx.duplicate_pair', 'FAIL', duplicates, 'no pair is quoted twice'),
    ],
  };
}

const rateMap = (rates: readonly FxEntry[]) => new Map(rates.map((r) => [r.pair, new Exact(r.rate)]));
const inverseOf = (pair: string) => `${pair.slice(3)}${pair.slice(0, 3)}`;

/** Every pair quoted together with its inverse: |rate x inverse - 1| against the tolerance (FAIL beyond). */
export function inverseCheck(rates: readonly FxEntry[], tolerance: string): QualityCheck {
  const map = rateMap(rates);
  const measures: Measure[] = [];
  for (const r of rates) {
    const inverse = map.get(inverseOf(r.pair));
    if (!inverse || r.pair > inverseOf(r.pair)) continue; // each couple once
    const deviation = new Exact(r.rate).mul(inverse).minus(1).abs();
    measures.push({ index: r.index, label: `${r.pair}/${inverseOf(r.pair)}`, value: deviation });
  }
  return measuredCheck('fx.inverse_consistency', 'FAIL', measures, new Exact(tolerance), {
    what: 'pairs quoted with their inverse', unit: '', none: 'no pair is quoted together with its inverse',
  });
}

/** Every cross pair (no USD) whose two USD legs are quoted: deviation in % from their product (WARN beyond). */
export function crossCheck(rates: readonly FxEntry[], tolerancePct: string): QualityCheck {
  const usdLegs = rateMap(rates.filter((r) => r.pair.includes('USD')));
  const measures: Measure[] = [];
  for (const r of rates) {
    const [base, quote] = [r.pair.slice(0, 3), r.pair.slice(3)];
    if (base === 'USD' || quote === 'USD') continue;
    const implied = deriveRate(usdLegs, base, quote);
    if (!implied) continue;
    const deviationPct = new Exact(r.rate).minus(implied.rate).abs().div(implied.rate).mul(100);
    measures.push({ index: r.index, label: r.pair, value: deviationPct, impliedRate: implied.rate.toDecimalPlaces(12).toFixed() });
  }
  return measuredCheck('fx.cross_consistency', 'WARN', measures, new Exact(tolerancePct), {
    what: 'cross rates with both USD legs quoted', unit: '%', none: 'no cross rate has both of its USD legs in the feed',
  });
}

/** Every pair also quoted by the previous PASS/WARN feed: move in % (WARN beyond). */
export function moveCheck(rates: readonly FxEntry[], previous: PreviousFxFeed | null, movePct: string): QualityCheck {
  const limit = new Exact(movePct);
  if (!previous) return measuredCheck('fx.move_vs_previous', 'WARN', [], limit, { what: '', unit: '%', none: 'no earlier PASS or WARN FX_SPOT feed to compare with' });
  const measures: Measure[] = [];
  for (const r of rates) {
    const before = previous.rates.get(r.pair);
    if (before === undefined) continue;
    const old = new Exact(before);
    measures.push({ index: r.index, label: r.pair, value: new Exact(r.rate).minus(old).abs().div(old).mul(100), previousRate: before });
  }
  const result = measuredCheck('fx.move_vs_previous', 'WARN', measures, limit, {
    what: `pairs also quoted on ${previous.asOfDate}`, unit: '%', none: `no pair in common with the feed of ${previous.asOfDate}`,
  });
  return { ...result, message: `${result.message} (against feed ${previous.id} of ${previous.asOfDate})` };
}

/** Every FX_SPOT check after reading: consistency within the feed and moves against the previous one. */
export function fxChecks(read: FxRead, previous: PreviousFxFeed | null, t: QualityThresholds): QualityCheck[] {
  if (read.checks.some((c) => c.name === 'payload.shape' && c.status === 'FAIL')) return read.checks;
  return [
    ...read.checks,
    inverseCheck(read.rates, t.fxInverseTolerance),
    crossCheck(read.rates, t.fxCrossTolerancePct),
    moveCheck(read.rates, previous, t.fxMovePct),
  ];
}
