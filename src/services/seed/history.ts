// A position's versions from what was booked when: the events replayed in
// recorded order with the rules of the database's position_versions_change()
// (migration 20261204120000_two_clocks), so that the seeded versions are what
// the service would have written had it been told the same things at the same
// moments. Pure: no randomness, no clock.
import type Decimal from 'decimal.js';
import type { PositionStatus } from './positions';

export type PositionEvent =
  | { kind: 'OPEN'; eff: string; qty: Decimal; at: number }
  | { kind: 'ADJUST'; eff: string; qty: Decimal; at: number }
  | { kind: 'CLOSE'; eff: string; at: number }
  | { kind: 'DELETE'; at: number };

/** Held with `qty` over [from, to), as recorded over [recorded, superseded) (epoch ms). */
export interface Version {
  from: string;
  to: string | null;
  qty: Decimal;
  status: PositionStatus;
  recorded: number;
  superseded: number | null;
}

/**
 * Replays the events in recorded order as position_versions_change() does: an adjustment splits the
 * version in force on its date; a close ends every version from its date and adds a CLOSED one with
 * the quantity last held; a deletion supersedes every version with one DELETED version.
 */
export function replay(events: PositionEvent[]): Version[] {
  const versions: Version[] = [];
  const current = () => versions.filter((v) => v.superseded === null).sort((a, b) => (a.from < b.from ? -1 : 1));
  for (const e of events) {
    const now = current();
    if (e.kind === 'OPEN') {
      versions.push({ from: e.eff, to: null, qty: e.qty, status: 'ACTIVE', recorded: e.at, superseded: null });
    } else if (e.kind === 'ADJUST') {
      const v = now.find((x) => x.from <= e.eff && (x.to === null || x.to > e.eff));
      if (!v || v.status !== 'ACTIVE' || v.qty.eq(e.qty)) continue;
      v.superseded = e.at;
      if (v.from < e.eff) versions.push({ from: v.from, to: e.eff, qty: v.qty, status: 'ACTIVE', recorded: e.at, superseded: null });
      versions.push({ from: e.eff, to: v.to, qty: e.qty, status: 'ACTIVE', recorded: e.at, superseded: null });
    } else if (e.kind === 'CLOSE') {
      const held = [...now].reverse().find((x) => x.from < e.eff && x.status === 'ACTIVE') ?? now[0];
      if (!held) continue;
      for (const v of now) {
        if (v.to !== null && v.to <= e.eff) continue;
        v.superseded = e.at;
        if (v.from < e.eff) versions.push({ from: v.from, to: e.eff, qty: v.qty, status: v.status, recorded: e.at, superseded: null });
      }
      versions.push({ from: e.eff, to: null, qty: held.qty, status: 'CLOSED', recorded: e.at, superseded: null });
    } else {
      const latest = now[now.length - 1];
      const first = now[0];
      if (!latest || !first) continue;
      for (const v of now) v.superseded = e.at;
      versions.push({ from: first.from, to: null, qty: latest.qty, status: 'DELETED', recorded: e.at, superseded: null });
    }
  }
  return versions;
}

/** The quantity held on `date` as known at `at` (undefined when not held then). */
export function heldAt(versions: Version[], date: string, at: number): Decimal | undefined {
  return versions.find((v) => v.recorded <= at && (v.superseded === null || v.superseded > at) && v.from <= date && (v.to === null || v.to > date)
    && v.status === 'ACTIVE')?.qty;
}
