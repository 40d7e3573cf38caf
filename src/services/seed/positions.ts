// Positions with their history, generated holder by holder from an RNG stream
// of their own, so the result does not depend on the chunk size and memory
// stays bounded by one chunk. Amounts are exact: integers scaled with
// decimal.js, never floats.
//
// Each position is a short story of bookings, turned into versions by
// history.ts as the service would have recorded them:
//   OPEN    trade date on or before the first valuation date (spread over the
//           months before the period, or between two valuation dates for the
//           ones bought during it), booked the next evening;
//   ADJUST  about 15% of held positions: a quantity from an effective date,
//           booked 1-10 days later (back-dated), or in the last two weeks for
//           about 8% of them (late bookings: "as known last week" misses them);
//   CLOSE   about 3%: not held from a date after the last valuation date held;
//   DELETE  about 2%: entered in error, found days after their last valuation.
// Valuations are recorded the night after their date, with the quantity held
// on that date as known then; when a later booking changes that quantity, the
// valuation is corrected at the same moment (a superseded version and the
// correction). A few are also corrected for price: those of the last date in
// the last two weeks (so "as known last week" differs from now), older ones
// within days. Recorded times come from the world's clock (clock.ts).
import Decimal from 'decimal.js';
import { addDays, AT, dayMs, DAY_MS, isoMoment, minutesIn, recent, scheduled, type RecordingClock } from './clock';
import { heldAt, replay, type PositionEvent, type Version } from './history';
import { orderedUuid, Rng } from './random';
import type { Holder, InstrumentRow, World } from './world';

export type PositionStatus = 'ACTIVE' | 'CLOSED' | 'DELETED';

/** The position row: its summary equals its latest current version (see the migration's position_summary()). */
export interface PositionRow {
  id: string;
  portfolio_node_id: string;
  instrument_id: string;
  /** The quantity of the latest current version. */
  quantity: string;
  base_ccy: string;
  status: PositionStatus;
  /** Trade date: the first date held (the first current version's valid_from). */
  opened_on: string;
  /** CLOSED: the first date no longer held (after the last valuation date held). */
  closed_on: string | null;
  /** valid_from of the latest current version. */
  state_from: string;
  /** The latest moment anything about the position was recorded or superseded (its versions, its valuations). */
  last_recorded_at: string;
}

/** A version of a position: held with `quantity` over [valid_from, valid_to), as recorded over [recorded_at, superseded_at). */
export interface PositionVersionRow {
  position_id: string;
  valid_from: string;
  valid_to: string | null;
  quantity: string;
  status: PositionStatus;
  recorded_at: string;
  superseded_at: string | null;
}

export interface ValuationRow {
  id: string;
  position_id: string;
  /** The position's node. */
  portfolio_node_id: string;
  as_of_date: string;
  /** Current versions: the next current valuation's date (null for the latest), as the database's triggers would set it; superseded: null. */
  valid_to: string | null;
  market_value: string;
  currency: string;
  recorded_at: string;
  superseded_at: string | null;
}

export interface PositionChunk {
  positions: PositionRow[];
  versions: PositionVersionRow[];
  valuations: ValuationRow[];
}

function quantityFor(rng: Rng, instrument: InstrumentRow): Decimal {
  switch (instrument.asset_class) {
    case 'EQUITY':
      return new Decimal(rng.int(100, 250_000));
    case 'CDS':
      return new Decimal(rng.int(1, 100) * 100_000);
    case 'CASH':
      return new Decimal(rng.int(1_000_000, 500_000_000)).div(100);
    default:
      return new Decimal(rng.int(1, 500) * 10_000);
  }
}

/** A new quantity: `quarters`/4 of the original, in the instrument's unit (whole shares, cents of cash). */
function adjustedQuantity(instrument: InstrumentRow, original: Decimal, quarters: number): Decimal {
  return original.mul(quarters).div(4).toDecimalPlaces(instrument.asset_class === 'CASH' ? 2 : 0);
}

