// The market value of a subtree as of a date in a reporting currency, in one
// statement: the same subtree / latest-valuation / FX CTEs as exposure
// (exposure.ts documents the plan), summed without grouping.
import type { Prisma as Db } from '../../db/database';
import { Exact } from '../../domain/fx';
import { isoDate } from '../inputs';
import { heldCtes, fxMissing, reportingCurrency, type AnalyticsNode } from './exposure';
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

export async function computeMarketValue(prisma: Db, node: AnalyticsNode, asOfDate: Date, currency?: string | null, cache: AnalyticsCache = NO_CACHE): Promise<Money> {
  const asOf = isoDate(asOfDate);
  const reporting = reportingCurrency(node, currency);
  const row = await cache.through<MarketValueRow>(prisma, `marketValue|${node.id}|${asOf}|${reporting}`, node.id, asOf, () => run(prisma, node.id, asOf, reporting));
  if (row.missing.length > 0) throw fxMissing(row.missing, reporting, asOf);
  return { amount: new Exact(row.amount).toFixed(), currency: reporting };
}

async function run(prisma: Db, nodeId: string, asOf: string, reporting: string): Promise<MarketValueRow & FingerprintRow> {
  const [row] = await prisma.$queryRaw<(MarketValueRow & FingerprintRow)[]>`
    WITH RECURSIVE ${heldCtes(nodeId, asOf)},
    ${fxCtes(asOf, reporting)}
    SELECT
      (SELECT COALESCE(sum(round(h.market_value * c.rate, 8)), 0)::text
       FROM held h JOIN fx_conv c ON c.ccy = h.currency AND c.rate IS NOT NULL) AS amount,
      (SELECT COALESCE(array_agg(ccy::text ORDER BY ccy), '{}') FROM fx_conv WHERE rate IS NULL) AS missing,
      ${fingerprintColumns(nodeId)}`;
  if (!row) throw new Error('market value statement returned no row');
  return row;
}
