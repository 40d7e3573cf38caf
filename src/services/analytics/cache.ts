// Cached analytics results, checked against the database on every use.
//
// A market value or exposure of a node as of a date, in a currency, is a
// function of three things the database versions for us:
//   - the fund's holdings: the sum of its content_change weights (positions,
//     valuations, nodes and instruments; migration 20261125180000);
//   - reference data: the sum of reference_change weights (issuers' parents,
//     sectors and countries, ratings; migration 20261125200000);
//   - the FX feed in force on the date (feeds are written once: its id says
//     everything about its rates).
// Both sums only grow (rows are only inserted, compaction keeps the sum, and a
// TRUNCATE counts as a change), so equal fingerprints mean equal inputs.
//
// A result is stored with the fingerprint read IN THE SAME STATEMENT that
// computed it. Using it again costs one small statement that reads the current
// fingerprint (two index lookups and a few rows): equal, the stored result is
// the answer; different, the result is computed again (and stored). A write
// committed before a request arrived is therefore always seen by it. Results
// are shared between callers: they depend on the node only, and a node lies
// inside one fund, which a caller either may see whole or not at all (the node
// was resolved through the caller's entitlements before we get here).
//
// The store is in-process (an LRU bounded in bytes, ANALYTICS_CACHE_MB); with
// several instances each keeps its own, and each is checked against the same
// database. Concurrent first requests for the same key each compute: joining
// a computation already under way could answer with data older than a write
// the caller has just made.
//
// With read replicas, an entry is checked against the database the request
// reads (`prisma` is that request's: a replica's, or the primary's): equal
// fingerprints there mean the entry is what that database shows, wherever it
// was computed, and a replica that is behind computes its own answer. A pinned
// knownAt reaches here only once settled on the database that reads it
// (settleKnownAtOnStandby), so a pinned entry is final there too.
import { LRUCache } from 'lru-cache';
import type { Prisma as Db } from '../../db/database';
import { writerOf } from '../../db/readRoute';
import { Prisma } from '../../generated/prisma/client';
import { compactContentChanges, contentRows, contentVersion } from '../snapshots/build';
import { fxCtes } from './fxSql';
import type { KnownAt } from '../time/knownAt';

/** fingerprintColumns for a node named by a column of the statement (one row per node). */
export function fingerprintColumnsOf(node: Prisma.Sql): Prisma.Sql {
  const fund = Prisma.sql`(SELECT n.fund_id FROM portfolio_node n WHERE n.id = ${node})`;
  return Prisma.sql`
    (SELECT COALESCE(sum(c.weight), 0)::text FROM content_change c WHERE c.fund_id IS NULL OR c.fund_id = ${fund}) AS fp_changes,
    (SELECT count(*)::int FROM content_change c WHERE c.fund_id IS NULL OR c.fund_id = ${fund}) AS fp_change_rows,
    (SELECT COALESCE(sum(r.weight), 0)::text FROM reference_change r) AS fp_refs,
    (SELECT count(*)::int FROM reference_change r) AS fp_ref_rows,
    (SELECT id::text FROM fx_feed) AS fp_feed`;
}

/** Fingerprint columns to add to a statement that has the fx_feed CTE of fxSql.ts. */
export function fingerprintColumns(nodeId: string): Prisma.Sql {
  return Prisma.sql`
    ${contentVersion(nodeId)} AS fp_changes,
    ${contentRows(nodeId)} AS fp_change_rows,
    (SELECT COALESCE(sum(r.weight), 0)::text FROM reference_change r) AS fp_refs,
    (SELECT count(*)::int FROM reference_change r) AS fp_ref_rows,
    (SELECT id::text FROM fx_feed) AS fp_feed`;
}

export interface FingerprintRow {
  fp_changes: string;
  fp_change_rows: number;
  fp_refs: string;
  fp_ref_rows: number;
  fp_feed: string | null;
}

const fingerprintOf = (row: FingerprintRow) => `a1:${row.fp_changes}:${row.fp_refs}:${row.fp_feed ?? '-'}`;

/**
 * Past this many version rows, a computation folds them (one more statement, on
 * the path that has just run the whole analytics statement).
 */
export const COMPACT_VERSION_ROWS_AFTER = 256;

async function compactReferenceChanges(prisma: Db): Promise<void> {
  await prisma.$executeRaw`
    WITH gone AS (DELETE FROM reference_change RETURNING weight)
    INSERT INTO reference_change (weight) SELECT sum(weight)::int FROM gone HAVING count(*) > 0`;
}

export interface CacheStats {
  hits: number;
  /** Found, but the data had changed since: computed again. */
  stale: number;
  misses: number;
  entries: number;
  bytes: number;
}

interface Entry {
  fingerprint: string;
  value: unknown;
}

export class AnalyticsCache {
  private readonly lru: LRUCache<string, Entry> | null;
  private readonly counts = { hits: 0, stale: 0, misses: 0 };

  /** maxBytes 0 turns caching off: every request computes. */
  constructor(maxBytes: number) {
    this.lru = maxBytes > 0
      ? new LRUCache<string, Entry>({ maxSize: maxBytes, sizeCalculation: (entry, key) => key.length + JSON.stringify(entry.value).length + 100 })
      : null;
  }

