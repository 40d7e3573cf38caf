// Market value and exposure of a subtree as of a date, in a reporting
// currency: one SQL statement each, computed in the database. One node's
// statement is views.ts' (its value and any of its exposures in one); this
// file has what the statements of one node and of many roots (views.ts) share.
//
// Plan shape of one node's statement (PostgreSQL; bench/analytics.ts prints it):
//   CTE subtree: recursive walk down portfolio_node via portfolio_node_parent_id_idx,
//     carrying the path (cycle guard) and the direct child each node hangs under;
//   CTEs fx_feed / fx_rates / fx_needed / fx_conv (fxSql.ts): one index probe for the
//     feed, its rates, one rate per currency the feed names;
//   CTE by_views: the subtree's positions held on the date as known at knownAt (heldSql,
//     held.ts: a subquery filtered by the subtree's node ids - a parameter read just
//     before, see subtreeIds - whose FX rates come from InitPlans computed once, so that
//     the position scan, the joins with instrument - or its versions as known at knownAt -
//     and a partial hash aggregate run in parallel workers) with the valuation in force,
//     each converted amount rounded to 8 places, grouped by a column whose values the
//     planner can count (the issuer, the asset class, the currency, the child), with
//     what is wrong (no valuation, no rate) counted in the same groups;
//   CTE view_k (materialised): those few thousand groups by bucket key (the issuer's
//     ultimate parent, sector or country, the rating score - from reference_data or
//     its versions);
//   final: the buckets, the unvalued count and whether a rate is missing from those
//     groups, in one row (which currencies, only when one is).
// Totals are exact sums of the rounded amounts, so a total always equals the sum
// of its buckets. Weights, top-N and labels are finished in TypeScript on the
// (few) bucket rows, with decimal.js.
import type { Prisma as Db } from '../../db/database';
import { Exact, weightOf } from '../../domain/fx';
import { ratingSymbols, symbolForScore, AGENCIES } from '../../domain/ratings';
import { badInput, DomainError } from '../../errors';
import { Prisma } from '../../generated/prisma/client';
import { isoDate } from '../inputs';
import { NO_CACHE, type AnalyticsCache } from './cache';
import { fxCtes } from './fxSql';
import { exposureOfNode } from './views';
import { issuersSql } from './held';
import { knownSql, type KnownAt } from '../time/knownAt';

export type Dimension = 'ISSUER' | 'SECTOR' | 'GEOGRAPHY' | 'CURRENCY' | 'RATING' | 'ASSET_CLASS' | 'CHILD';

export interface ExposureBucketRow {
  dimension: Dimension;
  key: string;
  label: string;
  marketValue: string;
  weight: string;
  positionCount: number;
  entityId: string | null;
}

export interface ExposureResult {
  asOf: Date;
  currency: string;
  total: string;
  buckets: ExposureBucketRow[];
  unvaluedPositionCount: number;
}

export interface AnalyticsNode {
  id: string;
  name: string;
  baseCcy: string;
}

export interface ExposureArgs {
  dimension: Dimension;
  asOf: Date;
  currency?: string | null;
  lookThrough?: boolean | null;
  top?: number | null;
  /** Settled knownAt (src/services/time/knownAt.ts); null or absent: now. */
  knownAt?: KnownAt;
}

/**
 * The subtree of the node (recursive, cycle-safe), with the direct child each node hangs under: as it
 * stands now, or as recorded at knownAt (portfolio_node_version), so that a pinned question walks the
 * tree as it stood then. `name` names the CTE (holdingsChange has one per point in time).
 */
