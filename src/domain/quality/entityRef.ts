// How RATING and CREDIT_SPREAD payloads name an entity: an object with exactly
// one of lei, isin, ticker or id. Identifiers are normalised and their check
// digits verified here; whether the entity exists is the service's question,
// answered as a map from reference key to the ids of the matching entities.
import { isValidIsin, isValidLei, normalizeIdentifier } from '../identifiers';
import { entryCheck, type Offender, type QualityCheck } from './check';
import { bad, isRecord, ok, shown, type Read } from './values';

export type EntityKey = 'lei' | 'isin' | 'ticker' | 'id';
export const ENTITY_KEYS: readonly EntityKey[] = ['lei', 'isin', 'ticker', 'id'];

export interface EntityRef {
  kind: EntityKey;
  value: string;
}

/** One string per reference, equal for equal references. */
export const refKey = (ref: EntityRef): string => `${ref.kind}:${ref.value}`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const VALID: Record<EntityKey, [(v: string) => boolean, string]> = {
  lei: [isValidLei, 'an LEI with valid check digits'],
  isin: [isValidIsin, 'an ISIN with a valid check digit'],
  ticker: [(v) => /^[A-Z0-9][A-Z0-9 ./:-]{0,31}$/.test(v), '1 to 32 letters, digits, spaces or . / : -'],
  id: [(v) => UUID.test(v), 'a UUID'],
};

export function readEntityRef(value: unknown): Read<EntityRef> {
  if (!isRecord(value)) return bad(`entity must be an object naming one of ${ENTITY_KEYS.join(', ')}, got ${shown(value)}`);
  const given = ENTITY_KEYS.filter((k) => value[k] !== undefined && value[k] !== null);
  if (given.length !== 1) return bad(`entity must name exactly one of ${ENTITY_KEYS.join(', ')} (got ${given.length === 0 ? 'none' : given.join(' and ')})`);
  const kind = given[0] as EntityKey;
  const raw = value[kind];
  if (typeof raw !== 'string') return bad(`entity.${kind} must be a string, got ${shown(raw)}`);
  const normalised = kind === 'id' ? raw.trim().toLowerCase() : normalizeIdentifier(raw);
  const [valid, expected] = VALID[kind];
  return valid(normalised) ? ok({ kind, value: normalised }) : bad(`entity.${kind} ${shown(raw)} is not ${expected}`);
}

/** For each reference key, the ids of the entities it names (none: unknown; several: ambiguous). */
export type EntityMatches = ReadonlyMap<string, readonly string[]>;

export interface Resolved<T> {
  /** The entries whose reference names exactly one entity, with its id. */
  resolved: (T & { entityId: string })[];
  check: QualityCheck;
}

/** `<prefix>.entity_known`: FAIL for every entry naming no entity or more than one. */
export function resolveEntities<T extends { index: number; ref: EntityRef }>(prefix: string, entries: readonly T[], matches: EntityMatches): Resolved<T> {
  const resolved: (T & { entityId: string })[] = [];
  const offenders: Offender[] = [];
  for (const entry of entries) {
    const ids = matches.get(refKey(entry.ref)) ?? [];
    if (ids.length === 1) resolved.push({ ...entry, entityId: ids[0] as string });
    else {
      const problem = ids.length === 0 ? 'no entity has this identifier' : `${ids.length} entities have this identifier`;
      offenders.push({ index: entry.index, problem: `${entry.ref.kind} ${entry.ref.value}: ${problem}`, entity: { [entry.ref.kind]: entry.ref.value } });
    }
  }
  return { resolved, check: entryCheck(`${prefix}.entity_known`, 'FAIL', offenders, `all ${entries.length} entities found`) };
}
