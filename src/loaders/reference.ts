// Per-request loaders of reference data, instruments and ratings. Each batch
// is one SQL statement whatever the number of keys; the rating loaders' keys
// carry the field's arguments, all of them read in that one statement.
import DataLoader from 'dataloader';
import type { RatingHistory, ReferenceData } from '../generated/prisma/client';
import { findEntitiesByIds, findEntitiesWithLinks, findEntityChildren } from '../services/reference/entities';
import { findInstrumentsByIds } from '../services/reference/instruments';
import type { Read } from '../services/portfolio/nodes';
import { findRatingsAsOf, findRatingsOf, type RatingAsOfKey, type RatingsKey } from '../services/reference/ratings';
import { findEntitiesAt, findInstrumentsAt } from '../services/reference/versions';
import { byKey, listLoader, rowLoader } from './keyed';

const splitAt = (key: string): [string, string] => {
  const at = key.indexOf('|');
  return [key.slice(0, at), key.slice(at + 1)];
};

/** Rows by `${id}|${knownAt}`: one statement per moment for every id asked. */
function atLoader<V extends { id: string }>(fetch: (ids: string[], knownAt: string) => Promise<V[]>): DataLoader<string, V | null> {
  return new DataLoader<string, V | null>(async (keys) => {
    const byMoment = new Map<string, string[]>();
    for (const key of keys) {
      const [id, knownAt] = splitAt(key);
      byMoment.set(knownAt, [...(byMoment.get(knownAt) ?? []), id]);
    }
    const found = new Map<string, V>();
    await Promise.all([...byMoment].map(async ([knownAt, ids]) => {
      for (const row of await fetch(ids, knownAt)) found.set(`${row.id}|${knownAt}`, row);
    }));
    return keys.map((key) => found.get(key) ?? null);
  });
}

export function referenceLoaders(read: Read) {
  const referenceById = rowLoader((ids: readonly string[]) => findEntitiesByIds(read, ids), (e) => e.id);
  return {
    referenceById,
    /**
     * Entities with the entities they link to, a few links deep (findEntitiesWithLinks), all primed into
     * referenceById: for a field whose selection follows parent, sector or geography.
     */
    referenceWithLinks: new DataLoader<string, ReferenceData | null>(async (ids) => {
      const rows = await findEntitiesWithLinks(read, ids);
      for (const row of rows) referenceById.prime(row.id, row);
      return byKey(ids, rows, (e) => e.id);
    }),
    referenceChildrenById: listLoader((ids: readonly string[]) => findEntityChildren(read, ids), (e) => e.parentEntityId as string),
    instrumentById: rowLoader((ids: readonly string[]) => findInstrumentsByIds(read, ids), (i) => i.id),
    /** Rating histories, newest first: one statement for every entity and arguments asked. */
    ratingsByEntityId: new DataLoader<RatingsKey, RatingHistory[], string>((keys) => findRatingsOf(read, keys),
      { cacheKeyFn: (k) => `${k.entityId}|${k.agency ?? ''}|${k.from ?? ''}|${k.to ?? ''}` }),
    /** The rating in force on a date: one statement for every entity, agency, date and moment asked. */
    ratingAsOfByEntityId: new DataLoader<RatingAsOfKey, RatingHistory | null, string>((keys) => findRatingsAsOf(read, keys),
      { cacheKeyFn: (k) => `${k.entityId}|${k.agency}|${k.asOf}|${k.knownAt ?? ''}` }),
    /** Key `${id}|${knownAt}`: the entity as recorded then (null when not yet recorded). */
    referenceAt: atLoader((ids, knownAt) => findEntitiesAt(read, ids, knownAt)),
    /** Key `${id}|${knownAt}`: the instrument as recorded then. */
    instrumentAt: atLoader((ids, knownAt) => findInstrumentsAt(read, ids, knownAt)),
  };
}