  stats(): CacheStats {
    return { ...this.counts, entries: this.lru?.size ?? 0, bytes: this.lru?.calculatedSize ?? 0 };
  }

  /**
   * The value for `key` (a function of node `nodeId`'s data as of `asOf`, as known at `knownAt`):
   * the stored one when nothing it depends on has changed, else `compute`'s, which must return the
   * fingerprint columns (fingerprintColumns) read in its own statement. An answer pinned at a
   * (settled) knownAt never changes, so it is used again without asking the database.
   */
  async through<T>(prisma: Db, key: string, nodeId: string, asOf: string, knownAt: KnownAt, compute: () => Promise<T & FingerprintRow>): Promise<T> {
    const entry = this.lru?.get(key);
    if (entry && knownAt !== null) {
      this.counts.hits++;
      return entry.value as T;
    }
    if (entry) {
      if (entry.fingerprint === (await currentFingerprint(prisma, nodeId, asOf))) {
        this.counts.hits++;
        return entry.value as T;
      }
      this.counts.stale++;
    } else {
      this.counts.misses++;
    }
    const row = await compute();
    const { fp_changes: _c, fp_change_rows: changeRows, fp_refs: _r, fp_ref_rows: refRows, fp_feed: _f, ...value } = row;
    this.lru?.set(key, { fingerprint: fingerprintOf(row), value });
    // Folding is a write: a read served by a replica folds on the primary (the sums, so every fingerprint, stay).
    if (changeRows > COMPACT_VERSION_ROWS_AFTER) await compactContentChanges(writerOf(prisma), nodeId);
    if (refRows > COMPACT_VERSION_ROWS_AFTER) await compactReferenceChanges(writerOf(prisma));
    return value as T;
  }

  /**
   * `through` for many keys at once (each a function of its node's data as of `asOf`, as known at
   * `knownAt`): the stored values still current (checked in one statement for all of them), and
   * `compute`'s for the others, called once with their indices (it returns a row, with the fingerprint
   * columns read in its own statement, for each index it found). Values in item order; undefined for
   * an item compute did not return.
   */
  async throughMany<T>(
    prisma: Db, items: readonly { key: string; nodeId: string }[], asOf: string, knownAt: KnownAt,
    compute: (indices: number[]) => Promise<Map<number, T & FingerprintRow>>,
  ): Promise<(T | undefined)[]> {
    const values: (T | undefined)[] = items.map(() => undefined);
    const entries = items.map((item) => this.lru?.get(item.key));
    const toCheck = knownAt === null ? items.filter((_, i) => entries[i]) : [];
    const current = toCheck.length > 0 ? await currentFingerprints(prisma, [...new Set(toCheck.map((item) => item.nodeId))], asOf) : new Map<string, string>();
    const missing: number[] = [];
    items.forEach((item, i) => {
      const entry = entries[i];
      if (entry && (knownAt !== null || entry.fingerprint === current.get(item.nodeId))) {
        this.counts.hits++;
        values[i] = entry.value as T;
        return;
      }
      if (entry) this.counts.stale++;
      else this.counts.misses++;
      missing.push(i);
    });
    if (missing.length === 0) return values;
    const rows = await compute(missing);
    // Folding is a write (on the primary): once per fund - the nodes of a fund read the same content
    // version, so one node per distinct version stands for its fund - and once for reference data.
    const funds = new Map<string, string>();
    let foldReferences = false;
    for (const [i, row] of rows) {
      const { fp_changes: changes, fp_change_rows: changeRows, fp_refs: _r, fp_ref_rows: refRows, fp_feed: _f, ...value } = row;
      this.lru?.set(items[i]!.key, { fingerprint: fingerprintOf(row), value });
      values[i] = value as T;
      if (changeRows > COMPACT_VERSION_ROWS_AFTER && !funds.has(`${changes}/${changeRows}`)) funds.set(`${changes}/${changeRows}`, items[i]!.nodeId);
      if (refRows > COMPACT_VERSION_ROWS_AFTER) foldReferences = true;
    }
    for (const nodeId of funds.values()) await compactContentChanges(writerOf(prisma), nodeId);
    if (foldReferences) await compactReferenceChanges(writerOf(prisma));
    return values;
  }
}

/** The current fingerprints of many nodes as of one date, in one statement (node id -> fingerprint). */
async function currentFingerprints(prisma: Db, nodeIds: readonly string[], asOf: string): Promise<Map<string, string>> {
  const rows = await prisma.$queryRaw<(FingerprintRow & { node_id: string })[]>`
    WITH ${fxCtes(asOf, 'USD')}
    SELECT k.id::text AS node_id, ${fingerprintColumnsOf(Prisma.sql`k.id`)}
    FROM unnest(${nodeIds as string[]}::uuid[]) AS k (id)`;
  return new Map(rows.map((row) => [row.node_id, fingerprintOf(row)]));
}

async function currentFingerprint(prisma: Db, nodeId: string, asOf: string): Promise<string> {
  const [row] = await prisma.$queryRaw<FingerprintRow[]>`
    WITH ${fxCtes(asOf, 'USD')}
    SELECT ${fingerprintColumns(nodeId)}`;
  return fingerprintOf(row!);
}

/** A cache that never stores: for callers outside a server (CLI, benchmarks of the statement). */
export const NO_CACHE = new AnalyticsCache(0);
