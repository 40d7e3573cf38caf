import type { Resolvers } from '../generated/resolvers';
import { guarded, guardedSubscriptions, MUTATION_ROLES } from '../guard';
import { scalarResolvers } from '../scalars';
import { analyticsQueries, ExposureBucket, FxRate, HoldingsChange, nodeAnalytics, PositionChange } from './analytics';
import { IngestionBatch, ingestionMutations, ingestionQueries } from './ingestion';
import { DataLineage, MarketDataFeed, marketDataMutations, marketDataQueries } from './marketData';
import { PortfolioNode, Position, portfolioMutations, portfolioQueries, Valuation } from './portfolio';
import { Instrument, Rating, ReferenceEntity, referenceMutations, referenceQueries } from './reference';
import { nodeSnapshots, PortfolioSnapshot, snapshotMutations, snapshotQueries } from './snapshots';
import { PortfolioChange, subscriptionRoots } from './subscriptions';

export const resolvers: Resolvers = {
  ...scalarResolvers,
  Query: guarded(
    { ...portfolioQueries, ...referenceQueries, ...analyticsQueries, ...marketDataQueries, ...ingestionQueries, ...snapshotQueries },
    () => 'VIEWER',
  ),
  Mutation: guarded(
    { ...portfolioMutations, ...referenceMutations, ...marketDataMutations, ...ingestionMutations, ...snapshotMutations },
    // A mutation missing from the map needs ADMIN: new writes are closed until classified.
    (field) => MUTATION_ROLES[field as keyof typeof MUTATION_ROLES] ?? 'ADMIN',
  ),
  // Every subscription needs VIEWER (or more), as every query does.
  Subscription: guardedSubscriptions(subscriptionRoots, 'VIEWER'),
  PortfolioNode: { ...PortfolioNode, ...nodeAnalytics, ...nodeSnapshots },
  Position,
  Valuation,
  ReferenceEntity,
  Rating,
  Instrument,
  ExposureBucket,
  FxRate,
  HoldingsChange,
  PositionChange,
  MarketDataFeed,
  DataLineage,
  IngestionBatch,
  PortfolioSnapshot,
  PortfolioChange,
};