export function subtreeCte(nodeId: string, knownAt: KnownAt = null, name = 'subtree'): Prisma.Sql {
  const cte = Prisma.raw(name);
  if (knownAt === null) {
    return Prisma.sql`
    ${cte} (id, child_id, path) AS (
      SELECT n.id, NULL::uuid, ARRAY[n.id] FROM portfolio_node n WHERE n.id = ${nodeId}::uuid
      UNION ALL
      SELECT c.id, COALESCE(s.child_id, c.id), s.path || c.id
      FROM ${cte} s JOIN portfolio_node c ON c.parent_id = s.id
      WHERE c.id <> ALL (s.path)
    )`;
  }
  return Prisma.sql`
    ${cte} (id, child_id, path) AS (
      SELECT n.node_id, NULL::uuid, ARRAY[n.node_id] FROM portfolio_node_version n WHERE n.node_id = ${nodeId}::uuid AND ${knownSql('n', knownAt)}
      UNION ALL
      SELECT c.node_id, COALESCE(s.child_id, c.node_id), s.path || c.node_id
      FROM ${cte} s JOIN portfolio_node_version c ON c.parent_id = s.id AND ${knownSql('c', knownAt)}
      WHERE c.node_id <> ALL (s.path)
    )`;
}

/**
 * The subtree's node ids (as text, in uuid order), read before the statement that filters the
 * positions by them. With the ids as a parameter the planner estimates the held positions from the
 * column's statistics; an array computed inside the statement is estimated at a tenth of them,
 * and the plan then runs serially. The statement checks in its own snapshot that the subtree is
 * still these ids (subtreeSame): withSubtreeIds runs it again, walking the subtree inside the
 * statement, when a move committed in between.
 */
export async function subtreeIds(prisma: Db, nodeId: string, knownAt: KnownAt): Promise<string[]> {
  const [row] = await prisma.$queryRaw<{ ids: string[] | null }[]>`
    WITH RECURSIVE ${subtreeCte(nodeId, knownAt)}
    SELECT array_agg(s.id::text ORDER BY s.id) AS ids FROM subtree s`;
  return row?.ids ?? [];
}

/** Whether the subtree CTE `name` walks exactly `ids` (true when no ids were given). */
export function subtreeIsSql(ids: readonly string[] | null, name = 'subtree'): Prisma.Sql {
  if (ids === null) return Prisma.sql`true`;
  return Prisma.sql`((SELECT COALESCE(array_agg(s.id::text ORDER BY s.id), '{}') FROM ${Prisma.raw(name)} s) = ${ids as string[]}::text[])`;
}

/** Column subtree_same (see subtreeIsSql). */
export function subtreeSame(ids: readonly string[] | null, name = 'subtree'): Prisma.Sql {
  return Prisma.sql`${subtreeIsSql(ids, name)} AS subtree_same`;
}

/**
 * Runs `statement` with the ids of the node's subtree as known at each of `knownAts` (see
 * subtreeIds); when its row says a subtree moved in between (subtree_same false), runs it once more
 * without ids (the subtree computed inside the statement: always consistent, planned less well).
 */
export async function withSubtreeIds<T extends { subtree_same: boolean }>(
  prisma: Db, nodeId: string, knownAts: readonly KnownAt[], statement: (ids: (string[] | null)[]) => Promise<T>,
): Promise<T> {
  const distinct = [...new Set(knownAts)];
  const found = await Promise.all(distinct.map((k) => subtreeIds(prisma, nodeId, k)));
  const row = await statement(knownAts.map((k) => found[distinct.indexOf(k)] as string[]));
  if (row.subtree_same) return row;
  return statement(knownAts.map(() => null));
}

/**
 * A subtree walk from many roots at once (recursive, cycle-safe per root), as it stands now or as
 * recorded at knownAt (portfolio_node_version): each node of each root's subtree, with its root and the
 * root's direct child it hangs under (NULL for the root). The CTE is named `name` (`forest` unless a
 * statement walks two: holdingsChange between two moments).
 */
export function forestSql(rootIds: readonly string[], knownAt: KnownAt, name = 'forest'): Prisma.Sql {
  const f = Prisma.raw(name);
  if (knownAt === null) {
    return Prisma.sql`
    ${f} (root_id, id, child_id, path) AS (
      SELECT n.id, n.id, NULL::uuid, ARRAY[n.id] FROM portfolio_node n WHERE n.id = ANY (${rootIds as string[]}::uuid[])
      UNION ALL
      SELECT f.root_id, c.id, COALESCE(f.child_id, c.id), f.path || c.id
      FROM ${f} f JOIN portfolio_node c ON c.parent_id = f.id
      WHERE c.id <> ALL (f.path)
    )`;
  }
  return Prisma.sql`
    ${f} (root_id, id, child_id, path) AS (
      SELECT n.node_id, n.node_id, NULL::uuid, ARRAY[n.node_id] FROM portfolio_node_version n
      WHERE n.node_id = ANY (${rootIds as string[]}::uuid[]) AND ${knownSql('n', knownAt)}
      UNION ALL
      SELECT f.root_id, c.node_id, COALESCE(f.child_id, c.node_id), f.path || c.node_id
      FROM ${f} f JOIN portfolio_node_version c ON c.parent_id = f.id AND ${knownSql('c', knownAt)}
      WHERE c.node_id <> ALL (f.path)
    )`;
}

