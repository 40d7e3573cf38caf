// Several analytics of one node asked together with the same date, reporting
// currency and moment - a dashboard: its market value and its exposure by
// sector, by country, by currency, by rating... - in one statement instead of
// one each: the node's held positions (heldSql) are read once and grouped by
// every column a bucket key starts from (issuer, asset class, valuation
// currency, and the child under the node when a table asks for it: by_views);
// each exposure is then grouped from those groups (a few thousand rows, not the
// positions), and the market value summed from them. The same rounded amounts
// summed in another order: each figure is what its own statement gives
// (exposure.ts, marketValue.ts) to the last decimal, under the same cache keys.
import type { Prisma as Db } from '../../db/database';
import { Prisma } from '../../generated/prisma/client';
import { isoDate } from '../inputs';
import type { KnownAt } from '../time/knownAt';
import { fingerprintColumns, NO_CACHE, type AnalyticsCache, type FingerprintRow } from './cache';
import {
  checkTop, dimensionSql, exposureFrom, exposureKey, FX_CONV_ROWS, reportingCurrency, subtreeCte, subtreeSame, withSubtreeIds,
  type AnalyticsNode, type Dimension, type ExposureArgs, type ExposureResult, type StatementRow,
} from './exposure';
import { fxCtes } from './fxSql';
import { heldSql, instrumentsSql } from './held';
import { marketValueKey, moneyFrom, type MarketValueRow, type Money } from './marketValue';

/** The by_views column each dimension's first grouping column (dimensionSql's `pre`) is read from. */
const VIEW_PRE: Record<Dimension, string> = {
  ISSUER: 'issuer_id', SECTOR: 'issuer_id', GEOGRAPHY: 'issuer_id', RATING: 'issuer_id', CURRENCY: 'currency', ASSET_CLASS: 'asset_class', CHILD: 'child_id',
};

/** The grouping columns of by_views: the expression each is read from, and its type when not grouped by (null). */
const BY_VIEWS_COLUMNS: Record<string, [string, string]> = {
  issuer_id: ['i.issuer_id', 'uuid'], asset_class: ['i.asset_class', 'asset_class'], currency: ['h.currency', 'char(3)'], child_id: ['h.child_id', 'uuid'],
};

interface View {
  dimension: Dimension;
  lookThrough: boolean;
}

/** One exposure of the statement: what its own statement computes, less the currencies without a rate (shared). */
type ViewRow = Omit<StatementRow, 'missing'>;

interface ViewsRow extends FingerprintRow {
  views: ViewRow[];
  /** Currencies of valued positions without a rate (the exposures' FX_RATE_NOT_FOUND). */
  missing: string[];
  /** The market value and the valuation currencies without a rate (marketValue's FX_RATE_NOT_FOUND). */
  amount: string;
  value_missing: string[];
  subtree_same: boolean;
}

/**
 * The statement of one node's views: its held positions read once, grouped by the columns its views'
 * keys start from (and by valuation currency for the market value), each view grouped from those groups.
 * Positions are joined to their instruments only when a view is asked (a market value alone reads none).
 */
