// Timing helpers: warm-up, then repeated sequential runs within a time budget,
// summarised as median / p95 (nearest rank) / min / mean.

export interface Stats {
  n: number;
  median: number;
  p95: number;
  min: number;
  max: number;
  mean: number;
}

export function stats(samples: readonly number[]): Stats {
  if (samples.length === 0) throw new Error('no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
  const median = sorted.length % 2 === 1
    ? (sorted[(sorted.length - 1) / 2] as number)
    : ((sorted[sorted.length / 2 - 1] as number) + (sorted[sorted.length / 2] as number)) / 2;
  return {
    n: sorted.length,
    median,
    p95: rank(0.95),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
  };
}

export interface MeasureOptions {
  /** Untimed runs first (JIT of V8 and PostgreSQL caches, DataLoader/Prisma warm-up)... */
  warmup: number;
  /** ...and at least this long (fast queries need hundreds of runs before V8 has optimised the path). */
  warmupMs: number;
  /** Timed runs wanted. */
  runs: number;
  /** Stop early once this much time went into timed runs, keeping at least minRuns samples. */
  budgetMs: number;
  minRuns: number;
  /** Called before each run, untimed (e.g. to delete what the previous run stored). */
  before?: () => Promise<void>;
}

export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

export async function measure(fn: () => Promise<unknown>, options: MeasureOptions): Promise<Stats> {
  const warmupStarted = nowMs();
  for (let i = 0; i < 2_000; i++) {
    const elapsed = nowMs() - warmupStarted;
    if (i >= options.warmup && elapsed >= options.warmupMs) break;
    // A slow query gets fewer warm-up runs: one is enough to warm the caches.
    if (i >= 1 && elapsed > options.budgetMs / 3) break;
    await options.before?.();
    await fn();
  }
  const samples: number[] = [];
  const started = nowMs();
  for (let i = 0; i < options.runs; i++) {
    await options.before?.();
    const t0 = nowMs();
    await fn();
    samples.push(nowMs() - t0);
    if (samples.length >= options.minRuns && nowMs() - started > options.budgetMs) break;
  }
  return stats(samples);
}

/**
 * Several systems answering the same question, measured in turns: warmed up in turns, then each
 * timed run of one followed by one of the next. Measured one after the other, the second system met
 * another machine than the first (a busier minute, the aftermath of the first's work); in turns,
 * drift falls on every one alike. Stops when every one has `runs` samples, or after the budget
 * (times the number of systems) once each has minRuns. A system whose run throws is dropped from the
 * turns and its error returned in its place.
 */
export async function measureInTurns(fns: readonly (() => Promise<unknown>)[], options: MeasureOptions): Promise<(Stats | Error)[]> {
  const failed: (Error | null)[] = fns.map(() => null);
  const guard = async (i: number) => {
    try {
      await fns[i]!();
    } catch (error) {
      failed[i] = error instanceof Error ? error : new Error(String(error));
    }
  };
  const warmupStarted = nowMs();
  for (let round = 0; round < 2_000; round++) {
    const elapsed = nowMs() - warmupStarted;
    if (round >= options.warmup && elapsed >= options.warmupMs) break;
    if (round >= 1 && elapsed > (options.budgetMs * fns.length) / 3) break;
    for (let i = 0; i < fns.length; i++) {
      if (failed[i]) continue;
      await options.before?.();
      await guard(i);
    }
  }
  const samples: number[][] = fns.map(() => []);
  const started = nowMs();
  for (let round = 0; round < options.runs; round++) {
    for (let i = 0; i < fns.length; i++) {
      if (failed[i]) continue;
      await options.before?.();
      const t0 = nowMs();
      await guard(i);
      if (!failed[i]) samples[i]!.push(nowMs() - t0);
    }
    const enough = samples.every((s, i) => failed[i] || s.length >= options.minRuns);
    if (enough && nowMs() - started > options.budgetMs * fns.length) break;
  }
  return samples.map((s, i) => failed[i] ?? stats(s));
}

export const fmtMs = (ms: number | null | undefined): string =>
  ms === null || ms === undefined || Number.isNaN(ms) ? '–' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);

export const fmtRatio = (r: number | null | undefined): string =>
  r === null || r === undefined || !Number.isFinite(r) ? '–' : r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`;
