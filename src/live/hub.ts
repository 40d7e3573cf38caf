// The live updates of one service (one per createServer): the subscriptions'
// streams, all fed by the process's LiveEvents (src/live/events.ts). What
// needs work per event - which subtrees a write touched, an exposure - is done
// once here for every subscriber; the GraphQL resolvers
// (src/graphql/resolvers/subscriptions.ts) only check access and map values.
import type { Caller } from '../auth/caller';
import type { Database } from '../db/database';
import type { FeedType, IngestionBatch, MarketDataFeed } from '../generated/prisma/client';
import type { Logger } from '../logger';
import type { AnalyticsCache } from '../services/analytics/cache';
import type { Channel } from './channel';
import type { LiveEvents } from './events';
import { LiveExposures } from './exposures';
import { PortfolioChangeFeed } from './portfolioChanges';
import { batchProgress, feedsIngested } from './records';

export class LiveHub {
  readonly portfolio: PortfolioChangeFeed;
  readonly exposures: LiveExposures;

  constructor(
    readonly events: LiveEvents,
    private readonly db: Database,
    analytics: AnalyticsCache,
    logger: Logger,
    options: { exposureIntervalMs?: number } = {},
  ) {
    this.portfolio = new PortfolioChangeFeed(events, db.prisma, logger);
    this.exposures = new LiveExposures(events, db.prisma, analytics, logger, options.exposureIntervalMs);
  }

  batchProgress(batch: IngestionBatch, caller: Caller): Channel<IngestionBatch> {
    return batchProgress(this.events, this.db.prisma, batch, caller);
  }

  feedsIngested(feedType: FeedType | null): Channel<MarketDataFeed> {
    return feedsIngested(this.events, this.db.prisma, feedType);
  }
}
