import type { Resolvers } from '../generated/resolvers';
import { scalarResolvers } from '../scalars';
import { PortfolioNode, portfolioQueries } from './portfolio';

export const resolvers: Resolvers = {
  ...scalarResolvers,
  Query: {
    ...portfolioQueries,
  },
  PortfolioNode,
};