/** Price per unit in the convention of the asset class, in integer hundredths. */
function initialPrice(rng: Rng, instrument: InstrumentRow): number {
  switch (instrument.asset_class) {
    case 'EQUITY':
      return rng.int(500, 50_000);
    case 'CDS':
      return rng.int(-500, 500); // upfront in hundredths of a point
    case 'CASH':
      return 100;
    default:
      return rng.int(8_000, 11_000);
  }
}

function nextPrice(rng: Rng, instrument: InstrumentRow, price: number): number {
  switch (instrument.asset_class) {
    case 'CASH':
      return price;
    case 'EQUITY':
      return Math.max(1, Math.round(price * (1 + rng.int(-60, 60) / 1000)));
    case 'CDS':
      return price + rng.int(-40, 40);
    default:
      return Math.max(100, price + rng.int(-150, 150));
  }
}

/** The value of `quantity` at `price` (hundredths), corrected by `permille` thousandths, to the cent. */
function marketValue(instrument: InstrumentRow, quantity: Decimal, price: number, permille = 0): string {
  const p = new Decimal(price).div(100);
  // Bonds, loans and CDS are quoted per 100 of face; equities per share; cash at par.
  let value = instrument.asset_class === 'EQUITY' || instrument.asset_class === 'CASH' ? quantity.mul(p) : quantity.mul(p).div(100);
  if (permille !== 0) value = value.mul(1000 + permille).div(1000);
  return value.toDecimalPlaces(2).toFixed(2);
}

const weekday = (date: string) => new Date(dayMs(date)).getUTCDay();

/** The date itself, or the Friday before a weekend. */
function weekdayOnOrBefore(date: string): string {
  const d = weekday(date);
  return d === 6 ? addDays(date, -1) : d === 0 ? addDays(date, -2) : date;
}

/** A weekday in (after, until]: until itself when the weekend after the draw runs past it. */
function dateBetween(rng: Rng, after: string, until: string): string {
  const gap = Math.max(1, Math.round((dayMs(until) - dayMs(after)) / DAY_MS));
  let date = addDays(after, rng.int(1, gap));
  const d = weekday(date);
  if (d === 6) date = addDays(date, 2);
  else if (d === 0) date = addDays(date, 1);
  return date > until ? until : date;
}

const ADJUST_QUARTERS = [1, 2, 3, 5, 6, 8] as const;

/** A position's valid-time outline: trade date, the valuation dates it is held on, its fate. */
interface Outline {
  fate: PositionStatus;
  openedOn: string;
  /** Indexes of the first and last valuation dates held. */
  first: number;
  last: number;
  closedOn: string | null;
}

function outline(rng: Rng, dates: readonly string[], fate: PositionStatus): Outline {
  const n = dates.length;
  const first = n > 1 && !rng.chance(0.9) ? rng.int(1, n - 1) : 0;
  // Bought before the period (up to 120 days before its first date), or between two valuation dates.
  const openedOn = first === 0
    ? weekdayOnOrBefore(addDays(dates[0] as string, -rng.int(0, 120)))
    : dateBetween(rng, dates[first - 1] as string, dates[first] as string);
  const last = fate === 'ACTIVE' ? n - 1 : fate === 'CLOSED' ? (first <= n - 2 ? rng.int(first, n - 2) : first) : rng.int(first, n - 1);
  // Closed after its last valuation date held, before the next one (the day after the period's end when it has none).
  const closedOn = fate !== 'CLOSED' ? null
    : last < n - 1 ? dateBetween(rng, dates[last] as string, dates[last + 1] as string) : addDays(dates[n - 1] as string, 1);
  return { fate, openedOn, first, last, closedOn };
}

