// Several analytics asked together with the same date, reporting currency and
// moment - a dashboard: a node's market value and its exposure by sector, by
// country, by currency, by rating...; or every fund of portfolioRoots with its
// value and its exposure by currency - in one statement instead of one each:
// the held positions (heldSql) are read once and grouped by every column a
// bucket key starts from (issuer, asset class, valuation currency, and the
// child under the node when a table asks for it: by_views), by root as well
// when several nodes are asked (forestViewsStatement: the positions of all
// their subtrees, each joined to its roots and converted into its root's
// currency); each exposure is then grouped from those groups (a few thousand
// rows, not the positions), and the market value summed from them. The same
// rounded amounts summed in another order: each figure is what its own
// statement gives (one node, one figure) to the last decimal, under the same
// cache keys.
import type { Prisma as Db } from '../../db/database';
import { Prisma } from '../../generated/prisma/client';
import { isoDate } from '../inputs';
import type { KnownAt } from '../time/knownAt';
import { fingerprintColumns, fingerprintColumnsOf, NO_CACHE, type AnalyticsCache, type FingerprintRow } from './cache';
import {
  checkTop, currenciesSql, dimensionSql, exposureFrom, exposureKey, forestSame, forestSql, FX_CONV_ROWS, membersSql, reportingCurrency, subtreeCte,
  subtreeSame, withForestIds, withSubtreeIds, type AnalyticsNode, type Dimension, type ExposureArgs, type ExposureResult, type ForestRows, type StatementRow,
} from './exposure';
import { fxCtes } from './fxSql';
import { groupedHeld, heldSql, instrumentsSql } from './held';
import { marketValueKey, moneyFrom, type MarketValueRow, type Money } from './marketValue';

/** The by_views column each dimension's first grouping column (dimensionSql's `pre`) is read from. */
const VIEW_PRE: Record<Dimension, string> = {
  ISSUER: 'issuer_id', SECTOR: 'issuer_id', GEOGRAPHY: 'issuer_id', RATING: 'issuer_id', CURRENCY: 'currency', ASSET_CLASS: 'asset_class', CHILD: 'child_id',
};

/** The grouping columns of by_views: the expression each is read from, and its type when not grouped by (null). */
const BY_VIEWS_COLUMNS: Record<string, [string, string]> = {
  issuer_id: ['i.issuer_id', 'uuid'], asset_class: ['i.asset_class', 'asset_class'], currency: ['h.currency', 'char(3)'], child_id: ['h.child_id', 'uuid'],
};

/** by_views' grouping columns (all of them, those not grouped by null) and its aggregates, as groupedHeld combines them. */
const BY_VIEWS_KEYS = Object.keys(BY_VIEWS_COLUMNS);
const BY_VIEWS_AGGREGATES = { value: 'sum', n: 'count', unvalued: 'count', missing: 'bool_or' } as const;
/** by_views' aggregates over held positions `h` converted at rate `c`: what is wrong (no valuation, no rate) counted in the same groups. */
const AGGREGATES = Prisma.sql`sum(round(h.market_value * c.rate, 8)) AS value,
             count(*) FILTER (WHERE h.market_value IS NOT NULL AND c.rate IS NOT NULL)::int AS n,
             count(*) FILTER (WHERE h.market_value IS NULL)::int AS unvalued,
             bool_or(h.market_value IS NOT NULL AND c.rate IS NULL) AS missing`;

interface View {
  dimension: Dimension;
  lookThrough: boolean;
}

/** Whether a view groups by an instrument's attribute (issuer, asset class): the positions are joined to their instruments only then. */
const readsInstruments = (views: readonly View[]) => views.some((v) => VIEW_PRE[v.dimension] === 'issuer_id' || VIEW_PRE[v.dimension] === 'asset_class');

/** One exposure of the statement: what its own statement computes, less the currencies without a rate (shared). */
type ViewRow = Omit<StatementRow, 'missing'>;

interface ViewsRow extends FingerprintRow {
  views: ViewRow[];
  /** Currencies of valued positions without a rate (the exposures' FX_RATE_NOT_FOUND). */
  missing: string[];
  /** The market value: the sum of the valued positions' converted amounts (FX_RATE_NOT_FOUND when `missing` is not empty, as for the exposures). */
  amount: string;
  subtree_same: boolean;
}

