// The one helper every DataLoader batch function goes through: it puts rows
// back in key order, one result per key, as DataLoader requires; and a
// DataLoader whose settled values can be read without a promise.
import DataLoader from 'dataloader';

/**
 * A DataLoader that also remembers the values it has settled (loaded or primed), so that a
 * resolver can answer a value already known synchronously: graphql-js then completes the field
 * (and everything below it) without a promise, a microtask and an await per object, which is
 * most of the cost of a large tree whose data one statement has already loaded.
 */
export class PeekableLoader<K, V> extends DataLoader<K, V> {
  private readonly state: Settled<K, V>;
  private readonly fetch: DataLoader.BatchLoadFn<K, V>;

  constructor(batch: DataLoader.BatchLoadFn<K, V>) {
    const state: Settled<K, V> = { values: new Map(), generation: 0, clearedAt: new Map(), allClearedAt: -1 };
    super(async (keys) => {
      const started = state.generation;
      const values = await batch(keys);
      keep(state, started, keys, values);
      return values;
    });
    this.state = state;
    this.fetch = batch;
  }

  /**
   * Reads the keys not known yet in one call of the batch function and keeps their values, without a
   * promise per key (DataLoader's loadMany builds one for each): what a field about to ask for them
   * one by one (get) then finds in memory. A key that fails is left to its own load.
   */
  async settle(keys: Iterable<K>): Promise<void> {
    const missing = [...new Set(keys)].filter((key) => !this.state.values.has(key));
    if (missing.length === 0) return;
    const started = this.state.generation;
    try {
      keep(this.state, started, missing, await this.fetch(missing));
    } catch {
      // Each key's own load (get) reads it again and reports its error where it is asked.
    }
  }

  /**
   * A settled value is kept here only: DataLoader's own cache would wrap it in a promise at once, one
   * per primed key (a tree primes several per node), where load() builds one only for a key it is asked.
   */
  override prime(key: K, value: V | PromiseLike<V> | Error): this {
    if (value instanceof Error || isPromiseLike(value)) return super.prime(key, value);
    if (!this.state.values.has(key)) this.state.values.set(key, value);
    return this;
  }

  override load(key: K): Promise<V> {
    return this.state.values.has(key) ? Promise.resolve(this.state.values.get(key) as V) : super.load(key);
  }

  override clear(key: K): this {
    this.state.values.delete(key);
    this.state.clearedAt.set(key, ++this.state.generation);
    return super.clear(key);
  }

  override clearAll(): this {
    this.state.values.clear();
    this.state.allClearedAt = ++this.state.generation;
    return super.clearAll();
  }

  /** The value of key when it is already known (loaded or primed); undefined otherwise. */
  peek(key: K): V | undefined {
    return this.state.values.get(key);
  }

  /** The known value of key, or a promise of it. */
  get(key: K): V | Promise<V> {
    const value = this.state.values.get(key);
    return value !== undefined || this.state.values.has(key) ? (value as V) : super.load(key);
  }
}

/** Keeps a batch's values (not errors, not keys cleared while it ran, not keys known already). */
function keep<K, V>(state: Settled<K, V>, started: number, keys: readonly K[], values: ArrayLike<V | Error>): void {
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = values[i];
    // A key cleared while its batch ran keeps no stale value (DataLoader forgets it too).
    const cleared = Math.max(state.allClearedAt, state.clearedAt.get(key) ?? -1) > started;
    if (!(value instanceof Error) && !cleared && !state.values.has(key)) state.values.set(key, value as V);
  }
}

interface Settled<K, V> {
  values: Map<K, V>;
  generation: number;
  clearedAt: Map<K, number>;
  allClearedAt: number;
}

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';

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
export function rowLoader<K, R>(fetch: (keys: readonly K[]) => Promise<R[]>, keyOf: (row: R) => K): PeekableLoader<K, R | null> {
  return new PeekableLoader<K, R | null>(async (keys) => byKey(keys, await fetch(keys), keyOf));
}

/** A per-request loader for one-to-many relations by key. */
export function listLoader<K, R>(fetch: (keys: readonly K[]) => Promise<R[]>, keyOf: (row: R) => K): DataLoader<K, R[]> {
  return new DataLoader<K, R[]>(async (keys) => groupedByKey(keys, await fetch(keys), keyOf));
}

/**
 * A loader of keys `${id}|${argument}|...` (the parts of a field's arguments a resolver joins with '|'),
 * each parsed into what fetch takes; fetch reads every key of a batch in one statement whatever its
 * arguments, and answers in key order.
 */
export function argsLoader<K, V>(parse: (parts: string[]) => K, fetch: (keys: K[]) => Promise<V[]>): PeekableLoader<string, V> {
  return new PeekableLoader<string, V>((keys) => fetch(keys.map((key) => parse(key.split('|')))));
}
