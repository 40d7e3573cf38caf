// Writes to the portfolio tree. The level order (DESK under FUND, BOOK under
// DESK, STRATEGY under BOOK; FUND a root) and acyclicity are checked inside the
// writing transaction while it holds the hierarchy lock, so two concurrent
// moves are checked one after the other and cannot together create a cycle.
import type { Scope } from '../../auth/caller';
import type { Prisma as Db } from '../../db/database';
import { DomainError, notFound } from '../../errors';
import type { NodeType, PortfolioNode, Prisma } from '../../generated/prisma/client';
import { currencyCode, isUuid, jsonObject, requiredText } from '../inputs';
import { inScope } from './nodes';
import { retryingSerialization } from '../time/retry';

/** Transaction-scoped advisory lock serialising every change of the tree's shape. */
const HIERARCHY_LOCK = 7_270_001;

export const LEVEL: Record<NodeType, number> = { FUND: 0, DESK: 1, BOOK: 2, STRATEGY: 3 };
const PARENT_TYPE: Record<NodeType, NodeType | null> = { FUND: null, DESK: 'FUND', BOOK: 'DESK', STRATEGY: 'BOOK' };

const violation = (field: string, message: string) => new DomainError('HIERARCHY_VIOLATION', message, field);

async function lockHierarchy(tx: Prisma.TransactionClient): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${HIERARCHY_LOCK}::bigint)`;
}

/** A node the caller may see; one outside their funds is NOT_FOUND, exactly like a missing one. */
async function findNode(tx: Prisma.TransactionClient, id: string, field: string, scope: Scope): Promise<PortfolioNode> {
  const node = isUuid(id) ? await tx.portfolioNode.findFirst({ where: { id: id.toLowerCase(), ...inScope(scope) } }) : null;
  if (!node) throw notFound(field, `No portfolio node with id ${JSON.stringify(id.slice(0, 64))}`);
  return node;
}

function checkLevel(nodeType: NodeType, parent: PortfolioNode, field: string): void {
  const expected = PARENT_TYPE[nodeType];
  if (parent.nodeType !== expected) {
    throw violation(field, `A ${nodeType} goes under a ${expected}, not under a ${parent.nodeType} ("${parent.name}")`);
  }
}

/** True when `ancestorId` is `nodeId` or one of its ancestors (cycle-safe walk up). */
async function isSelfOrAncestor(tx: Prisma.TransactionClient, ancestorId: string, nodeId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<{ found: boolean }[]>`
    WITH RECURSIVE up (id, parent_id, path) AS (
      SELECT id, parent_id, ARRAY[id] FROM portfolio_node WHERE id = ${nodeId}::uuid
      UNION ALL
      SELECT p.id, p.parent_id, u.path || p.id FROM up u JOIN portfolio_node p ON p.id = u.parent_id
      WHERE p.id <> ALL (u.path)
    )
    SELECT EXISTS (SELECT 1 FROM up WHERE id = ${ancestorId}::uuid) AS found`;
  return rows[0]?.found ?? false;
}

export interface CreateNodeInput {
  name: string;
  nodeType: NodeType;
  parentId?: string | null;
  baseCurrency: string;
  tags?: Record<string, unknown> | null;
}

export async function createNode(prisma: Db, input: CreateNodeInput, scope: Scope): Promise<PortfolioNode> {
  const name = requiredText(input.name, 'input.name');
  const baseCcy = currencyCode(input.baseCurrency, 'input.baseCurrency');
  const tags = jsonObject(input.tags, 'input.tags');
  return retryingSerialization(() => prisma.$transaction(async (tx) => {
    await lockHierarchy(tx);
    if (input.nodeType === 'FUND') {
      if (input.parentId) throw violation('input.parentId', 'A FUND is a root and cannot have a parent');
      if (scope) throw new DomainError('FORBIDDEN', 'Creating a FUND needs access to all funds', 'input.nodeType');
      return tx.portfolioNode.create({ data: { name, nodeType: 'FUND', baseCcy, tagsJson: tags as object } });
    }
    if (!input.parentId) throw violation('input.parentId', `A ${input.nodeType} needs a parent ${PARENT_TYPE[input.nodeType]}`);
    const parent = await findNode(tx, input.parentId, 'input.parentId', scope);
    checkLevel(input.nodeType, parent, 'input.parentId');
    return tx.portfolioNode.create({ data: { name, nodeType: input.nodeType, parentId: parent.id, baseCcy, tagsJson: tags as object } });
  }));
}

export async function moveNode(prisma: Db, id: string, parentId: string, scope: Scope): Promise<PortfolioNode> {
  return retryingSerialization(() => prisma.$transaction(async (tx) => {
    await lockHierarchy(tx);
    const node = await findNode(tx, id, 'id', scope);
    const parent = await findNode(tx, parentId, 'parentId', scope);
    if (node.nodeType === 'FUND') throw violation('id', 'A FUND is a root and cannot be moved under another node');
    if (await isSelfOrAncestor(tx, node.id, parent.id)) {
      throw violation('parentId', `Moving "${node.name}" under "${parent.name}" would make it its own ancestor`);
    }
    checkLevel(node.nodeType, parent, 'parentId');
    if (node.parentId === parent.id) return node;
    return tx.portfolioNode.update({ where: { id: node.id }, data: { parentId: parent.id } });
  }));
}
