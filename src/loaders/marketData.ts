// Per-request loaders of market data: feeds, their lineage, currency entities by code.
import type { Prisma } from '../db/database';
import { findFeedsByIds, findLineageOfFeeds } from '../services/marketData/feeds';
import { listLoader, rowLoader } from './keyed';

export function marketDataLoaders(prisma: Prisma) {
  return {
    feedById: rowLoader((ids: readonly string[]) => findFeedsByIds(prisma, ids), (f) => f.id),
    lineageByFeedId: listLoader((ids: readonly string[]) => findLineageOfFeeds(prisma, ids), (l) => l.feedId as string),
    currencyEntityByCode: rowLoader(
      (codes: readonly string[]) => prisma.referenceData.findMany({ where: { entityType: 'CURRENCY', code: { in: [...codes] } } }),
      (e) => e.code as string,
    ),
  };
}