/**
 * by_views' grouping columns: those the views' keys start from (none for a market value alone), the
 * others null (`child`: the expression child_id is read from), and the expressions grouped by.
 */
function byViewsColumns(views: readonly View[], child: string): { columns: Prisma.Sql[]; groupBy: Prisma.Sql[]; needed: Set<string> } {
  const needed = new Set<string>(views.map((v) => VIEW_PRE[v.dimension]));
  const expressionOf = (name: string, expression: string) => (name === 'child_id' ? child : expression);
  const columns = Object.entries(BY_VIEWS_COLUMNS).map(([name, [expression, type]]) =>
    (needed.has(name) ? Prisma.sql`${Prisma.raw(expressionOf(name, expression))} AS ${Prisma.raw(name)}` : Prisma.sql`NULL::${Prisma.raw(type)} AS ${Prisma.raw(name)}`));
  const groupBy = Object.entries(BY_VIEWS_COLUMNS).filter(([name]) => needed.has(name)).map(([name, [expression]]) => Prisma.raw(expressionOf(name, expression)));
  return { columns, groupBy, needed };
}

/**
 * The CTE view_k of each view: by_views' groups by bucket key (a few thousand rows, not the positions),
 * and by root when `perRoot` (the statement of several roots: a CHILD bucket of a root's own positions
 * is keyed by that root).
 */
function viewCtes(views: readonly View[], dims: readonly ReturnType<typeof dimensionSql>[], perRoot: boolean): Prisma.Sql {
  if (views.length === 0) return Prisma.empty;
  const root = perRoot ? Prisma.sql`g.root_id, ` : Prisma.empty;
  return Prisma.join(views.map((v, k) => {
    const child = perRoot && v.dimension === 'CHILD';
    return Prisma.sql`,
    ${Prisma.raw(`view_${k}`)} AS MATERIALIZED (
      SELECT ${root}${child ? Prisma.sql`COALESCE(g.pre, g.root_id)` : dims[k]!.key} AS key, sum(g.value) AS value, sum(g.n)::int AS n, sum(g.unvalued)::int AS unvalued
      FROM (SELECT ${perRoot ? Prisma.sql`b.root_id, ` : Prisma.empty}b.${Prisma.raw(VIEW_PRE[v.dimension])} AS pre, b.value, b.n, b.unvalued FROM by_views b) g
      ${child ? Prisma.empty : dims[k]!.join}
      GROUP BY ${perRoot ? Prisma.sql`1, 2` : Prisma.sql`1`}
    )`;
  }), '');
}

/** Each view's total, unvalued count and buckets as one JSON object (of the root r.id when `perRoot`). */
function viewOutputs(views: readonly View[], perRoot: boolean): Prisma.Sql[] {
  const where = perRoot ? Prisma.sql`WHERE x.root_id = r.id` : Prisma.empty;
  const and = perRoot ? Prisma.sql`x.root_id = r.id AND ` : Prisma.empty;
  return views.map((_, k) => {
    const view = Prisma.raw(`view_${k}`);
    return Prisma.sql`json_build_object(
      'total', (SELECT COALESCE(sum(x.value) FILTER (WHERE x.n > 0), 0)::text FROM ${view} x ${where}),
      'unvalued', (SELECT COALESCE(sum(x.unvalued), 0)::int FROM ${view} x ${where}),
      'buckets', (SELECT json_agg(json_build_object('key', x.key::text, 'value', x.value::text, 'count', x.n) ORDER BY x.value DESC, x.key::text)
                  FROM ${view} x WHERE ${and}x.n > 0))`;
  });
}

/**
 * The statement of one node's views: its held positions read once, grouped by the columns its views'
 * keys start from (none for a market value alone: it is the sum of every group's), each view grouped from those groups.
 * Positions are joined to their instruments only when a view groups by their issuer or asset class (a
 * market value, or an exposure by currency or child, reads none).
 */
