import type { Resolvers } from '../generated/resolvers';
import { scalarResolvers } from '../scalars';
import { analyticsQueries, ExposureBucket, FxRate, nodeAnalytics } from './analytics';
import { IngestionBatch, ingestionMutations, ingestionQueries } from './ingestion';
import { DataLineage, MarketDataFeed, marketDataMutations, marketDataQueries } from './marketData';
import { PortfolioNode, Position, portfolioMutations, portfolioQueries, Valuation } from './portfolio';
import { Instrument, Rating, ReferenceEntity, referenceMutations, referenceQueries } from './reference';
import { nodeSnapshots, PortfolioSnapshot, snapshotMutations, snapshotQueries } from './snapshots';

export const resolvers: Resolvers = {
  ...scalarResolvers,
  Query: {
    ...portfolioQueries, ...referenceQueries, ...analyticsQueries, ...marketDataQueries, ...ingestionQueries, ...snapshotQueries,
  },
  Mutation: { ...portfolioMutations, ...referenceMutations, ...marketDataMutations, ...ingestionMutations, ...snapshotMutations },
  PortfolioNode: { ...PortfolioNode, ...nodeAnalytics, ...nodeSnapshots },
  Position,
  Valuation,
  ReferenceEntity,
  Rating,
  Instrument,
  ExposureBucket,
  FxRate,
  MarketDataFeed,
  DataLineage,
  IngestionBatch,
  PortfolioSnapshot,
};
