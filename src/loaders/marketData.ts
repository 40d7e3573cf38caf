// Per-request loaders of market data: feeds, their lineage, currency entities by code, the FX feed in
// force on a date (as known at a moment) with its rates.
import DataLoader from 'dataloader';
import type { Prisma } from '../db/database';
import { findFxFeedsAt, fxFeedKey, type FxFeedAt, type FxFeedKey } from '../services/analytics/fx';
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
    /** Every fxRate of a request (any dates and moments) in one statement. */
    fxFeedAt: new DataLoader<FxFeedKey, FxFeedAt | null, string>((keys) => findFxFeedsAt(prisma, keys), { cacheKeyFn: fxFeedKey }),
  };
}
