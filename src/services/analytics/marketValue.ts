// The market value of a subtree as of a date in a reporting currency, in one
// statement: the same subtree, held positions and FX as exposure (exposure.ts
// documents the plan), summed by whether the currency has a rate.
import type { Prisma as Db } from '../../db/database';
import { Exact } from '../../domain/fx';
import { isoDate } from '../inputs';
import { forestSame, forestSql, FX_CONV_ROWS, fxMissing, reportingCurrency, withForestIds, type AnalyticsNode } from './exposure';
import { groupedHeld } from './held';
import { Prisma } from '../../generated/prisma/client';
import type { KnownAt } from '../time/knownAt';
import { fingerprintColumnsOf, NO_CACHE, type AnalyticsCache, type FingerprintRow } from './cache';
import { fxCtes } from './fxSql';
import { computeViews, marketValueOfNode } from './views';

export interface Money {
  amount: string;
  currency: string;
}

export interface MarketValueRow {
  amount: string;
  missing: string[];
}

/** The analytics cache's key of a market value. */
export const marketValueKey = (nodeId: string, asOf: string, reporting: string, knownAt: KnownAt) => `marketValue|${nodeId}|${asOf}|${reporting}|${knownAt ?? 'now'}`;

/** A market value from its statement's row: FX_RATE_NOT_FOUND naming the currencies without a rate. */
export function moneyFrom(row: MarketValueRow, reporting: string, asOf: string): Money {
  if (row.missing.length > 0) throw fxMissing(row.missing, reporting, asOf);
  return { amount: new Exact(row.amount).toFixed(), currency: reporting };
}

/**
 * The market value of one node's subtree. The service asks computeMarketValues (batched per request, a
 * batch of one included); this is the one-node form its results are tested against, figure for figure.
 */
export async function computeMarketValue(
  prisma: Db, node: AnalyticsNode, asOfDate: Date, currency?: string | null, cache: AnalyticsCache = NO_CACHE, knownAt: KnownAt = null,
): Promise<Money> {
  const asOf = isoDate(asOfDate);
  const reporting = reportingCurrency(node, currency);
  const key = marketValueKey(node.id, asOf, reporting, knownAt);
  const row = await cache.through<MarketValueRow>(prisma, key, node.id, asOf, knownAt, () => marketValueOfNode(prisma, node.id, asOf, reporting, knownAt));
  if (row.missing.length > 0) throw fxMissing(row.missing, reporting, asOf);
  return { amount: new Exact(row.amount).toFixed(), currency: reporting };
}

/**
 * The market values of many nodes (a level of a tree: every desk of a fund) in one statement: the held
 * positions of all their subtrees read once, grouped by node and valuation currency, each node's value
 * the sum over its subtree's groups - the same rounded amounts summed as computeMarketValue sums, so
 * the same figure to the last decimal. Nodes in several reporting currencies (every fund in its own)
 * are computeViews' (views.ts: each position converted into its root's currency). Results in the
 * analytics cache are used as computeMarketValue uses them (one fingerprint statement for all the
 * cached ones). One entry per node: its Money, or the error its own computation would raise.
 */
export async function computeMarketValues(
  prisma: Db, nodes: readonly AnalyticsNode[], asOfDate: Date, currency: string | null | undefined, cache: AnalyticsCache = NO_CACHE, knownAt: KnownAt = null,
): Promise<(Money | Error)[]> {
  const asOf = isoDate(asOfDate);
  const items = nodes.map((node) => {
    const reporting = reportingCurrency(node, currency);
    return { node, reporting, key: marketValueKey(node.id, asOf, reporting, knownAt) };
  });
  if (new Set(items.map((i) => i.reporting)).size > 1) {
    const found = await computeViews(prisma, nodes, { asOf: asOfDate, currency, knownAt, marketValue: true, exposures: [] }, cache);
    return found.map((views) => views.marketValue!);
  }
  const rows = await cache.throughMany<MarketValueRow>(prisma, items.map((i) => ({ key: i.key, nodeId: i.node.id })), asOf, knownAt, async (missing) => {
    const out = new Map<number, MarketValueRow & FingerprintRow>();
    // One reporting currency: grouped by node first, the positions never joined to their roots.
    const found = await manyStatement(prisma, [...new Set(missing.map((i) => items[i]!.node.id))], asOf, items[0]!.reporting, knownAt);
    for (const i of missing) {
      const row = found.get(items[i]!.node.id);
      if (row) out.set(i, row);
    }
    return out;
  });
  return items.map((item, i) => {
    const row = rows[i];
    // A node not in the statement's result: not a node (deleted since it was read); nothing held.
    if (!row) return { amount: '0', currency: item.reporting };
    if (row.missing.length > 0) return fxMissing(row.missing, item.reporting, asOf);
    return { amount: new Exact(row.amount).toFixed(), currency: item.reporting };
  });
}

/**
 * The statement for one reporting currency (withForestIds: the forest's ids read first, as for one node,
 * so that the planner counts the held positions from the column's statistics).
 */
function manyStatement(
  prisma: Db, rootIds: string[], asOf: string, reporting: string, knownAt: KnownAt,
): Promise<Map<string, MarketValueRow & FingerprintRow>> {
  return withForestIds(prisma, rootIds, knownAt, (forest) => prisma.$queryRaw<(MarketValueRow & FingerprintRow & { node_id: string; forest_same: boolean })[]>`
    WITH RECURSIVE ${forestSql(rootIds, knownAt)},
    ${fxCtes(asOf, reporting, knownAt)},
    -- Grouped by node and valuation currency (a group has a rate for all its rows or for none;
    -- unvalued positions form the NULL currency groups).
    grouped AS MATERIALIZED (${groupedHeld(asOf, knownAt, false, 'forest', forest?.ids ?? null, (h) => Prisma.sql`
      SELECT h.node_id, h.currency, bool_or(c.rate IS NULL) AS no_rate, sum(round(h.market_value * c.rate, 8)) AS value
      FROM ${h}
      LEFT JOIN ${FX_CONV_ROWS} AS c (ccy, rate) ON c.ccy = h.currency
      GROUP BY 1, 2`, ['node_id', 'currency'], { no_rate: 'bool_or', value: 'sum' })}
    ),
    members AS (SELECT DISTINCT f.root_id, f.id FROM forest f)
    SELECT m.root_id::text AS node_id,
      COALESCE(sum(g.value) FILTER (WHERE NOT g.no_rate), 0)::text AS amount,
      COALESCE(array_agg(DISTINCT g.currency::text) FILTER (WHERE g.no_rate AND g.currency IS NOT NULL), '{}') AS missing,
      ${forestSame(forest?.ids ?? null)} AS forest_same,
      ${fingerprintColumnsOf(Prisma.sql`m.root_id`)}
    FROM members m LEFT JOIN grouped g ON g.node_id = m.id
    GROUP BY m.root_id`);
}
