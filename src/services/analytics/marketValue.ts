// The market value of a subtree as of a date in a reporting currency, in one
// statement: the same subtree, held positions and FX as exposure (exposure.ts
// documents the plan), summed by whether the currency has a rate.
import type { Prisma as Db } from '../../db/database';
import { Exact } from '../../domain/fx';
import { isoDate } from '../inputs';
import { FX_CONV_ROWS, fxMissing, reportingCurrency, subtreeCte, subtreeSame, withSubtreeIds, type AnalyticsNode } from './exposure';
import { heldSql } from './held';
import type { KnownAt } from '../time/knownAt';
import { fingerprintColumns, NO_CACHE, type AnalyticsCache, type FingerprintRow } from './cache';
import { fxCtes } from './fxSql';

export interface Money {
  amount: string;
  currency: string;
}

interface MarketValueRow {
  amount: string;
  missing: string[];
}

export async function computeMarketValue(
  prisma: Db, node: AnalyticsNode, asOfDate: Date, currency?: string | null, cache: AnalyticsCache = NO_CACHE, knownAt: KnownAt = null,
): Promise<Money> {
  const asOf = isoDate(asOfDate);
  const reporting = reportingCurrency(node, currency);
  const key = `marketValue|${node.id}|${asOf}|${reporting}|${knownAt ?? 'now'}`;
  const row = await cache.through<MarketValueRow>(prisma, key, node.id, asOf, knownAt, () => run(prisma, node.id, asOf, reporting, knownAt));
  if (row.missing.length > 0) throw fxMissing(row.missing, reporting, asOf);
  return { amount: new Exact(row.amount).toFixed(), currency: reporting };
}

async function run(prisma: Db, nodeId: string, asOf: string, reporting: string, knownAt: KnownAt): Promise<MarketValueRow & FingerprintRow> {
  return withSubtreeIds(prisma, nodeId, [knownAt], ([ids]) => statement(prisma, nodeId, asOf, reporting, knownAt, ids ?? null));
}

async function statement(
  prisma: Db, nodeId: string, asOf: string, reporting: string, knownAt: KnownAt, ids: string[] | null,
): Promise<MarketValueRow & FingerprintRow & { subtree_same: boolean }> {
  const [row] = await prisma.$queryRaw<(MarketValueRow & FingerprintRow & { subtree_same: boolean })[]>`
    WITH RECURSIVE ${subtreeCte(nodeId, knownAt)},
    ${fxCtes(asOf, reporting, knownAt)},
    -- Grouped by valuation currency (the rate is the currency's: a group has a rate for all its rows
    -- or for none; unvalued positions form the NULL group). A key of few values the planner can
    -- count, so it groups in a hash table in the parallel workers.
    grouped AS MATERIALIZED (
      SELECT h.currency, bool_or(c.rate IS NULL) AS no_rate, sum(round(h.market_value * c.rate, 8)) AS value
      FROM ${heldSql(asOf, knownAt, false, 'subtree', ids)} h
      LEFT JOIN ${FX_CONV_ROWS} AS c (ccy, rate) ON c.ccy = h.currency
      GROUP BY 1
    )
    SELECT
      (SELECT COALESCE(sum(value), 0)::text FROM grouped WHERE NOT no_rate) AS amount,
      (SELECT COALESCE(array_agg(currency::text ORDER BY currency::text), '{}') FROM grouped WHERE no_rate AND currency IS NOT NULL) AS missing,
      ${subtreeSame(ids)},
      ${fingerprintColumns(nodeId)}`;
  if (!row) throw new Error('market value statement returned no row');
  return row;
}