async function viewsStatement(
  prisma: Db, node: AnalyticsNode, views: readonly View[], marketValue: boolean, asOf: string, reporting: string, knownAt: KnownAt, ids: string[] | null,
): Promise<ViewsRow> {
  const child = views.some((v) => v.dimension === 'CHILD');
  const dims = views.map((v) => dimensionSql(v.dimension, v.lookThrough, asOf, node.id, knownAt));
  const ratings = views.some((v) => v.dimension === 'RATING') ? dimensionSql('RATING', false, asOf, node.id, knownAt).ctes : Prisma.empty;
  const held = () => heldSql(asOf, knownAt, child, 'subtree', ids);
  // The grouping columns: those the views start from, the currency for the market value; the others null.
  const needed = new Set<string>(views.map((v) => VIEW_PRE[v.dimension]));
  if (marketValue) needed.add('currency');
  const columns = Object.entries(BY_VIEWS_COLUMNS).map(([name, [expression, type]]) =>
    (needed.has(name) ? Prisma.sql`${Prisma.raw(expression)} AS ${Prisma.raw(name)}` : Prisma.sql`NULL::${Prisma.raw(type)} AS ${Prisma.raw(name)}`));
  const groupBy = Object.entries(BY_VIEWS_COLUMNS).filter(([name]) => needed.has(name)).map(([, [expression]]) => Prisma.raw(expression));
  const grouped = views.map((v, k) => Prisma.sql`,
    ${Prisma.raw(`view_${k}`)} AS MATERIALIZED (
      SELECT ${dims[k]!.key} AS key, sum(g.value) AS value, sum(g.n)::int AS n, sum(g.unvalued)::int AS unvalued
      FROM (SELECT b.${Prisma.raw(VIEW_PRE[v.dimension])} AS pre, b.value, b.n, b.unvalued FROM by_views b) g
      ${dims[k]!.join}
      GROUP BY 1
    )`);
  const outputs = views.map((_, k) => {
    const view = Prisma.raw(`view_${k}`);
    return Prisma.sql`json_build_object(
      'total', (SELECT COALESCE(sum(x.value) FILTER (WHERE x.n > 0), 0)::text FROM ${view} x),
      'unvalued', (SELECT COALESCE(sum(x.unvalued), 0)::int FROM ${view} x),
      'buckets', (SELECT json_agg(json_build_object('key', x.key::text, 'value', x.value::text, 'count', x.n) ORDER BY x.value DESC, x.key::text)
                  FROM ${view} x WHERE x.n > 0))`;
  });
  const rows = await prisma.$queryRaw<ViewsRow[]>`
    WITH RECURSIVE ${subtreeCte(node.id, knownAt)},
    ${fxCtes(asOf, reporting, knownAt)}${ratings},
    -- The valuation currency decides the rate: a group has one for all its rows or for none.
    by_views AS MATERIALIZED (
      SELECT ${Prisma.join(columns, ', ')},
             sum(round(h.market_value * c.rate, 8)) AS value,
             count(*) FILTER (WHERE h.market_value IS NOT NULL AND c.rate IS NOT NULL)::int AS n,
             count(*) FILTER (WHERE h.market_value IS NULL)::int AS unvalued,
             bool_or(h.market_value IS NOT NULL AND c.rate IS NULL) AS missing,
             bool_or(c.rate IS NULL) AS no_rate
      FROM ${held()} h
      LEFT JOIN ${FX_CONV_ROWS} AS c (ccy, rate) ON c.ccy = h.currency
      ${views.length > 0 ? Prisma.sql`JOIN ${instrumentsSql(knownAt)} i ON i.id = h.instrument_id` : Prisma.empty}
      GROUP BY ${Prisma.join(groupBy, ', ')}
    )${grouped.length > 0 ? Prisma.join(grouped, '') : Prisma.empty}
    SELECT json_build_array(${outputs.length > 0 ? Prisma.join(outputs, ', ') : Prisma.empty}) AS views,
      CASE WHEN (SELECT bool_or(missing) FROM by_views) THEN COALESCE((
        SELECT array_agg(DISTINCT h.currency::text ORDER BY h.currency::text)
        FROM ${held()} h LEFT JOIN ${FX_CONV_ROWS} AS c (ccy, rate) ON c.ccy = h.currency
        WHERE h.market_value IS NOT NULL AND c.rate IS NULL
      ), '{}') ELSE '{}' END AS missing,
      (SELECT COALESCE(sum(b.value) FILTER (WHERE NOT b.no_rate), 0)::text FROM by_views b) AS amount,
      (SELECT COALESCE(array_agg(DISTINCT b.currency::text ORDER BY b.currency::text) FILTER (WHERE b.no_rate AND b.currency IS NOT NULL), '{}')
         FROM by_views b) AS value_missing,
      ${subtreeSame(ids)},
      ${fingerprintColumns(node.id)}`;
  return rows[0]!;
}

/**
 * One exposure of one node's subtree, computed alone (computeExposure, and computeExposures for a batch
 * of one node): the views statement with that one view, grouped by that view's first column alone.
 */
export async function exposureOfNode(
  prisma: Db, node: AnalyticsNode, dimension: Dimension, asOf: string, reporting: string, lookThrough: boolean, knownAt: KnownAt,
): Promise<StatementRow & FingerprintRow> {
  const row = await withSubtreeIds(prisma, node.id, [knownAt], ([ids]) =>
    viewsStatement(prisma, node, [{ dimension, lookThrough }], false, asOf, reporting, knownAt, ids ?? null));
  const { views: [view], missing, amount: _a, value_missing: _v, subtree_same: _s, ...fingerprint } = row;
  return { ...view!, missing, ...fingerprint };
}

