// PortfolioNode and the portfolio queries: thin, every relation through a loader.
import { findRoots } from '../../services/portfolio/nodes';
import type { MutationResolvers, PortfolioNodeResolvers, PositionResolvers, QueryResolvers, ValuationResolvers } from '../generated/resolvers';

export const portfolioQueries: Pick<QueryResolvers, 'portfolioNode' | 'portfolioRoots'> = {
  portfolioNode: (_root, { id }, ctx) => ctx.loaders.nodeById.load(id),
  portfolioRoots: (_root, _args, ctx) => findRoots(ctx.db.prisma),
};

export const PortfolioNode: PortfolioNodeResolvers = {
  baseCurrency: (node) => node.baseCcy,
  tags: (node) => node.tagsJson as Record<string, unknown>,
  parent: (node, _args, ctx) => (node.parentId ? ctx.loaders.nodeById.load(node.parentId) : null),
  children: (node, _args, ctx) => ctx.loaders.childrenByNodeId.load(node.id),
};

export const portfolioMutations: Pick<MutationResolvers, never> = {};
export const Position: PositionResolvers = {};
export const Valuation: ValuationResolvers = {};
