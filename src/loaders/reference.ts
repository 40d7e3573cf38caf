// Per-request loaders of reference data, instruments and ratings. Each batch
// is one SQL statement whatever the number of keys; the rating loaders issue
// one statement per distinct set of field arguments (keys are grouped by them).
import DataLoader from 'dataloader';
import type { Prisma } from '../db/database';
import type { RatingAgency, RatingHistory } from '../generated/prisma/client';
import { findEntitiesByIds, findEntityChildren } from '../services/reference/entities';
import { findInstrumentsByIds } from '../services/reference/instruments';
import type { Read } from '../services/portfolio/nodes';
import { findRatingsAsOf, findRatingsOf, type RatingFilter } from '../services/reference/ratings';
import { findEntitiesAt, findInstrumentsAt } from '../services/reference/versions';
import type { KnownAt } from '../services/time/knownAt';
import { byKey, groupedByKey, listLoader, rowLoader } from './keyed';

/** ReferenceEntity.ratings(agency, from, to) of one entity; dates as 'YYYY-MM-DD'. */
export interface RatingsKey extends RatingFilter {
  entityId: string;
}

/** ReferenceEntity.rating(agency, asOf) of one entity; asOf as 'YYYY-MM-DD'. */
export interface RatingAsOfKey {
  entityId: string;
  agency: RatingAgency;
  asOf: string;
  knownAt: KnownAt;
}

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

/**
 * A loader whose keys are an entity id plus field arguments: keys with the
 * same arguments share one fetch (one statement), which gets their entity ids.
 */
function entityArgsLoader<K extends { entityId: string }, V>(
  argsOf: (key: K) => string,
  fetch: (entityIds: string[], sample: K) => Promise<V[]>,
): DataLoader<K, V, string> {
  return new DataLoader<K, V, string>(
    async (keys) => {
      const groups = new Map<string, K[]>();
      for (const key of keys) {
        const group = groups.get(argsOf(key));
        if (group) group.push(key);
        else groups.set(argsOf(key), [key]);
      }
      const results = new Map<K, V>();
      await Promise.all(
        [...groups.values()].map(async (group) => {
          const values = await fetch(group.map((k) => k.entityId), group[0] as K);
          group.forEach((key, i) => results.set(key, values[i] as V));
        }),
      );
      return keys.map((key) => results.get(key) as V);
    },
    { cacheKeyFn: (key) => `${key.entityId}|${argsOf(key)}` },
  );
}

export function referenceLoaders(prisma: Prisma, read: Read) {
  return {
    referenceById: rowLoader((ids: readonly string[]) => findEntitiesByIds(prisma, ids), (e) => e.id),
    referenceChildrenById: listLoader((ids: readonly string[]) => findEntityChildren(prisma, ids), (e) => e.parentEntityId as string),
    instrumentById: rowLoader((ids: readonly string[]) => findInstrumentsByIds(read, ids), (i) => i.id),
    /** Rating histories, newest first: one statement per (agency, from, to) for all entities asking. */
    ratingsByEntityId: entityArgsLoader<RatingsKey, RatingHistory[]>(
      (k) => `${k.agency ?? ''}|${k.from ?? ''}|${k.to ?? ''}`,
      async (ids, { agency, from, to }) => groupedByKey(ids, await findRatingsOf(prisma, ids, { agency, from, to }), (r) => r.entityId),
    ),
    /** The rating in force on a date: one statement per (agency, asOf) for all entities asking. */
    ratingAsOfByEntityId: entityArgsLoader<RatingAsOfKey, RatingHistory | null>(
      (k) => `${k.agency}|${k.asOf}|${k.knownAt ?? ''}`,
      async (ids, { agency, asOf, knownAt }) => byKey(ids, await findRatingsAsOf(prisma, ids, agency, asOf, knownAt), (r) => r.entityId),
    ),
    /** Key `${id}|${knownAt}`: the entity as recorded then (null when not yet recorded). */
    referenceAt: atLoader((ids, knownAt) => findEntitiesAt(prisma, ids, knownAt)),
    /** Key `${id}|${knownAt}`: the instrument as recorded then. */
    instrumentAt: atLoader((ids, knownAt) => findInstrumentsAt(prisma, ids, knownAt)),
  };
}
