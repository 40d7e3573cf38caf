// Reads of the portfolio hierarchy. Plain functions over the Prisma client;
// no GraphQL here.
import type { Prisma } from '../../db/database';
import type { PortfolioNode } from '../../generated/prisma/client';
import { isUuid } from '../inputs';






export function findRoots(prisma: Prisma): Promise<PortfolioNode[]> {
  return prisma.portfolioNode.findMany({ where: { parentId: null }, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
}

export function findNodesByIds(prisma: Prisma, ids: readonly string[]): Promise<PortfolioNode[]> {
  const valid = ids.filter(isUuid);
  if (valid.length === 0) return Promise.resolve([]);
  return prisma.portfolioNode.findMany({ where: { id: { in: valid } } });
}

/** Children of many parents in one statement, ordered by name then id. */
export function findChildrenOf(prisma: Prisma, parentIds: readonly string[]): Promise<PortfolioNode[]> {
  return prisma.portfolioNode.findMany({
    where: { parentId: { in: [...parentIds] } },
    orderBy: [{ name: 'asc' }, { id: 'asc' }],
  });
}
