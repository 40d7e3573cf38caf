// Market value and exposure of a subtree as of a date, in a reporting
// currency: one SQL statement each, computed in the database.
//
// Plan shape (PostgreSQL; bench/analytics.ts prints it):
//   CTE subtree: recursive walk down portfolio_node via portfolio_node_parent_id_idx,
//     carrying the path (cycle guard) and the direct child each node hangs under;
//   CTEs fx_feed / fx_rates / fx_needed / fx_conv (fxSql.ts): one index probe for the
//     feed, its rates, one rate per currency the feed names;
//   CTE by_pre: the subtree's positions held on the date as known at knownAt (heldSql,
//     held.ts: a subquery filtered by the subtree's node ids - a parameter read just
//     before, see subtreeIds - whose FX rates come from InitPlans computed once, so that
//     the position scan, the joins with instrument - or its versions as known at knownAt -
//     and a partial hash aggregate run in parallel workers) with the valuation in force,
//     each converted amount rounded to 8 places, grouped by a column whose values the
//     planner can count (the issuer, the asset class, the currency, the child), with
//     what is wrong (no valuation, no rate) counted in the same groups;
//   CTE grouped (materialised): those few thousand groups by bucket key (the issuer's
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
import { fingerprintColumns, NO_CACHE, type AnalyticsCache, type FingerprintRow } from './cache';
import { fxCtes } from './fxSql';
import { heldSql, instrumentsSql, issuersSql } from './held';
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
function dimensionSql(
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

interface StatementRow {
  total: string;
  unvalued: number;
  missing: string[];
  buckets: { key: string | null; value: string; count: number }[] | null;
}

async function runExposure(
  prisma: Db, node: AnalyticsNode, dimension: Dimension, asOf: string, reporting: string, lookThrough: boolean, knownAt: KnownAt,
): Promise<StatementRow & FingerprintRow> {
  return withSubtreeIds(prisma, node.id, [knownAt], ([ids]) => exposureStatement(prisma, node, dimension, asOf, reporting, lookThrough, knownAt, ids ?? null));
}

async function exposureStatement(
  prisma: Db, node: AnalyticsNode, dimension: Dimension, asOf: string, reporting: string, lookThrough: boolean, knownAt: KnownAt, ids: string[] | null,
): Promise<StatementRow & FingerprintRow & { subtree_same: boolean }> {
  const dim = dimensionSql(dimension, lookThrough, asOf, node.id, knownAt);
  const held = () => heldSql(asOf, knownAt, dimension === 'CHILD', 'subtree', ids);
  // One pass over the held positions groups them by the dimension's first column (by_pre), counting
  // what is wrong with them (no valuation; a valuation currency without a rate) in the same groups;
  // the buckets, the unvalued count and whether a rate is missing all come from it. Which currencies
  // lack a rate is only looked up when one does (an InitPlan in a CASE runs only when reached): the
  // answer is then FX_RATE_NOT_FOUND naming them.
  const rows = await prisma.$queryRaw<(StatementRow & FingerprintRow & { subtree_same: boolean })[]>`
    WITH RECURSIVE ${subtreeCte(node.id, knownAt)},
    ${fxCtes(asOf, reporting, knownAt)}${dim.ctes},
    by_pre AS (
      SELECT ${dim.pre} AS pre,
             sum(round(h.market_value * c.rate, 8)) AS value,
             count(*) FILTER (WHERE h.market_value IS NOT NULL AND c.rate IS NOT NULL)::int AS n,
             count(*) FILTER (WHERE h.market_value IS NULL)::int AS unvalued,
             bool_or(h.market_value IS NOT NULL AND c.rate IS NULL) AS missing
      FROM ${held()} h
      LEFT JOIN ${FX_CONV_ROWS} AS c (ccy, rate) ON c.ccy = h.currency
      JOIN ${instrumentsSql(knownAt)} i ON i.id = h.instrument_id
      GROUP BY 1
    ),
    grouped AS MATERIALIZED (
      SELECT ${dim.key} AS key, sum(g.value) AS value, sum(g.n)::int AS n, sum(g.unvalued)::int AS unvalued, bool_or(g.missing) AS missing
      FROM by_pre g
      ${dim.join}
      GROUP BY 1
    ),
    buckets AS (SELECT key, value, n FROM grouped WHERE n > 0)
    SELECT
      (SELECT COALESCE(sum(value), 0)::text FROM buckets) AS total,
      (SELECT COALESCE(sum(unvalued), 0)::int FROM grouped) AS unvalued,
      CASE WHEN (SELECT bool_or(missing) FROM grouped) THEN COALESCE((
        SELECT array_agg(DISTINCT h.currency::text ORDER BY h.currency::text)
        FROM ${held()} h LEFT JOIN ${FX_CONV_ROWS} AS c (ccy, rate) ON c.ccy = h.currency
        WHERE h.market_value IS NOT NULL AND c.rate IS NULL
      ), '{}') ELSE '{}' END AS missing,
      (SELECT json_agg(json_build_object('key', key::text, 'value', value::text, 'count', n) ORDER BY value DESC, key::text) FROM buckets) AS buckets,
      ${subtreeSame(ids)},
      ${fingerprintColumns(node.id)}`;
  return rows[0]!;
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

export async function computeExposure(prisma: Db, node: AnalyticsNode, args: ExposureArgs, cache: AnalyticsCache = NO_CACHE): Promise<ExposureResult> {
  checkTop(args.top);
  const asOf = isoDate(args.asOf);
  const reporting = reportingCurrency(node, args.currency);
  const lookThrough = args.lookThrough ?? false;
  const knownAt = args.knownAt ?? null;
  const key = `exposure|${node.id}|${args.dimension}|${lookThrough}|${asOf}|${reporting}|${knownAt ?? 'now'}`;
  const row = await cache.through<StatementRow>(prisma, key, node.id, asOf, knownAt, () => runExposure(prisma, node, args.dimension, asOf, reporting, lookThrough, knownAt));
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
