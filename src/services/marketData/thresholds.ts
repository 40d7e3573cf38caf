// Quality-check thresholds from the environment (documented in .env.example):
//   QUALITY_STALE_DAYS=7                  as-of date older than this many days -> WARN
//   QUALITY_FX_MOVE_PCT=5                 FX move against the previous feed, in % -> WARN
//   QUALITY_FX_INVERSE_TOLERANCE=0.0001   |rate x inverse - 1| -> FAIL
//   QUALITY_FX_CROSS_TOLERANCE_PCT=0.5    cross rate vs its USD legs, in % -> WARN
//   QUALITY_SPREAD_JUMP_BPS=100           spread move against the previous feed, in bp -> WARN
// An unset or blank variable takes its default; a malformed one is a
// ConfigError naming it (never a silent fallback to a default).
import { ConfigError } from '../../config';
import { canonicalDecimal } from '../../domain/decimal';
import { DEFAULT_THRESHOLDS, type QualityThresholds } from '../../domain/quality/check';

type Env = Record<string, string | undefined>;

export const THRESHOLD_VARIABLES = {
  staleDays: 'QUALITY_STALE_DAYS',
  fxMovePct: 'QUALITY_FX_MOVE_PCT',
  fxInverseTolerance: 'QUALITY_FX_INVERSE_TOLERANCE',
  fxCrossTolerancePct: 'QUALITY_FX_CROSS_TOLERANCE_PCT',
  spreadJumpBps: 'QUALITY_SPREAD_JUMP_BPS',
} as const satisfies Record<keyof QualityThresholds, string>;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A non-negative plain decimal, kept as canonical text so comparisons stay exact. */
function decimalVariable(env: Env, name: string, fallback: string): string {
  const value = text(env, name);
  if (value === undefined) return fallback;
  const canonical = canonicalDecimal(value);
  if (canonical === null || canonical.startsWith('-')) throw new ConfigError(name, `expected a decimal number >= 0 such as "${fallback}", got "${value}"`);
  return canonical;
}

function daysVariable(env: Env, name: string, fallback: number): number {
  const value = text(env, name);
  if (value === undefined) return fallback;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 36_500) throw new ConfigError(name, `expected a whole number of days from 0 to 36500, got "${value}"`);
  return Number(value);
}

export function loadQualityThresholds(env: Env = process.env): QualityThresholds {
  const d = DEFAULT_THRESHOLDS;
  const v = THRESHOLD_VARIABLES;
  return {
    staleDays: daysVariable(env, v.staleDays, d.staleDays),
    fxMovePct: decimalVariable(env, v.fxMovePct, d.fxMovePct),
    fxInverseTolerance: decimalVariable(env, v.fxInverseTolerance, d.fxInverseTolerance),
    fxCrossTolerancePct: decimalVariable(env, v.fxCrossTolerancePct, d.fxCrossTolerancePct),
    spreadJumpBps: decimalVariable(env, v.spreadJumpBps, d.spreadJumpBps),
  };
}

let cached: QualityThresholds | undefined;

/**
 * The process's thresholds, read once. Calling it at start-up (main.ts) makes
 * a malformed variable stop the process before the first request.
 */
export function qualityThresholds(): QualityThresholds {
  cached ??= loadQualityThresholds();
  return cached;
}
