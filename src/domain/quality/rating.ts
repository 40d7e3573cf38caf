// RATING quality rules. Payload:
// { "ratings": [{ "entity": { "lei" | "isin" | "ticker" | "id": "..." }, "agency": "SP", "rating": "A-" }] }
// Each rating is dated the feed's as-of date.
//   rating.entry_format   entity reference, agency and rating readable                      FAIL
//   rating.scale          the symbol is on the agency's scale (normalised as recordRating)  FAIL
//   rating.entity_known   the reference names exactly one entity                            FAIL
//   rating.consistency    one symbol per entity, agency and date: within the payload and
//                         against rating_history (the same symbol again is skipped)         FAIL
import { AGENCIES, normalizeRating, type Agency } from '../ratings';
import { check, entryCheck, type Offender, type QualityCheck } from './check';
import { readEntityRef, resolveEntities, type EntityMatches, type EntityRef } from './entityRef';
import { entriesOf, isRecord, shown } from './values';

export interface RatingEntry {
  index: number;
  ref: EntityRef;
  agency: Agency;
  /** Normalised to the agency's scale. */
  rating: string;
}

export interface RatingRead {
  entries: RatingEntry[];
  checks: QualityCheck[];
}

/** A rating to write or already written, for the feed's date. */
export interface RatingRow {
  entityId: string;
  agency: Agency;
  rating: string;
}

type Parsed = RatingEntry | { index: number; format?: string; scale?: string };

function readEntry(entry: unknown, index: number): Parsed {
  if (!isRecord(entry)) return { index, format: `entry is not an object: ${shown(entry)}` };
  const ref = readEntityRef(entry.entity);
  const agencyText = typeof entry.agency === 'string' ? entry.agency.trim().toUpperCase() : '';
  const agency = AGENCIES.find((a) => a === agencyText);
  const problems = [
    ...(ref.ok ? [] : [ref.problem]),
    ...(agency ? [] : [`agency ${shown(entry.agency)} is not one of ${AGENCIES.join(', ')}`]),
    ...(typeof entry.rating === 'string' ? [] : [`rating must be a string, got ${shown(entry.rating)}`]),
  ];
  if (!ref.ok || !agency || typeof entry.rating !== 'string') return { index, format: problems.join(', ') };
  const rating = normalizeRating(agency, entry.rating);
  if (rating === null) return { index, scale: `rating ${shown(entry.rating)} is not on the ${agency} scale` };
  return { index, ref: ref.value, agency, rating };
}

export function readRatingPayload(payload: unknown): RatingRead {
  const entries = entriesOf(payload, 'ratings');
  if (!entries.ok) return { entries: [], checks: [check('payload.shape', 'FAIL', entries.problem)] };
  const read = entries.value.map(readEntry);
  const problems = (key: 'format' | 'scale'): Offender[] =>
    read.flatMap((p) => ('ref' in p || p[key] === undefined ? [] : [{ index: p.index, problem: p[key] as string }]));
  return {
    entries: read.filter((p): p is RatingEntry => 'ref' in p),
    checks: [
      check('payload.shape', 'PASS', `an object with ${entries.value.length} ratings`),
      entryCheck('rating.entry_format', 'FAIL', problems('format'), 'every rating names an entity, an agency and a symbol'),
      entryCheck('rating.scale', 'FAIL', problems('scale'), "every symbol is on its agency's scale"),
    ],
  };
}

const rowKey = (r: { entityId: string; agency: Agency }) => `${r.entityId}|${r.agency}`;

export interface RatingOutcome {
  checks: QualityCheck[];
  /** The ratings not yet recorded (or restated), to record when the feed is PASS or WARN. */
  toRecord: RatingRow[];
}

/**
 * Every RATING check after reading, given the entity matches and the ratings
 * already recorded (current versions) on the feed's date for the entities
 * concerned. A symbol other than the recorded one restates it: recorded as a
 * correction (the earlier version stays readable with an earlier knownAt),
 * flagged WARN so that a reader sees the feed changed history. Two symbols for
 * one entity and agency within the payload contradict each other: FAIL.
 */
export function ratingChecks(read: RatingRead, matches: EntityMatches, recorded: readonly RatingRow[], asOf: string): RatingOutcome {
  if (read.checks.some((c) => c.name === 'payload.shape' && c.status === 'FAIL')) return { checks: read.checks, toRecord: [] };
  const { resolved, check: known } = resolveEntities('rating', read.entries, matches);
  const stored = new Map(recorded.map((r) => [rowKey(r), r.rating]));
  const taken = new Map<string, { index: number; rating: string }>();
  const conflicts: Offender[] = [];
  const restated: Offender[] = [];
  const toRecord: RatingRow[] = [];
  let skipped = 0;
  for (const e of resolved) {
    const before = stored.get(rowKey(e));
    const earlier = taken.get(rowKey(e));
    const name = `${e.ref.kind} ${e.ref.value} ${e.agency}`;
    if (earlier && earlier.rating !== e.rating) conflicts.push({ index: e.index, problem: `${name} ${e.rating} contradicts entry #${earlier.index} (${earlier.rating})` });
    else if (earlier || before === e.rating) skipped++;
    else {
      if (before !== undefined) restated.push({ index: e.index, problem: `${name} was rated ${before} on ${asOf}; restated as ${e.rating}` });
      toRecord.push({ entityId: e.entityId, agency: e.agency, rating: e.rating });
    }
    if (!earlier) taken.set(rowKey(e), { index: e.index, rating: e.rating });
  }
  const pass = `one symbol per entity and agency on ${asOf}; ${toRecord.length - restated.length} new, ${restated.length} restated, ${skipped} already recorded or repeated (skipped)`;
  return {
    checks: [...read.checks, known, entryCheck('rating.consistency', 'FAIL', conflicts, pass),
      entryCheck('rating.restated', 'WARN', restated, `no rating recorded for ${asOf} is restated`)],
    toRecord,
  };
}
