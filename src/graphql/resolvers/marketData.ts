// Market-data feeds: queries, ingestion, and the MarketDataFeed / DataLineage types.
import type {
  DataLineageResolvers, MarketDataFeedResolvers, MutationResolvers, QualityCheck, QueryResolvers,
} from '../generated/resolvers';

export const marketDataQueries: Pick<QueryResolvers, never> = {};
export const marketDataMutations: Pick<MutationResolvers, never> = {};

export const MarketDataFeed: MarketDataFeedResolvers = {
  payload: (feed) => feed.payloadJson,
  checks: (feed) => (Array.isArray(feed.validationJson) ? (feed.validationJson as unknown as QualityCheck[]) : []),
  lineage: (feed, _args, ctx) => ctx.loaders.lineageByFeedId.load(feed.id),
};

export const DataLineage: DataLineageResolvers = {
  metadata: (lineage) => lineage.metadataJson as Record<string, unknown>,
  feed: (lineage, _args, ctx) => (lineage.feedId ? ctx.loaders.feedById.load(lineage.feedId) : null),
};
