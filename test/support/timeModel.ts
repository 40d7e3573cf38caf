// A plain model of the two clocks, for test/integration/timeProperty.test.ts.
//
// Recorded time is counted in writes: write n is the n-th accepted operation,
// and a moment taken between writes n and n+1 knows writes 1..n (`known` = n).
// Every write appends versions stamped with its number; a version supersedes the
// previous version of the same thing from that number on. Nothing is ever
// overwritten, so a read at `known` = k looks only at versions stamped <= k.
//   - a position's version is its whole belief over valid time (a Timeline):
//     opened on, the quantities from each date on, closed on, deleted;
//   - a valuation's version is the value of one (position, date);
//   - a feed is recorded once; a later usable feed for the same date restates it.
// Valid time follows the contract (../shared/design/api-contract.md, "Time"),
// spelled out without the service's storage (no split versions, no SQL).
import { convertAmount, deriveRate, Exact, weightOf } from '../../src/domain/fx';

export type Day = string; // 'YYYY-MM-DD'

export interface Timeline {
  openedOn: Day;
  /** The quantity held from each date until the next one's; sorted, the first from openedOn. */
  segments: { from: Day; quantity: string }[];
  closedOn: Day | null;
  deleted: boolean;
}

interface Version<T> {
  /** The write that recorded it. */
  at: number;
  value: T;
}

export interface Valuation {
  asOfDate: Day;
  amount: string;
  currency: string;
}

export interface Feed {
  id: string;
  date: Day;
  source: string;
  /** The payload as sent (JSON text): the same type, date, source and payload are stored once. */
  payload: string;
  usable: boolean;
  at: number;
  rates: Record<string, string>;
}

/** The acceptable answers of an operation the model refuses (any one of them). */
export type Rejection = { code: string; field: string }[];

export type Figures = { missing: string[] } | {
  total: string;
  unvalued: number;
  buckets: { key: string; marketValue: string; weight: string; positionCount: number }[];
};

export interface Point {
  asOf: Day;
  known: number;
}

export interface Change {
  id: string;
  kind: 'OPENED' | 'CLOSED' | 'QUANTITY' | 'VALUE';
  quantityFrom: string | null;
  quantityTo: string | null;
  marketValueFrom: string | null;
  marketValueTo: string | null;
}

export type HoldingsChange = { missing: string[][] } | { marketValueFrom: string; marketValueTo: string; changes: Change[] };

const norm = (decimal: string) => new Exact(decimal).toFixed();
const bad = (field: string): Rejection => [{ code: 'BAD_USER_INPUT', field }];
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function latest<T>(versions: readonly Version<T>[] | undefined, known: number): T | null {
  let found: T | null = null;
  for (const v of versions ?? []) if (v.at <= known) found = v.value;
  return found;
}

/** The quantity in force on `date` by the timeline (ignores opened/closed/deleted). */
function quantityOn(t: Timeline, date: Day): string {
  let q = t.segments[0]!.quantity;
  for (const s of t.segments) if (s.from <= date) q = s.quantity;
  return q;
}

export class TimeModel {
  /** Writes recorded so far: a moment taken now knows writes 1..writes. */
  writes = 0;
  private readonly positions = new Map<string, { nodeId: string; versions: Version<Timeline>[] }>();
  private readonly valuations = new Map<string, Version<Valuation>[]>(); // `${positionId}|${date}`
  private readonly feeds: Feed[] = [];

  /** `subtrees`: each node id -> the ids of the nodes of its subtree (itself included). */
  constructor(private readonly subtrees: ReadonlyMap<string, ReadonlySet<string>>) {}

  positionIds(): string[] {
    return [...this.positions.keys()];
  }

  valuationKeys(): { positionId: string; date: Day }[] {
    return [...this.valuations.keys()].map((k) => ({ positionId: k.split('|')[0]!, date: k.split('|')[1]! }));
  }

  /** The dates of the feeds recorded so far (only those of usable feeds, PASS or WARN, when asked). */
  feedDates(usableOnly = false): Day[] {
    return [...new Set(this.feeds.filter((f) => f.usable || !usableOnly).map((f) => f.date))].sort();
  }

  /** What is believed now about a position's holdings. */
  now(positionId: string): Timeline {
    return latest(this.positions.get(positionId)!.versions, this.writes)!;
  }

  private record(positionId: string, t: Timeline): void {
    this.positions.get(positionId)!.versions.push({ at: this.writes, value: t });
  }

  // ------------------------------------------------------------------ writes

  checkOpen(tradeDate: Day, today: Day): Rejection | null {
    return tradeDate > today ? bad('input.tradeDate') : null;
  }

  open(id: string, nodeId: string, quantity: string, tradeDate: Day): void {
    this.writes++;
    this.positions.set(id, { nodeId, versions: [] });
    this.record(id, { openedOn: tradeDate, segments: [{ from: tradeDate, quantity: norm(quantity) }], closedOn: null, deleted: false });
  }

