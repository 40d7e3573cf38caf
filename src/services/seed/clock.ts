// Recorded time for the seeded world: when each row was "learned", as if the
// data had been recorded over time. Everything derives from one `now`, taken
// when the seed starts, so the rows are the same for the same seed and options
// except for timestamps, which keep their order and their distance to `now`.
//
//   scheduled   what was recorded in the normal course of business: `lagDays`
//               after its valid date at a fixed time of day (a trade booked the
//               next evening, a valuation the night after its date, an FX feed
//               the next morning). Never later than `settled` (15 days before
//               now): when the valuation period ends too close to now (or after
//               it), every scheduled time is moved back by the same amount, so
//               their order is kept and corrections still come after them;
//   recent      a correction: a moment of the last 14 days (at least an hour
//               ago), after everything scheduled. "As known last week" therefore
//               misses about half of them.

export const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** The longest lag after a valid date of anything scheduled (see positions.ts), with a day to spare. */
export const MAX_LAG_DAYS = 12;

/** Minutes after midnight UTC at which each kind of record is written. */
export const AT = {
  reference: 6 * 60,
  fxFeed: 6 * 60 + 30,
  rating: 8 * 60,
  open: 18 * 60,
  adjust: 18 * 60 + 10,
  close: 18 * 60 + 20,
  delete: 18 * 60 + 30,
  valuation: 20 * 60,
  revaluation: 20 * 60 + 30,
} as const;

export interface RecordingClock {
  /** The moment the seed runs (epoch ms). Nothing is recorded after it. */
  now: number;
  /** Every scheduled recording is at or before this moment (now - 15 days); corrections come after it. */
  settled: number;
  /** Added to every scheduled recording (0, or negative when the valuation period ends after now - 27 days). */
  shift: number;
}

// Memoised: a world has a few hundred distinct dates, and its moments repeat (everything scheduled
// falls on a few fixed times of day); parsing and formatting dates was a sixth of the generator's time.
// The caches stay small: a few thousand dates, and moments at most one per minute of the last two
// weeks besides the scheduled ones.
const dayCache = new Map<string, number>();
const momentCache = new Map<number, string>();
const CACHE_LIMIT = 100_000;

function remember<K, V>(cache: Map<K, V>, key: K, value: V): V {
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(key, value);
  return value;
}

/** Midnight UTC of a 'YYYY-MM-DD' date, in epoch ms. */
export const dayMs = (date: string): number => dayCache.get(date) ?? remember(dayCache, date, Date.parse(`${date}T00:00:00Z`));
export const isoDate = (ms: number): string => isoMoment(ms).slice(0, 10);
export const isoMoment = (ms: number): string => momentCache.get(ms) ?? remember(momentCache, ms, new Date(ms).toISOString());
export const addDays = (date: string, days: number): string => isoDate(dayMs(date) + days * DAY_MS);

/** The clock of a world whose latest valid date is `lastValidDate` (the last valuation date). */
export function recordingClock(now: Date, lastValidDate: string): RecordingClock {
  const at = now.getTime();
  if (Number.isNaN(at)) throw new RangeError('the seed clock needs a valid now');
  const settled = at - 15 * DAY_MS;
  const latestScheduled = dayMs(lastValidDate) + (MAX_LAG_DAYS + 1) * DAY_MS;
  return { now: at, settled, shift: Math.min(0, settled - latestScheduled) };
}

/** When something valid from `date` was recorded in the normal course: `lagDays` later, at `minute` (UTC). */
export function scheduled(clock: RecordingClock, date: string, lagDays: number, minute: number): number {
  return Math.min(clock.settled, dayMs(date) + lagDays * DAY_MS + minute * MINUTE_MS + clock.shift);
}

/** A correction's moment, `minutesAgo` before now (callers draw it between 60 and 14 days' worth of minutes). */
export function recent(clock: RecordingClock, minutesAgo: number): number {
  return clock.now - minutesAgo * MINUTE_MS;
}

/** Minutes in `days` days: the upper bound of a draw for recent(). */
export const minutesIn = (days: number): number => days * 24 * 60;