/** Whether the forest CTE walks exactly `ids` (true when no ids were given). */
export function forestSame(ids: readonly string[] | null, name = 'forest'): Prisma.Sql {
  if (ids === null) return Prisma.sql`true`;
  return Prisma.sql`((SELECT COALESCE(array_agg(DISTINCT f.id::text ORDER BY f.id::text), '{}') FROM ${Prisma.raw(name)} f) = ${ids as string[]}::text[])`;
}

/** A forest read before the statement that uses it (withForestIds): its distinct node ids, and each (root, node) pair. */
export interface ForestRows {
  /** Distinct node ids as text, sorted (what forestSame compares). */
  ids: string[];
  /** One entry per (root, node): a node under two roots is there twice. */
  members: { id: string; rootId: string; childId: string | null }[];
}

/**
 * withSubtreeIds for a forest: the roots' subtrees are read first and passed to `statement` (node ids
 * and root of each as parameters, so that the planner counts positions from the column's statistics and
 * sizes the joins right), whose rows say (forest_same) whether the forest was still those ids in its own
 * snapshot; if any says not, it runs again with null (the forest walked inside the statement). Rows by node_id.
 */
export async function withForestIds<T extends { node_id: string; forest_same: boolean }>(
  prisma: Db, rootIds: readonly string[], knownAt: KnownAt, statement: (forest: ForestRows | null) => Promise<T[]>,
): Promise<Map<string, Omit<T, 'node_id' | 'forest_same'>>> {
  return withForestsIds(prisma, rootIds, [knownAt], ([forest]) => statement(forest ?? null));
}

/** The forest as known at each of `knownAts` (read once per distinct moment): withForestIds for a statement that walks several. */
export async function withForestsIds<T extends { node_id: string; forest_same: boolean }>(
  prisma: Db, rootIds: readonly string[], knownAts: readonly KnownAt[], statement: (forests: (ForestRows | null)[]) => Promise<T[]>,
): Promise<Map<string, Omit<T, 'node_id' | 'forest_same'>>> {
  const distinct = [...new Set(knownAts)];
  const read = await Promise.all(distinct.map((k) => readForest(prisma, rootIds, k)));
  let rows = await statement(knownAts.map((k) => read[distinct.indexOf(k)]!));
  if (rows.some((row) => !row.forest_same)) rows = await statement(knownAts.map(() => null));
  return new Map(rows.map(({ node_id: id, forest_same: _s, ...row }) => [id, row]));
}

async function readForest(prisma: Db, rootIds: readonly string[], knownAt: KnownAt): Promise<ForestRows> {
  const members = await prisma.$queryRaw<{ id: string; root_id: string; child_id: string | null }[]>`
    WITH RECURSIVE ${forestSql(rootIds, knownAt)}
    SELECT DISTINCT f.id::text AS id, f.root_id::text AS root_id, f.child_id::text AS child_id FROM forest f`;
  const ids = [...new Set(members.map((m) => m.id))].sort();
  return { ids, members: members.map((m) => ({ id: m.id, rootId: m.root_id, childId: m.child_id })) };
}

/**
 * The relation `mm` (id, root_id, child_id, reporting): each node of the forest with its root, the root's
 * direct child it hangs under and the root's reporting currency, to join the positions to. From the
 * forest read before (parameters: the planner knows their number, and a node under two roots is joined
 * to both), else computed in the statement.
 */