  /** Held quantity from `eff` until the next change; a quantity equal to the one in force is no change. */
  adjust(positionId: string, quantity: string, eff: Day, today: Day): Rejection | null {
    const t = this.now(positionId);
    const reasons: Rejection = [];
    if (eff > today || eff < t.openedOn || (t.closedOn !== null && eff >= t.closedOn)) reasons.push(...bad('input.effectiveDate'));
    if (t.deleted) reasons.push({ code: 'CONFLICT', field: 'input.positionId' });
    if (reasons.length) return reasons;
    this.writes++;
    const q = norm(quantity);
    if (new Exact(quantityOn(t, eff)).eq(q)) return null;
    const segments = t.segments.filter((s) => s.from !== eff).concat([{ from: eff, quantity: q }]).sort((a, b) => byId(a.from, b.from));
    this.record(positionId, { ...t, segments });
    return null;
  }

  /** Not held from `eff` on; the same date again changes nothing, an earlier one moves the close back. */
  close(positionId: string, eff: Day, today: Day): Rejection | null {
    const t = this.now(positionId);
    const reasons: Rejection = [];
    if (eff > today || eff < t.openedOn || (t.closedOn !== null && eff > t.closedOn)) reasons.push(...bad('effectiveDate'));
    if (t.deleted) reasons.push({ code: 'CONFLICT', field: 'id' });
    if (reasons.length) return reasons;
    this.writes++;
    if (t.closedOn === eff) return null;
    const kept = t.segments.filter((s) => s.from < eff);
    this.record(positionId, { ...t, segments: kept.length ? kept : [t.segments[0]!], closedOn: eff });
    return null;
  }

  /** Entered in error: never held, as known from now on. */
  delete(positionId: string): Rejection | null {
    const t = this.now(positionId);
    this.writes++;
    if (!t.deleted) this.record(positionId, { ...t, deleted: true });
    return null;
  }

  /** All or none; returns the number of versions written (a value equal to the current one is not written). */
  recordValuations(entries: { positionId: string; date: Day; amount: string; currency: string }[]): Rejection | number {
    const reasons: Rejection = [];
    const seen = new Set<string>();
    entries.forEach((e, i) => {
      const key = `${e.positionId}|${e.date}`;
      if (seen.has(key) || e.date < this.now(e.positionId).openedOn) reasons.push(...bad(`input[${i}].asOfDate`));
      seen.add(key);
    });
    if (reasons.length) return reasons;
    this.writes++;
    let written = 0;
    for (const e of entries) {
      const key = `${e.positionId}|${e.date}`;
      const current = latest(this.valuations.get(key), this.writes);
      if (current && new Exact(current.amount).eq(e.amount) && current.currency === e.currency) continue;
      const versions = this.valuations.get(key) ?? [];
      versions.push({ at: this.writes, value: { asOfDate: e.date, amount: e.amount, currency: e.currency } });
      this.valuations.set(key, versions);
      written++;
    }
    return written;
  }

  /** The feed already stored with this date, source and payload (sending it again returns it), if any. */
  storedFeed(date: Day, source: string, payload: string): Feed | undefined {
    return this.feeds.find((f) => f.date === date && f.source === source && f.payload === payload);
  }

  addFeed(feed: Omit<Feed, 'at'>): void {
    this.writes++;
    this.feeds.push({ ...feed, at: this.writes });
  }

  // ------------------------------------------------------------------- reads

  /** The position's belief at `known`: null when not recorded yet. */
  timeline(positionId: string, known: number): Timeline | null {
    return latest(this.positions.get(positionId)?.versions, known);
  }

  /** The quantity held on `date` as known at `known`; null when not held. */
  held(positionId: string, date: Day, known: number): string | null {
    const t = this.timeline(positionId, known);
    if (!t || t.deleted || date < t.openedOn || (t.closedOn !== null && date >= t.closedOn)) return null;
    return quantityOn(t, date);
  }

  /** The latest valuation dated on or before `date`, as recorded by `known`. */
  valuation(positionId: string, date: Day, known: number): Valuation | null {
    let found: Valuation | null = null;
    for (const [key, versions] of this.valuations) {
      if (!key.startsWith(`${positionId}|`)) continue;
      const v = latest(versions, known);
      if (v && v.asOfDate <= date && (!found || v.asOfDate > found.asOfDate)) found = v;
    }
    return found;
  }

  /** The rates of the latest usable feed dated on or before `date` received by `known` (a later one for the same date restates). */
  rates(date: Day, known: number): Map<string, InstanceType<typeof Exact>> {
    let found: Feed | null = null;
    for (const f of this.feeds) {
      if (!f.usable || f.date > date || f.at > known) continue;
      if (!found || f.date > found.date || (f.date === found.date && f.at > found.at)) found = f;
    }
    return new Map(Object.entries(found?.rates ?? {}).map(([pair, rate]) => [pair, new Exact(rate)]));
  }

