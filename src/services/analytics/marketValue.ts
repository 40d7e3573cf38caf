// The market value of a subtree as of a date in a reporting currency, in one
// statement: the same subtree, held positions and FX as exposure (exposure.ts
// documents the plan), summed by whether the currency has a rate.
import type { Prisma as Db } from '../../db/database';
import { Exact } from '../../domain/fx';
import { isoDate } from '../inputs';
import { FX_CONV_ROWS, fxMissing, reportingCurrency, subtreeCte, type AnalyticsNode } from './exposure';
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
  const [row] = await prisma.$queryRaw<(MarketValueRow & FingerprintRow)[]>`
    WITH RECURSIVE ${subtreeCte(nodeId, knownAt)},
    ${fxCtes(asOf, reporting, knownAt)},
    grouped AS MATERIALIZED (
      SELECT CASE WHEN h.market_value IS NOT NULL AND c.rate IS NULL THEN h.currency END AS missing,
             sum(round(h.market_value * c.rate, 8)) AS value
      FROM ${heldSql(asOf, knownAt, false)} h
      LEFT JOIN ${FX_CONV_ROWS} AS c (ccy, rate) ON c.ccy = h.currency
      GROUP BY 1
    )
    SELECT
      (SELECT COALESCE(sum(value), 0)::text FROM grouped WHERE missing IS NULL) AS amount,
      (SELECT COALESCE(array_agg(missing::text ORDER BY missing::text), '{}') FROM grouped WHERE missing IS NOT NULL) AS missing,
      ${fingerprintColumns(nodeId)}`;
  if (!row) throw new Error('market value statement returned no row');
  return row;
}
