import type { Prisma } from '../db/database';
import { findChildrenOf, findNodesByIds } from '../services/portfolio/nodes';
import { listLoader, rowLoader } from './keyed';

export function portfolioLoaders(prisma: Prisma) {
  return {
    nodeById: rowLoader((ids: readonly string[]) => findNodesByIds(prisma, ids), (n) => n.id),
    childrenByNodeId: listLoader((ids: readonly string[]) => findChildrenOf(prisma, ids), (n) => n.parentId as string),
  };
}