  private inSubtree(nodeId: string): string[] {
    const nodes = this.subtrees.get(nodeId)!;
    return this.positionIds().filter((id) => nodes.has(this.positions.get(id)!.nodeId));
  }

  /** Positions held on the date with their quantity and value in `reporting` (null: unvalued; missing: no rate). */
  private side(nodeId: string, p: Point, reporting: string) {
    const rates = this.rates(p.asOf, p.known);
    const rows: { id: string; quantity: string; value: InstanceType<typeof Exact> | null; currency: string | null }[] = [];
    const missing = new Set<string>();
    for (const id of this.inSubtree(nodeId)) {
      const quantity = this.held(id, p.asOf, p.known);
      if (quantity === null) continue;
      const v = this.valuation(id, p.asOf, p.known);
      if (!v) {
        rows.push({ id, quantity, value: null, currency: null });
        continue;
      }
      const rate = deriveRate(rates, v.currency, reporting);
      if (!rate) missing.add(v.currency);
      rows.push({ id, quantity, value: rate ? convertAmount(new Exact(v.amount), rate.rate) : null, currency: v.currency });
    }
    return { rows, missing: [...missing].sort().map((ccy) => `${ccy}${reporting}`) };
  }

  /** marketValue and exposure(dimension: CURRENCY) of the node's subtree. */
  figures(nodeId: string, p: Point, reporting: string): Figures {
    const { rows, missing } = this.side(nodeId, p, reporting);
    if (missing.length) return { missing };
    const buckets = new Map<string, { value: InstanceType<typeof Exact>; count: number }>();
    let total = new Exact(0);
    for (const r of rows) {
      if (r.value === null) continue;
      const b = buckets.get(r.currency!) ?? { value: new Exact(0), count: 0 };
      buckets.set(r.currency!, { value: b.value.plus(r.value), count: b.count + 1 });
      total = total.plus(r.value);
    }
    const sorted = [...buckets].sort(([ka, a], [kb, b]) => b.value.comparedTo(a.value) || byId(ka, kb));
    return {
      total: total.toFixed(),
      unvalued: rows.filter((r) => r.value === null).length,
      buckets: sorted.map(([key, b]) => ({ key, marketValue: b.value.toFixed(), weight: weightOf(b.value, total).toFixed(), positionCount: b.count })),
    };
  }

  /** positions(asOf, knownAt, includeDescendants) by state on the date, ids in order. */
  listed(nodeId: string, p: Point): { held: string[]; closed: string[]; deleted: string[] } {
    const ids = this.inSubtree(nodeId).sort(byId);
    const state = (id: string) => this.timeline(id, p.known);
    return {
      held: ids.filter((id) => this.held(id, p.asOf, p.known) !== null),
      closed: ids.filter((id) => { const t = state(id); return !!t && !t.deleted && t.closedOn !== null && t.closedOn <= p.asOf; }),
      deleted: ids.filter((id) => { const t = state(id); return !!t && t.deleted && t.openedOn <= p.asOf; }),
    };
  }

  /** holdingsChange between two points (from not later than to). */
  holdingsChange(nodeId: string, from: Point, to: Point, reporting: string): HoldingsChange {
    const a = this.side(nodeId, from, reporting);
    const b = this.side(nodeId, to, reporting);
    const missing = [a.missing, b.missing].filter((m) => m.length > 0);
    if (missing.length) return { missing };
    const sum = (rows: typeof a.rows) => rows.reduce((s, r) => (r.value ? s.plus(r.value) : s), new Exact(0)).toFixed();
    const ids = [...new Set([...a.rows, ...b.rows].map((r) => r.id))];
    const changes: (Change & { delta: InstanceType<typeof Exact> })[] = [];
    for (const id of ids) {
      const x = a.rows.find((r) => r.id === id);
      const y = b.rows.find((r) => r.id === id);
      const sameValue = x?.value && y?.value ? x.value.eq(y.value) : !x?.value && !y?.value;
      let kind: Change['kind'];
      if (!x) kind = 'OPENED';
      else if (!y) kind = 'CLOSED';
      else if (!new Exact(x.quantity).eq(y.quantity)) kind = 'QUANTITY';
      else if (!sameValue) kind = 'VALUE';
      else continue;
      changes.push({
        id, kind,
        quantityFrom: x?.quantity ?? null, quantityTo: y?.quantity ?? null,
        marketValueFrom: x?.value?.toFixed() ?? null, marketValueTo: y?.value?.toFixed() ?? null,
        delta: (y?.value ?? new Exact(0)).minus(x?.value ?? new Exact(0)).abs(),
      });
    }
    changes.sort((p, q) => q.delta.comparedTo(p.delta) || byId(p.id, q.id));
    return { marketValueFrom: sum(a.rows), marketValueTo: sum(b.rows), changes: changes.map(({ delta: _, ...c }) => c) };
  }
}
