// Market-data feeds: queries, ingestion, and the MarketDataFeed / DataLineage types.
import { listMarketDataFeeds } from '../../services/marketData/feeds';
import { ingestMarketData } from '../../services/marketData/ingest';
import { toConnection } from '../connection';
import { nodesAsk } from '../plan';
import { asks } from '../selection';
import type {
  DataLineageResolvers, MarketDataFeedResolvers, MutationResolvers, QualityCheck, QueryResolvers,
} from '../generated/resolvers';

export const marketDataQueries: Pick<QueryResolvers, 'marketDataFeed' | 'marketDataFeeds'> = {
  marketDataFeed: (_root, { id }, ctx) => ctx.loaders.feedById.load(id.trim().toLowerCase()),
  marketDataFeeds: async (_root, args, ctx, info) => {
    // The feeds' lineage, when their nodes ask it, in the page's statement.
    const page = await listMarketDataFeeds(ctx.db.prisma, args, asks(info, 'totalCount'), nodesAsk(info, 'lineage'));
    for (const { lineage, ...feed } of page.rows) {
      ctx.loaders.feedById.prime(feed.id, feed);
      if (lineage) ctx.loaders.lineageByFeedId.prime(feed.id, lineage);
    }
    return toConnection(page);
  },
};

// What an ingest writes replaces what the request's loaders may hold, so later
// fields of the same operation (lineage, an entity's ratings) read fresh rows.
export const marketDataMutations: Pick<MutationResolvers, 'ingestMarketData'> = {
  ingestMarketData: async (_root, { input }, ctx) => {
    const { feed, created } = await ingestMarketData(ctx.db.prisma, input);
    if (created) ctx.metrics?.feedStored(feed);
    ctx.loaders.feedById.clear(feed.id).prime(feed.id, feed);
    ctx.loaders.lineageByFeedId.clear(feed.id);
    if (feed.feedType === 'FX_SPOT') ctx.loaders.fxFeedAt.clearAll();
    if (feed.feedType === 'RATING') {
      ctx.loaders.ratingsByEntityId.clearAll();
      ctx.loaders.ratingAsOfByEntityId.clearAll();
    }
    return feed;
  },
};

export const MarketDataFeed: MarketDataFeedResolvers = {
  payload: (feed) => feed.payloadJson,
  checks: (feed) => (Array.isArray(feed.validationJson) ? (feed.validationJson as unknown as QualityCheck[]) : []),
  lineage: (feed, _args, ctx) => ctx.loaders.lineageByFeedId.load(feed.id),
};

export const DataLineage: DataLineageResolvers = {
  metadata: (lineage) => lineage.metadataJson as Record<string, unknown>,
  feed: (lineage, _args, ctx) => (lineage.feedId ? ctx.loaders.feedById.load(lineage.feedId) : null),
};