async function viewsStatement(
  prisma: Db, node: AnalyticsNode, views: readonly View[], asOf: string, reporting: string, knownAt: KnownAt, ids: string[] | null,
): Promise<ViewsRow> {
  const child = views.some((v) => v.dimension === 'CHILD');
  const dims = views.map((v) => dimensionSql(v.dimension, v.lookThrough, asOf, node.id, knownAt));
  const ratings = views.some((v) => v.dimension === 'RATING') ? dimensionSql('RATING', false, asOf, node.id, knownAt).ctes : Prisma.empty;
  const held = () => heldSql(asOf, knownAt, child, 'subtree', ids);
  const { columns, groupBy } = byViewsColumns(views, 'h.child_id');
  const grouped = viewCtes(views, dims, false);
  const outputs = viewOutputs(views, false);
  const rows = await prisma.$queryRaw<ViewsRow[]>`
    WITH RECURSIVE ${subtreeCte(node.id, knownAt)},
    ${fxCtes(asOf, reporting, knownAt)}${ratings},
    -- A row without a rate adds nothing to its group's value and flags it (missing).
    by_views AS MATERIALIZED (${groupedHeld(asOf, knownAt, child, 'subtree', ids, (h) => Prisma.sql`
      SELECT ${Prisma.join(columns, ', ')}, ${AGGREGATES}
      FROM ${h}
      LEFT JOIN ${FX_CONV_ROWS} AS c (ccy, rate) ON c.ccy = h.currency
      ${readsInstruments(views) ? Prisma.sql`JOIN ${instrumentsSql(knownAt)} i ON i.id = h.instrument_id` : Prisma.empty}
      ${groupBy.length > 0 ? Prisma.sql`GROUP BY ${Prisma.join(groupBy, ', ')}` : Prisma.empty}`, BY_VIEWS_KEYS, BY_VIEWS_AGGREGATES)}
    )${grouped}
    SELECT json_build_array(${outputs.length > 0 ? Prisma.join(outputs, ', ') : Prisma.empty}) AS views,
      CASE WHEN (SELECT bool_or(missing) FROM by_views) THEN COALESCE((
        SELECT array_agg(DISTINCT h.currency::text ORDER BY h.currency::text)
        FROM ${held()} h LEFT JOIN ${FX_CONV_ROWS} AS c (ccy, rate) ON c.ccy = h.currency
        WHERE h.market_value IS NOT NULL AND c.rate IS NULL
      ), '{}') ELSE '{}' END AS missing,
      (SELECT COALESCE(sum(b.value), 0)::text FROM by_views b) AS amount,
      ${subtreeSame(ids)},
      ${fingerprintColumns(node.id)}`;
  return rows[0]!;
}

/**
 * When some roots hang inside others (a node asked with its children), each node with its nearest root
 * (the deepest of the roots it is under, and the child of that root it hangs under) and, for each
 * nearest root, every root around it (itself included) with the child of that root it hangs under
 * (null for itself: the position's own child then). Null when no root is inside another, or when
 * the roots report in different currencies (a position is converted once, in its nearest root's).
 */
function nestedRoots(forest: ForestRows, reportingOf: ReadonlyMap<string, string>): {
  nearest: { id: string; rootId: string; childId: string | null; reporting: string }[];
  spread: { nearest: string; rootId: string; childId: string | null }[];
} | null {
  if (new Set(reportingOf.values()).size > 1) return null;
  const rootsOf = new Map<string, string[]>();
  for (const m of forest.members) rootsOf.set(m.id, [...(rootsOf.get(m.id) ?? []), m.rootId]);
  if ([...rootsOf.values()].every((roots) => roots.length === 1)) return null;
  const member = new Map(forest.members.map((m) => [`${m.rootId}|${m.id}`, m]));
  // The roots a node is under are its ancestors among the roots: the nearest is under all the others.
  const nearestOf = (roots: string[]) => roots.find((r) => roots.every((o) => member.has(`${o}|${r}`)));
  const nearest = [...rootsOf].map(([id, roots]) => {
    const rootId = nearestOf(roots);
    return rootId === undefined ? null : { id, rootId, childId: member.get(`${rootId}|${id}`)!.childId, reporting: reportingOf.get(rootId) ?? '' };
  });
  if (nearest.some((n) => n === null)) return null;
  const spread = [...reportingOf.keys()].flatMap((low) => (rootsOf.get(low) ?? []).map((rootId) =>
    ({ nearest: low, rootId, childId: rootId === low ? null : member.get(`${rootId}|${low}`)!.childId })));
  return { nearest: nearest as { id: string; rootId: string; childId: string | null; reporting: string }[], spread };
}