/** What was booked when, in recorded order, each at its own moment (a version is superseded strictly after it was recorded). */
function bookings(rng: Rng, clock: RecordingClock, o: Outline, instrument: InstrumentRow, quantity: Decimal, dates: readonly string[]): PositionEvent[] {
  const events: PositionEvent[] = [{ kind: 'OPEN', eff: o.openedOn, qty: quantity, at: scheduled(clock, o.openedOn, 1, AT.open) }];
  if (o.fate !== 'DELETED') {
    const v = rng.unit();
    const adjustments = v < 0.03 ? 2 : v < 0.15 ? 1 : 0;
    const end = o.closedOn ?? addDays(dates[dates.length - 1] as string, 1);
    const span = Math.round((dayMs(end) - dayMs(o.openedOn)) / DAY_MS);
    for (let a = 0; a < adjustments && span >= 2; a++) {
      const eff = addDays(o.openedOn, rng.int(1, span - 1));
      const qty = adjustedQuantity(instrument, quantity, rng.pick(ADJUST_QUARTERS));
      // Back-dated: booked days after its effective date; a few late bookings in the last two weeks.
      const at = rng.chance(0.08) ? recent(clock, rng.int(60, minutesIn(14))) : scheduled(clock, eff, rng.int(1, 10), AT.adjust);
      if (qty.gt(0)) events.push({ kind: 'ADJUST', eff, qty, at });
    }
  }
  if (o.closedOn) events.push({ kind: 'CLOSE', eff: o.closedOn, at: scheduled(clock, o.closedOn, 1, AT.close) });
  // Found to be entered in error a few days after its last valuation was recorded.
  if (o.fate === 'DELETED') events.push({ kind: 'DELETE', at: scheduled(clock, dates[o.last] as string, rng.int(2, 10), AT.delete) });
  events.sort((a, b) => a.at - b.at);
  for (let e = 1; e < events.length; e++) {
    const prev = (events[e - 1] as PositionEvent).at;
    if ((events[e] as PositionEvent).at <= prev) (events[e] as PositionEvent).at = prev + 1;
  }
  return events;
}

/**
 * The valuation versions of one date: first recorded the night after it with the quantity held then
 * as known then; corrected when a later booking changes that quantity, and when its price is corrected.
 * Returns the current version (null when none).
 */
function valuationVersions(
  rng: Rng, ctx: { clock: RecordingClock; instrument: InstrumentRow; versions: Version[]; adjustments: { eff: string; at: number }[]; nodeId: string },
  positionId: string, date: string, price: number, isLast: boolean, correctable: boolean, out: ValuationRow[],
): ValuationRow | null {
  const recorded = scheduled(ctx.clock, date, 1, AT.valuation);
  // A price correction: the last date's in the last two weeks, older ones within days.
  let corrected: { at: number; permille: number } | null = null;
  if (correctable && rng.chance(isLast ? 0.02 : 0.005)) {
    const at = isLast ? recent(ctx.clock, rng.int(60, minutesIn(14))) : Math.max(recorded + 1, scheduled(ctx.clock, date, rng.int(3, 11), AT.revaluation));
    corrected = { at, permille: rng.int(5, 30) * (rng.chance(0.5) ? 1 : -1) };
  }
  const moments = [recorded, ...ctx.adjustments.filter((a) => a.eff <= date && a.at > recorded).map((a) => a.at)];
  if (corrected) moments.push(corrected.at);
  let previous: ValuationRow | null = null;
  for (const at of [...new Set(moments)].sort((a, b) => a - b)) {
    const held = heldAt(ctx.versions, date, at);
    if (!held) continue;
    const value = marketValue(ctx.instrument, held, price, corrected && at >= corrected.at ? corrected.permille : 0);
    if (previous && previous.market_value === value) continue;
    const row: ValuationRow = {
      id: rng.uuid(), position_id: positionId, portfolio_node_id: ctx.nodeId, as_of_date: date, valid_to: null, market_value: value, currency: ctx.instrument.currency,
      recorded_at: isoMoment(at), superseded_at: null,
    };
    if (previous) previous.superseded_at = row.recorded_at;
    out.push(row);
    previous = row;
  }
  return previous;
}

