// The market value of a subtree as of a date in a reporting currency, in one
// statement: the same subtree / latest-valuation / FX CTEs as exposure
// (exposure.ts documents the plan), summed without grouping.
import type { Prisma as Db } from '../../db/database';
import { Exact } from '../../domain/fx';
import { isoDate } from '../inputs';
import { heldCtes, fxMissing, reportingCurrency, type AnalyticsNode } from './exposure';
import { fxCtes } from './fxSql';

export interface Money {
  amount: string;
  currency: string;
}

export async function computeMarketValue(prisma: Db, node: AnalyticsNode, asOfDate: Date, currency?: string | null): Promise<Money> {
  const asOf = isoDate(asOfDate);
  const reporting = reportingCurrency(node, currency);
  const [row] = await prisma.$queryRaw<{ amount: string; missing: string[] }[]>`
    WITH RECURSIVE ${heldCtes(node.id, asOf)},
    ${fxCtes(asOf, reporting)}
    SELECT
      (SELECT COALESCE(sum(round(h.market_value * c.rate, 8)), 0)::text
       FROM held h JOIN fx_conv c ON c.ccy = h.currency AND c.rate IS NOT NULL) AS amount,
      (SELECT COALESCE(array_agg(ccy::text ORDER BY ccy), '{}') FROM fx_conv WHERE rate IS NULL) AS missing`;
  if (!row) throw new Error('market value statement returned no row');
  if (row.missing.length > 0) throw fxMissing(row.missing, reporting, asOf);
  return { amount: new Exact(row.amount).toFixed(), currency: reporting };
}