/** What the statement of several roots gives each: its views, as viewsStatement's for one node. */
interface ForestViewsRow extends Omit<ViewsRow, 'subtree_same'> {
  node_id: string;
  forest_same: boolean;
}

/**
 * The statement of several roots' views (each root in its own reporting currency): the positions of
 * all their subtrees read once (heldSql over the forest), each joined to its roots (membersSql) and
 * converted into the root's currency, grouped by root and the columns the views' keys start from
 * (the market value is the sum of every group's), in the parallel workers; each view then grouped
 * by root and key from those groups. What a missing rate concerns is flagged per group: which
 * currencies are read by a second pass over the positions only when one is (a DISTINCT aggregate in
 * the first grouping would sort every position instead of hashing them). Per root, what viewsStatement
 * gives for it alone.
 */
async function forestViewsStatement(
  prisma: Db, roots: readonly [string, string][], views: readonly View[], asOf: string, knownAt: KnownAt, forest: ForestRows | null,
): Promise<ForestViewsRow[]> {
  const rootIds = roots.map(([id]) => id);
  const reportingOf = new Map(roots);
  const cur = currenciesSql(asOf, roots.map(([, r]) => r), knownAt);
  const dims = views.map((v) => dimensionSql(v.dimension, v.lookThrough, asOf, rootIds[0]!, knownAt));
  const ratings = views.some((v) => v.dimension === 'RATING') ? dimensionSql('RATING', false, asOf, rootIds[0]!, knownAt).ctes : Prisma.empty;
  const { columns, groupBy, needed } = byViewsColumns(views, 'mm.child_id');
  // Held positions `h` joined to their roots (`members`: membersSql's shape) and converted.
  const joinedTo = (members: Prisma.Sql) => (h: Prisma.Sql) => Prisma.sql`${h}
      JOIN ${members} ON mm.id = h.node_id
      LEFT JOIN ${cur.conv} ON c.reporting = mm.reporting AND c.ccy = h.currency`;
  const joined = joinedTo(membersSql(forest, reportingOf));
  // Roots inside other roots (a node and its children asked together): each position is grouped
  // under its nearest root alone, and those groups are added to every root around it.
  const nested = forest ? nestedRoots(forest, reportingOf) : null;
  const byViews = (member: (h: Prisma.Sql) => Prisma.Sql) => groupedHeld(asOf, knownAt, false, 'forest', forest?.ids ?? null, (h) => Prisma.sql`
      SELECT mm.root_id, ${Prisma.join(columns, ', ')}, ${AGGREGATES}
      FROM ${member(h)}
      ${readsInstruments(views) ? Prisma.sql`JOIN ${instrumentsSql(knownAt)} i ON i.id = h.instrument_id` : Prisma.empty}
      GROUP BY ${Prisma.join([Prisma.raw('mm.root_id'), ...groupBy], ', ')}`, ['root_id', ...BY_VIEWS_KEYS], BY_VIEWS_AGGREGATES);
  const spreadChild = needed.has('child_id') ? Prisma.sql`COALESCE(s.child_id, b.child_id)` : Prisma.sql`NULL::uuid`;
  const byViewsCte = nested
    ? Prisma.sql`
    by_nearest AS MATERIALIZED (${byViews(joinedTo(Prisma.sql`unnest(${nested.nearest.map((m) => m.id)}::uuid[], ${nested.nearest.map((m) => m.rootId)}::uuid[],
      ${nested.nearest.map((m) => m.childId)}::uuid[], ${nested.nearest.map((m) => m.reporting)}::text[]) AS mm (id, root_id, child_id, reporting)`))}
    ),
    by_views AS MATERIALIZED (
      SELECT s.root_id, b.issuer_id, b.asset_class, b.currency, ${spreadChild} AS child_id,
             sum(b.value) AS value, sum(b.n)::int AS n, sum(b.unvalued)::int AS unvalued, bool_or(b.missing) AS missing
      FROM by_nearest b
      JOIN unnest(${nested.spread.map((x) => x.nearest)}::uuid[], ${nested.spread.map((x) => x.rootId)}::uuid[], ${nested.spread.map((x) => x.childId)}::uuid[])
        AS s (nearest, root_id, child_id) ON s.nearest = b.root_id
      GROUP BY s.root_id, b.issuer_id, b.asset_class, b.currency, ${spreadChild}
    )`
    : Prisma.sql`
    by_views AS MATERIALIZED (${byViews(joined)}
    )`;
  const grouped = viewCtes(views, dims, true);
  const outputs = viewOutputs(views, true);
  return prisma.$queryRaw<ForestViewsRow[]>`
    WITH RECURSIVE ${forestSql(rootIds, knownAt)},
    ${cur.ctes}${ratings},
    -- A row without a rate adds nothing to its group's value and flags it (missing).${byViewsCte}${grouped},
    -- Which currencies lack a rate, per root: read only when a group says one does.
    missing AS (
      SELECT mm.root_id, array_agg(DISTINCT h.currency::text ORDER BY h.currency::text) AS ccys
      FROM ${joined(Prisma.sql`${heldSql(asOf, knownAt, false, 'forest', forest?.ids ?? null)} h`)}
      WHERE EXISTS (SELECT 1 FROM by_views b WHERE b.missing) AND h.market_value IS NOT NULL AND c.rate IS NULL
      GROUP BY 1
    )
    SELECT r.id::text AS node_id,
      json_build_array(${outputs.length > 0 ? Prisma.join(outputs, ', ') : Prisma.empty}) AS views,
      COALESCE((SELECT x.ccys FROM missing x WHERE x.root_id = r.id), '{}') AS missing,
      (SELECT COALESCE(sum(b.value), 0)::text FROM by_views b WHERE b.root_id = r.id) AS amount,
      ${forestSame(forest?.ids ?? null)} AS forest_same,
      ${fingerprintColumnsOf(Prisma.sql`r.id`)}
    FROM (SELECT DISTINCT f.root_id AS id FROM forest f) r`;
}