/** The market value of one node's subtree, computed alone (computeMarketValue): the views statement with no view, grouped by currency. */
export async function marketValueOfNode(
  prisma: Db, nodeId: string, asOf: string, reporting: string, knownAt: KnownAt,
): Promise<MarketValueRow & FingerprintRow> {
  const node = { id: nodeId, name: '', baseCcy: reporting };
  const row = await withSubtreeIds(prisma, nodeId, [knownAt], ([ids]) => viewsStatement(prisma, node, [], true, asOf, reporting, knownAt, ids ?? null));
  const { views: _views, missing: _m, amount, value_missing: valueMissing, subtree_same: _s, ...fingerprint } = row;
  return { amount, missing: valueMissing, ...fingerprint };
}

/** What a node is asked together: its market value (or not) and exposures, all with the same date, currency asked and moment. */
export interface NodeViews {
  asOf: Date;
  currency?: string | null;
  knownAt: KnownAt;
  marketValue: boolean;
  exposures: readonly ExposureArgs[];
}

/**
 * The market value (when asked) and exposures of one node in one statement (viewsStatement). Each entry
 * is what computeMarketValue or computeExposure gives for its arguments, figure for figure and under the
 * same cache keys (cached ones are not computed again), or the error its own computation raises.
 */
export async function computeNodeViews(
  prisma: Db, node: AnalyticsNode, asked: NodeViews, cache: AnalyticsCache = NO_CACHE,
): Promise<{ marketValue: Money | Error | null; exposures: (ExposureResult | Error)[] }> {
  const asOf = isoDate(asked.asOf);
  const knownAt = asked.knownAt;
  const reporting = reportingCurrency(node, asked.currency);
  const viewOf = (args: ExposureArgs): View => ({ dimension: args.dimension, lookThrough: args.lookThrough ?? false });
  const keyOf = (v: View) => exposureKey(node.id, v.dimension, v.lookThrough, asOf, reporting, knownAt);
  // Item 0: the market value (when asked); then one per exposure asked.
  const items = [
    ...(asked.marketValue ? [{ key: marketValueKey(node.id, asOf, reporting, knownAt), nodeId: node.id, view: null as View | null }] : []),
    ...asked.exposures.map((args) => ({ key: keyOf(viewOf(args)), nodeId: node.id, view: viewOf(args) as View | null })),
  ];
  const rows = await cache.throughMany<StatementRow | MarketValueRow>(prisma, items, asOf, knownAt, async (missing) => {
    const views = [...new Map(missing.flatMap((i) => (items[i]!.view ? [[items[i]!.key, items[i]!.view!] as const] : []))).entries()];
    const row = await withSubtreeIds(prisma, node.id, [knownAt], ([ids]) =>
      viewsStatement(prisma, node, views.map(([, v]) => v), missing.some((i) => !items[i]!.view), asOf, reporting, knownAt, ids ?? null));
    const { views: computed, missing: ccys, amount, value_missing: valueMissing, subtree_same: _same, ...fingerprint } = row;
    return new Map(missing.map((i) => {
      const item = items[i]!;
      const value: StatementRow | MarketValueRow = item.view
        ? { ...computed[views.findIndex(([key]) => key === item.key)]!, missing: ccys }
        : { amount, missing: valueMissing };
      return [i, { ...value, ...fingerprint }];
    }));
  });
  const settle = <T>(fn: () => T): T | Error => {
    try {
      return fn();
    } catch (error) {
      return error as Error;
    }
  };
  const offset = asked.marketValue ? 1 : 0;
  return {
    marketValue: asked.marketValue ? settle(() => moneyFrom((rows[0] ?? { amount: '0', missing: [] }) as MarketValueRow, reporting, asOf)) : null,
    exposures: asked.exposures.map((args, j) => settle(() => {
      checkTop(args.top);
      return exposureFrom(node, args, reporting, asOf, (rows[offset + j] ?? { total: '0', unvalued: 0, missing: [], buckets: null }) as StatementRow);
    })),
  };
}
