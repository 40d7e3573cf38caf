import type { Resolvers } from '../generated/resolvers';
import { scalarResolvers } from '../scalars';
import { PortfolioNode, Position, portfolioMutations, portfolioQueries, Valuation } from './portfolio';
import { Instrument, Rating, ReferenceEntity, referenceMutations, referenceQueries } from './reference';

export const resolvers: Resolvers = {
  ...scalarResolvers,
  Query: { ...portfolioQueries, ...referenceQueries },
  Mutation: { ...portfolioMutations, ...referenceMutations },
  PortfolioNode,
  Position,
  Valuation,
  ReferenceEntity,
  Rating,
  Instrument,
};
