// The one helper every DataLoader batch function goes through: it puts rows
// back in key order, one result per key, as DataLoader requires.
import DataLoader from 'dataloader';

/** One row (or null) per key, in key order. */
export function byKey<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): (R | null)[] {
  const map = new Map<K, R>();
  for (const row of rows) map.set(keyOf(row), row);
  return keys.map((key) => map.get(key) ?? null);
}

/** All rows of each key (possibly none), in key order, keeping the rows' own order. */
export function groupedByKey<K, R>(keys: readonly K[], rows: readonly R[], keyOf: (row: R) => K): R[][] {
  const map = new Map<K, R[]>();
  for (const row of rows) {
    const key = keyOf(row);
    const list = map.get(key);
    if (list) list.push(row);
    else map.set(key, [row]);
  }
  return keys.map((key) => map.get(key) ?? []);
}

/** A per-request loader for single rows by key. */
export function rowLoader<K, R>(fetch: (keys: readonly K[]) => Promise<R[]>, keyOf: (row: R) => K): DataLoader<K, R | null> {
  return new DataLoader<K, R | null>(async (keys) => byKey(keys, await fetch(keys), keyOf));
}

/** A per-request loader for one-to-many relations by key. */
export function listLoader<K, R>(fetch: (keys: readonly K[]) => Promise<R[]>, keyOf: (row: R) => K): DataLoader<K, R[]> {
  return new DataLoader<K, R[]>(async (keys) => groupedByKey(keys, await fetch(keys), keyOf));
}