/**
 * One exposure of one node's subtree, computed alone (computeExposure): the views statement with that
 * one view, grouped by that view's first column alone.
 */
export async function exposureOfNode(
  prisma: Db, node: AnalyticsNode, dimension: Dimension, asOf: string, reporting: string, lookThrough: boolean, knownAt: KnownAt,
): Promise<StatementRow & FingerprintRow> {
  const row = await withSubtreeIds(prisma, node.id, [knownAt], ([ids]) =>
    viewsStatement(prisma, node, [{ dimension, lookThrough }], asOf, reporting, knownAt, ids ?? null));
  const { views: [view], missing, amount: _a, subtree_same: _s, ...fingerprint } = row;
  return { ...view!, missing, ...fingerprint };
}

/** The market value of one node's subtree, computed alone (computeMarketValue): the views statement with no view, grouped by currency. */
export async function marketValueOfNode(
  prisma: Db, nodeId: string, asOf: string, reporting: string, knownAt: KnownAt,
): Promise<MarketValueRow & FingerprintRow> {
  const node = { id: nodeId, name: '', baseCcy: reporting };
  const row = await withSubtreeIds(prisma, nodeId, [knownAt], ([ids]) => viewsStatement(prisma, node, [], asOf, reporting, knownAt, ids ?? null));
  const { views: _views, missing, amount, subtree_same: _s, ...fingerprint } = row;
  return { amount, missing, ...fingerprint };
}

/** What a node is asked together: its market value (or not) and exposures, all with the same date, currency asked and moment. */
export interface NodeViews {
  asOf: Date;
  currency?: string | null;
  knownAt: KnownAt;
  marketValue: boolean;
  exposures: readonly ExposureArgs[];
}

/** One node's answers: its market value (null when not asked) and one entry per exposure asked, each a result or its own error. */
export interface ViewsOfNode {
  marketValue: Money | Error | null;
  exposures: (ExposureResult | Error)[];
}

/**
 * The market value (when asked) and exposures of each node, all with the same date, currency asked and
 * moment, in one statement: one node's (viewsStatement), or several nodes' (forestViewsStatement, each
 * in its reporting currency; a node asked once). Each entry is what computeMarketValue or
 * computeExposure gives for its node and arguments, figure for figure and under the same cache keys
 * (cached ones are not computed again), or the error its own computation raises.
 */
