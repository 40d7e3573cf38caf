import type { Resolvers } from '../generated/resolvers';
import { scalarResolvers } from '../scalars';
import { analyticsQueries, DataLineage, ExposureBucket, FxRate, MarketDataFeed, nodeAnalytics } from './analytics';
import { PortfolioNode, Position, portfolioMutations, portfolioQueries, Valuation } from './portfolio';
import { Instrument, Rating, ReferenceEntity, referenceMutations, referenceQueries } from './reference';

export const resolvers: Resolvers = {
  ...scalarResolvers,
  Query: { ...portfolioQueries, ...referenceQueries, ...analyticsQueries },
  Mutation: { ...portfolioMutations, ...referenceMutations },
  PortfolioNode: { ...PortfolioNode, ...nodeAnalytics },
  ExposureBucket,
  FxRate,
  MarketDataFeed,
  DataLineage,
  Position,
  Valuation,
  ReferenceEntity,
  Rating,
  Instrument,
};