export function membersSql(forest: ForestRows | null, reportingOf: ReadonlyMap<string, string>, name = 'forest', alias = 'mm'): Prisma.Sql {
  const as = Prisma.raw(alias);
  if (forest) {
    const m = forest.members;
    return Prisma.sql`unnest(${m.map((x) => x.id)}::uuid[], ${m.map((x) => x.rootId)}::uuid[], ${m.map((x) => x.childId)}::uuid[],
      ${m.map((x) => reportingOf.get(x.rootId) ?? '')}::text[]) AS ${as} (id, root_id, child_id, reporting)`;
  }
  const roots = [...reportingOf];
  return Prisma.sql`(
    SELECT DISTINCT f.id, f.root_id, f.child_id, rr.reporting
    FROM ${Prisma.raw(name)} f JOIN unnest(${roots.map(([id]) => id)}::uuid[], ${roots.map(([, r]) => r)}::text[]) AS rr (id, reporting) ON rr.id = f.root_id
  ) ${as}`;
}

/**
 * Several reporting currencies in one statement (the roots of a batch each in its own: every fund of
 * portfolioRoots in its base currency): the FX CTEs of each (the first under the usual fx_ names, whose
 * fx_feed - the feed in force, whatever the currency - the fingerprint reads; `prefix` instead of fx
 * when a statement needs two dates) and `fx_conv_all` (reporting, ccy, rate); `conv`, the same as a
 * relation built from arrays computed once, which parallel workers may join (named `alias`).
 */
export function currenciesSql(asOf: string, reportings: readonly string[], knownAt: KnownAt, prefix = 'fx', alias = 'c') {
  const distinct = [...new Set(reportings)];
  const ctes = Prisma.join(distinct.map((r, k) => fxCtes(asOf, r, knownAt, k === 0 ? prefix : `${prefix}${k}`)), ',');
  const all = Prisma.raw(`${prefix}_conv_all`);
  const convAll = Prisma.join(distinct.map((r, k) => Prisma.sql`SELECT ${r}::char(3) AS reporting, c.ccy, c.rate FROM ${Prisma.raw(k === 0 ? `${prefix}_conv` : `${prefix}${k}_conv`)} c`), ' UNION ALL ');
  const order = 'ORDER BY a.reporting, a.ccy';
  return {
    ctes: Prisma.sql`${ctes},
    ${all} AS (${convAll})`,
    conv: Prisma.sql`unnest((SELECT array_agg(a.reporting ${Prisma.raw(order)}) FROM ${all} a), (SELECT array_agg(a.ccy ${Prisma.raw(order)}) FROM ${all} a),
      (SELECT array_agg(a.rate ${Prisma.raw(order)}) FROM ${all} a)) AS ${Prisma.raw(alias)} (reporting, ccy, rate)`,
  };
}

/** fx_conv as a relation (ccy, rate) built from two arrays computed once, which parallel workers may join. */
export const FX_CONV_ROWS = Prisma.sql`unnest((SELECT array_agg(f.ccy ORDER BY f.ccy) FROM fx_conv f), (SELECT array_agg(f.rate ORDER BY f.ccy) FROM fx_conv f))`;

