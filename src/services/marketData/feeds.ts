// Reads of market-data feeds and their lineage.
import type { Prisma as Db } from '../../db/database';
import type { DataLineage, MarketDataFeed } from '../../generated/prisma/client';
import { validIds } from '../inputs';

export function findFeedsByIds(prisma: Db, ids: readonly string[]): Promise<MarketDataFeed[]> {
  const valid = validIds(ids);
  return valid.length === 0 ? Promise.resolve([]) : prisma.marketDataFeed.findMany({ where: { id: { in: valid } } });
}

export function findLineageOfFeeds(prisma: Db, feedIds: readonly string[]): Promise<DataLineage[]> {
  const valid = validIds(feedIds);
  if (valid.length === 0) return Promise.resolve([]);
  return prisma.dataLineage.findMany({ where: { feedId: { in: valid } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}