function holderPositions(world: World, holder: Holder, out: PositionChunk): void {
  const rng = Rng.derive(world.options.seed, holder.index);
  const { instruments, valuationDates: dates, clock } = world;
  const used = new Set<number>();
  for (let k = 0; k < holder.positionCount; k++) {
    let index = rng.skewedIndex(instruments.length, 1.4);
    for (let tries = 0; used.has(index) && tries < 4; tries++) index = rng.int(0, instruments.length - 1);
    used.add(index);
    const instrument = instruments[index] as InstrumentRow;
    const quantity = quantityFor(rng, instrument);
    const u = rng.unit();
    const fate: PositionStatus = u < 0.03 ? 'CLOSED' : u < 0.05 ? 'DELETED' : 'ACTIVE';
    // Ordered by holder, position and valuation, in the order they are written (see Rng.orderedUuid).
    const order = holder.index * 2 ** 32 + k * 2 ** 8;
    const id = orderedUuid(order, rng.uuid());
    const valued = !rng.chance(0.02); // never valued: counted as unvalued, not as zero
    const o = outline(rng, dates, fate);
    const events = bookings(rng, clock, o, instrument, quantity, dates);
    const versions = replay(events);

    const current = versions.filter((v) => v.superseded === null).sort((a, b) => (a.from < b.from ? -1 : 1));
    const latest = current[current.length - 1] as Version;
    let lastRecorded = 0;
    for (const v of versions) lastRecorded = Math.max(lastRecorded, v.recorded, v.superseded ?? 0);
    const position: PositionRow = {
      id, portfolio_node_id: holder.node.id, instrument_id: instrument.id,
      quantity: latest.qty.toFixed(), base_ccy: instrument.currency, status: latest.status,
      opened_on: (current[0] as Version).from, closed_on: latest.status === 'CLOSED' ? latest.from : null, state_from: latest.from,
      last_recorded_at: isoMoment(lastRecorded),
    };
    out.positions.push(position);
    for (const v of versions) {
      out.versions.push({
        position_id: id, valid_from: v.from, valid_to: v.to, quantity: v.qty.toFixed(), status: v.status,
        recorded_at: isoMoment(v.recorded), superseded_at: v.superseded === null ? null : isoMoment(v.superseded),
      });
    }
    if (!valued) continue;

    const adjustments = events.flatMap((e) => (e.kind === 'ADJUST' ? [{ eff: e.eff, at: e.at }] : []));
    const ctx = { clock, instrument, versions, adjustments, nodeId: holder.node.id };
    const currentValuations: ValuationRow[] = [];
    const firstValuation = out.valuations.length;
    let price = initialPrice(rng, instrument);
    for (let d = o.first; d <= o.last; d++) {
      const row = valuationVersions(rng, ctx, id, dates[d] as string, price, d === dates.length - 1, o.fate !== 'DELETED', out.valuations);
      if (row) currentValuations.push(row);
      price = nextPrice(rng, instrument, price);
    }
    currentValuations.forEach((v, i) => {
      v.valid_to = currentValuations[i + 1]?.as_of_date ?? null;
    });
    for (let r = firstValuation; r < out.valuations.length; r++) {
      const row = out.valuations[r] as ValuationRow;
      row.id = orderedUuid(order + Math.min(r - firstValuation + 1, 255), row.id);
    }
    // Valuation moments are ISO strings of one format: they compare as text.
    for (let r = firstValuation; r < out.valuations.length; r++) {
      const row = out.valuations[r] as ValuationRow;
      const at = row.superseded_at !== null && row.superseded_at > row.recorded_at ? row.superseded_at : row.recorded_at;
      if (at > position.last_recorded_at) position.last_recorded_at = at;
    }
  }
}

/** Positions, their versions and valuations of every holder, in chunks of at least `chunkSize` positions. */
export function* positionChunks(world: World, chunkSize: number): Generator<PositionChunk> {
  let chunk: PositionChunk = { positions: [], versions: [], valuations: [] };
  for (const holder of world.holders) {
    holderPositions(world, holder, chunk);
    if (chunk.positions.length >= chunkSize) {
      yield chunk;
      chunk = { positions: [], versions: [], valuations: [] };
    }
  }
  if (chunk.positions.length > 0) yield chunk;
}