export async function computeViews(
  prisma: Db, nodes: readonly AnalyticsNode[], asked: NodeViews, cache: AnalyticsCache = NO_CACHE,
): Promise<ViewsOfNode[]> {
  const asOf = isoDate(asked.asOf);
  const knownAt = asked.knownAt;
  const viewOf = (args: ExposureArgs): View => ({ dimension: args.dimension, lookThrough: args.lookThrough ?? false });
  // Per node: item 0 its market value (when asked), then one per exposure asked.
  const perNode = asked.exposures.length + (asked.marketValue ? 1 : 0);
  const items = nodes.flatMap((node) => {
    const reporting = reportingCurrency(node, asked.currency);
    return [
      ...(asked.marketValue ? [{ node, reporting, key: marketValueKey(node.id, asOf, reporting, knownAt), nodeId: node.id, view: null as View | null }] : []),
      ...asked.exposures.map((args) => {
        const view = viewOf(args);
        return { node, reporting, key: exposureKey(node.id, view.dimension, view.lookThrough, asOf, reporting, knownAt), nodeId: node.id, view: view as View | null };
      }),
    ];
  });
  const rows = await cache.throughMany<StatementRow | MarketValueRow>(prisma, items, asOf, knownAt, async (missing) => {
    // The views the missing items ask (by cache key: the same exposure cut by two `top`s is one view).
    const viewKey = (v: View) => `${v.dimension}|${v.lookThrough}`;
    const views = [...new Map(missing.flatMap((i) => (items[i]!.view ? [[viewKey(items[i]!.view!), items[i]!.view!] as const] : []))).values()];
    const roots = [...new Map(missing.map((i) => [items[i]!.node.id, items[i]!.node] as const)).values()];
    const found = new Map<string, Omit<ViewsRow, 'subtree_same'>>();
    if (roots.length === 1) {
      const node = roots[0]!;
      const reporting = reportingCurrency(node, asked.currency);
      const row = await withSubtreeIds(prisma, node.id, [knownAt], ([ids]) =>
        viewsStatement(prisma, node, views, asOf, reporting, knownAt, ids ?? null));
      const { subtree_same: _same, ...rest } = row;
      found.set(node.id, rest);
    } else {
      const pairs = roots.map((node): [string, string] => [node.id, reportingCurrency(node, asked.currency)]);
      const byRoot = await withForestIds(prisma, pairs.map(([id]) => id), knownAt, (forest) =>
        forestViewsStatement(prisma, pairs, views, asOf, knownAt, forest));
      for (const [id, row] of byRoot) found.set(id, row);
    }
    const out = new Map<number, (StatementRow | MarketValueRow) & FingerprintRow>();
    for (const i of missing) {
      const item = items[i]!;
      const row = found.get(item.node.id);
      // Not in the result: not a node (deleted since it was read); nothing held, as its own statement finds.
      if (!row) continue;
      const { views: computed, missing: ccys, amount, ...fingerprint } = row;
      const value: StatementRow | MarketValueRow = item.view
        ? { ...computed[views.findIndex((v) => viewKey(v) === viewKey(item.view!))]!, missing: ccys }
        : { amount, missing: ccys };
      out.set(i, { ...value, ...fingerprint });
    }
    return out;
  });
  const settle = <T>(fn: () => T): T | Error => {
    try {
      return fn();
    } catch (error) {
      return error as Error;
    }
  };
  const offset = asked.marketValue ? 1 : 0;
  return nodes.map((node, n) => {
    const reporting = reportingCurrency(node, asked.currency);
    const at = (j: number) => rows[n * perNode + j];
    return {
      marketValue: asked.marketValue ? settle(() => moneyFrom((at(0) ?? { amount: '0', missing: [] }) as MarketValueRow, reporting, asOf)) : null,
      exposures: asked.exposures.map((args, j) => settle(() => {
        checkTop(args.top);
        return exposureFrom(node, args, reporting, asOf, (at(offset + j) ?? { total: '0', unvalued: 0, missing: [], buckets: null }) as StatementRow);
      })),
    };
  });
}
