// CREDIT_SPREAD quality rules. Payload:
// { "spreads": [{ "entity": { "lei" | "isin" | "ticker" | "id": "..." }, "tenor": "5Y", "bps": "125.5" }] }
//   spread.entry_format      entity reference, tenor and bps readable               FAIL
//   spread.non_negative      no negative spread                                     FAIL
//   spread.entity_known      the reference names exactly one entity                 FAIL
//   spread.duplicate         one spread per entity and tenor                        FAIL
//   spread.jump_vs_previous  within N bp of the previous PASS/WARN feed's value     WARN
import { Exact } from '../fx';
import { check, entryCheck, measuredCheck, type Measure, type Offender, type QualityCheck, type QualityThresholds } from './check';
import { readEntityRef, resolveEntities, type EntityMatches, type EntityRef } from './entityRef';
import { entriesOf, isRecord, readDecimal, readTenor, shown, SPREAD_BPS, type Tenor } from './values';

export interface SpreadEntry {
  index: number;
  ref: EntityRef;
  tenor: Tenor;
  bps: string;
}

export interface SpreadRead {
  entries: SpreadEntry[];
  checks: QualityCheck[];
}

/** The previous PASS or WARN CREDIT_SPREAD feed: bps by spreadKey(entity id, tenor). */
export interface PreviousSpreadFeed {
  id: string;
  asOfDate: string;
  spreads: ReadonlyMap<string, string>;
}

export const spreadKey = (entityId: string, tenor: Tenor): string => `${entityId}|${tenor.units}`;

function readEntry(entry: unknown, index: number): SpreadEntry | Offender {
  if (!isRecord(entry)) return { index, problem: `entry is not an object: ${shown(entry)}` };
  const ref = readEntityRef(entry.entity);
  const tenor = readTenor(entry.tenor);
  const bps = readDecimal(entry.bps, SPREAD_BPS, 'bps');
  if (ref.ok && tenor.ok && bps.ok) return { index, ref: ref.value, tenor: tenor.value, bps: bps.value };
  return { index, problem: [ref, tenor, bps].flatMap((r) => (r.ok ? [] : [r.problem])).join(', ') };
}

export function readSpreadPayload(payload: unknown): SpreadRead {
  const entries = entriesOf(payload, 'spreads');
  if (!entries.ok) return { entries: [], checks: [check('payload.shape', 'FAIL', entries.problem)] };
  const read = entries.value.map(readEntry);
  return {
    entries: read.filter((e): e is SpreadEntry => 'ref' in e),
    checks: [
      check('payload.shape', 'PASS', `an object with ${entries.value.length} spreads`),
      entryCheck('spread.entry_format', 'FAIL', read.filter((e): e is Offender => !('ref' in e)), 'every spread names an entity, a tenor and bps'),
    ],
  };
}

/** A feed's spreads by entity and tenor (first of duplicates); entries naming no single entity are left out. */
export function spreadsByKey(entries: readonly SpreadEntry[], matches: EntityMatches): Map<string, string> {
  const map = new Map<string, string>();
  for (const e of resolveEntities('spread', entries, matches).resolved) {
    const key = spreadKey(e.entityId, e.tenor);
    if (!map.has(key)) map.set(key, e.bps);
  }
  return map;
}

function jumpCheck(entries: readonly (SpreadEntry & { entityId: string })[], previous: PreviousSpreadFeed | null, jumpBps: string): QualityCheck {
  const limit = new Exact(jumpBps);
  if (!previous) return measuredCheck('spread.jump_vs_previous', 'WARN', [], limit, { what: '', unit: ' bp', none: 'no earlier PASS or WARN CREDIT_SPREAD feed to compare with' });
  const measures: Measure[] = [];
  for (const e of entries) {
    const before = previous.spreads.get(spreadKey(e.entityId, e.tenor));
    if (before === undefined) continue;
    const label = `${e.ref.kind} ${e.ref.value} ${e.tenor.label}`;
    measures.push({ index: e.index, label, value: new Exact(e.bps).minus(before).abs(), previousBps: before });
  }
  const result = measuredCheck('spread.jump_vs_previous', 'WARN', measures, limit, {
    what: `spreads also quoted on ${previous.asOfDate}`, unit: ' bp', none: `no entity and tenor in common with the feed of ${previous.asOfDate}`,
  });
  return { ...result, message: `${result.message} (against feed ${previous.id} of ${previous.asOfDate})` };
}

/** Every CREDIT_SPREAD check after reading, given the entity matches of the references. */
export function spreadChecks(read: SpreadRead, matches: EntityMatches, previous: PreviousSpreadFeed | null, t: QualityThresholds): QualityCheck[] {
  if (read.checks.some((c) => c.name === 'payload.shape' && c.status === 'FAIL')) return read.checks;
  const negative = read.entries
    .filter((e) => new Exact(e.bps).lt(0))
    .map((e) => ({ index: e.index, problem: `spread ${e.bps} bp is negative`, bps: e.bps }));
  const { resolved, check: known } = resolveEntities('spread', read.entries, matches);
  const seen = new Map<string, number>();
  const duplicates: Offender[] = [];
  const unique = resolved.filter((e) => {
    const key = spreadKey(e.entityId, e.tenor);
    const first = seen.get(key);
    if (first !== undefined) {
      duplicates.push({ index: e.index, problem: `entity ${e.entityId} ${e.tenor.label} is already quoted by entry #${first}` });
      return false;
    }
    seen.set(key, e.index);
    return true;
  });
  return [
    ...read.checks,
    entryCheck('spread.non_negative', 'FAIL', negative, 'no spread is negative', '>= 0'),
    known,
    entryCheck('spread.duplicate', 'FAIL', duplicates, 'one spread per entity and tenor'),
    jumpCheck(unique, previous, t.spreadJumpBps),
  ];
}