// The cross-agency score of every symbol, as a constant table built from the domain's scales.
const SCORES = Prisma.raw(
  `(VALUES ${AGENCIES.flatMap((agency) => ratingSymbols(agency).map((symbol, i) => `('${agency}', '${symbol.replace(/'/g, "''")}', ${i + 1})`))
    .concat(["('SP', 'SD', 22)", "('FITCH', 'RD', 22)"])
    .join(', ')}) AS score_of (agency, rating, score)`,
);

/**
 * Extra CTEs of each dimension, the column its held positions are grouped by first (`pre`: a plain
 * column wherever one decides the bucket - the issuer, the asset class - or the currency or child,
 * whose few values the planner can count, so that the grouping runs in a hash table in the parallel
 * workers), and how a group of that first pass finds its bucket key (`join` and `key`, over the
 * grouped rows `g`: a few thousand rows, not the positions). The key is grouped in its own type - a
 * uuid groups faster than its text - and sent as text, ordered by that text.
 */
export function dimensionSql(
  dimension: Dimension, lookThrough: boolean, asOf: string, nodeId: string, knownAt: KnownAt,
): { ctes: Prisma.Sql; pre: Prisma.Sql; join: Prisma.Sql; key: Prisma.Sql } {
  const issuers = Prisma.sql`LEFT JOIN ${issuersSql(knownAt)} iss ON iss.id = g.pre`;
  const byIssuer = { ctes: Prisma.empty, pre: Prisma.sql`i.issuer_id` };
  switch (dimension) {
    case 'ISSUER':
      if (!lookThrough) return { ...byIssuer, join: Prisma.empty, key: Prisma.sql`g.pre` };
      // ultimate_parent_id is kept by triggers; an issuer in a cycle (no root) stays itself.
      return { ...byIssuer, join: issuers, key: Prisma.sql`COALESCE(iss.ultimate_parent_id, g.pre)` };
    case 'SECTOR':
      return { ...byIssuer, join: issuers, key: Prisma.sql`iss.sector_id` };
    case 'GEOGRAPHY':
      return { ...byIssuer, join: issuers, key: Prisma.sql`iss.geography_id` };
    case 'CURRENCY':
      return { ctes: Prisma.empty, pre: Prisma.sql`h.currency`, join: Prisma.empty, key: Prisma.sql`g.pre` };
    case 'ASSET_CLASS':
      return { ctes: Prisma.empty, pre: Prisma.sql`i.asset_class`, join: Prisma.empty, key: Prisma.sql`g.pre` };
    case 'CHILD':
      return { ctes: Prisma.empty, pre: Prisma.sql`h.child_id`, join: Prisma.empty, key: Prisma.sql`COALESCE(g.pre, ${nodeId}::uuid)` };
    case 'RATING':
      return {
        // Every issuer rated on or before the date (a few thousand rows), not only those held.
        ctes: Prisma.sql`,
          issuer_scores AS (
            SELECT latest.entity_id AS issuer_id, (array_agg(score_of.score ORDER BY score_of.score))[LEAST(2, count(*))::int] AS score
            FROM (
              SELECT DISTINCT ON (rh.entity_id, rh.agency) rh.entity_id, rh.agency, rh.rating FROM rating_history rh
              WHERE rh.as_of_date <= ${asOf}::date AND ${knownSql('rh', knownAt)}
              ORDER BY rh.entity_id, rh.agency, rh.as_of_date DESC
            ) latest
            JOIN ${SCORES} ON score_of.agency = latest.agency::text AND score_of.rating = latest.rating
            GROUP BY latest.entity_id
          )`,
        pre: Prisma.sql`i.issuer_id`,
        join: Prisma.sql`LEFT JOIN issuer_scores sc ON sc.issuer_id = g.pre`,
        key: Prisma.sql`sc.score`,
      };
  }
}

export interface StatementRow {
  total: string;
  unvalued: number;
  missing: string[];
  buckets: { key: string | null; value: string; count: number }[] | null;
}

export function fxMissing(missing: string[], reporting: string, asOf: string): DomainError {
  const pairs = missing.map((ccy) => `${ccy}${reporting}`);
  return new DomainError(
    'FX_RATE_NOT_FOUND',
    `No FX rate as of ${asOf} for ${pairs.join(', ')}: no PASS or WARN FX_SPOT feed on or before that date provides ${pairs.length > 1 ? 'them' : 'it'} (directly, inverted or through USD)`,
    undefined,
    { pairs },
  );
}

export function reportingCurrency(node: AnalyticsNode, currency: string | null | undefined): string {
  return (currency ?? node.baseCcy).trim().toUpperCase();
}

/** Refuses a `top` outside 1..1000 (BAD_USER_INPUT). */
export function checkTop(top: number | null | undefined): void {
  if (top !== null && top !== undefined && (!Number.isInteger(top) || top < 1 || top > 1000)) {
    throw badInput('top', 'top must be a whole number from 1 to 1000');
  }
}

/** The analytics cache's key of an exposure (`top` is applied to the cached buckets). */
export const exposureKey = (nodeId: string, dimension: Dimension, lookThrough: boolean, asOf: string, reporting: string, knownAt: KnownAt) =>
  `exposure|${nodeId}|${dimension}|${lookThrough}|${asOf}|${reporting}|${knownAt ?? 'now'}`;

/**
 * The exposure of one node's subtree. The service asks computeViews (views.ts: batched per request, a batch of
 * one included); this is the one-node form its results are tested against, figure for figure.
 */
export async function computeExposure(prisma: Db, node: AnalyticsNode, args: ExposureArgs, cache: AnalyticsCache = NO_CACHE): Promise<ExposureResult> {
  checkTop(args.top);
  const asOf = isoDate(args.asOf);
  const reporting = reportingCurrency(node, args.currency);
  const lookThrough = args.lookThrough ?? false;
  const knownAt = args.knownAt ?? null;
  const key = exposureKey(node.id, args.dimension, lookThrough, asOf, reporting, knownAt);
  const row = await cache.through<StatementRow>(prisma, key, node.id, asOf, knownAt, () => exposureOfNode(prisma, node, args.dimension, asOf, reporting, lookThrough, knownAt));
  return exposureFrom(node, args, reporting, asOf, row);
}

/** The exposure from a statement's row: FX_RATE_NOT_FOUND when a rate is missing; buckets, weights and `top`. */
export function exposureFrom(node: AnalyticsNode, args: ExposureArgs, reporting: string, asOf: string, row: StatementRow): ExposureResult {
  if (row.missing.length > 0) throw fxMissing(row.missing, reporting, asOf);
  const total = new Exact(row.total);
  const raw = (row.buckets ?? []).map((b) => ({ key: b.key, value: new Exact(b.value), count: b.count }));
  const top = args.top ?? null;
  let kept = top === null ? raw : raw.slice(0, top);
  const rest = top === null ? [] : raw.slice(top);
  // The asset class OTHER and "the rest" are one bucket, never two with the same key.
  if (rest.length > 0 && kept.some((b) => b.key === 'OTHER')) {
    rest.push(...kept.filter((b) => b.key === 'OTHER'));
    kept = kept.filter((b) => b.key !== 'OTHER');
  }
  const buckets = kept.map((b) => bucket(args.dimension, node, b.key, b.value, b.count, total));
  if (rest.length > 0) {
    const value = rest.reduce((a, b) => a.plus(b.value), new Exact(0));
    const count = rest.reduce((a, b) => a + b.count, 0);
    buckets.push({ dimension: args.dimension, key: 'OTHER', label: `Other (${rest.length} more)`, marketValue: value.toFixed(), weight: weightOf(value, total).toFixed(), positionCount: count, entityId: null });
  }
  return { asOf: args.asOf, currency: reporting, total: total.toFixed(), buckets, unvaluedPositionCount: row.unvalued };
}

const NO_KEY: Record<Dimension, [string, string]> = {
  ISSUER: ['NONE', 'No issuer'],
  SECTOR: ['NONE', 'No sector'],
  GEOGRAPHY: ['NONE', 'No country'],
  CURRENCY: ['NONE', 'No currency'],
  ASSET_CLASS: ['NONE', 'No asset class'],
  CHILD: ['NONE', 'No node'],
  RATING: ['UNRATED', 'Unrated'],
};

function bucket(dimension: Dimension, node: AnalyticsNode, key: string | null, value: Exact, count: number, total: Exact): ExposureBucketRow {
  const base = { dimension, marketValue: value.toFixed(), weight: weightOf(value, total).toFixed(), positionCount: count };
  if (key === null) return { ...base, key: NO_KEY[dimension][0], label: NO_KEY[dimension][1], entityId: null };
  switch (dimension) {
    case 'RATING': {
      const score = Number(key);
      const label = [...new Set(AGENCIES.map((a) => symbolForScore(a, score)))].join(' / ');
      return { ...base, key: symbolForScore('SP', score), label, entityId: null };
    }
    case 'CHILD':
      // Labels of child nodes are resolved from the node loader; the node's own holdings say so.
      return { ...base, key, label: key === node.id ? `${node.name} (held directly)` : '', entityId: null };
    case 'ASSET_CLASS':
      return { ...base, key, label: key.charAt(0) + key.slice(1).toLowerCase(), entityId: null };
    case 'CURRENCY':
      return { ...base, key, label: key, entityId: null };
    default:
      return { ...base, key, label: '', entityId: key };
  }
}
