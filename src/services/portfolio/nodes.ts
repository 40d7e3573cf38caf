// Reads of the portfolio hierarchy. Recursive reads (ancestors, subtrees)
// carry the visited path and never revisit a node, so they stop even if a
// cycle got into the table.
import type { Scope } from '../../auth/caller';
import type { Prisma as Db } from '../../db/database';
import { Prisma, type NodeType, type PortfolioNode } from '../../generated/prisma/client';
import { containsText, validIds } from '../inputs';
import { decodeCursor, pageFrom, pageSize, type Page, type PageArgs } from '../pagination';
import { epochMs, instantOf } from '../../db/driverRows';

/** The columns of portfolio_node under the names of the Prisma model (text for Database.read, Sql for Prisma). */
const NODE_COLUMNS_TEXT = `n.id, n.name, n.node_type AS "nodeType", n.parent_id AS "parentId", n.base_ccy AS "baseCcy",
   n.tags_json AS "tagsJson", n.fund_id AS "fundId", n.created_at AS "createdAt", n.updated_at AS "updatedAt"`;
export const NODE_COLUMNS = Prisma.raw(NODE_COLUMNS_TEXT);

/** NODE_COLUMNS for Database.read (src/db/driverRows.ts): timestamps as milliseconds, turned into Dates by subtreeRowOf. */
const NODE_COLUMNS_DRIVER = `n.id, n.name, n.node_type AS "nodeType", n.parent_id AS "parentId", n.base_ccy AS "baseCcy",
   n.tags_json AS "tagsJson", n.fund_id AS "fundId", ${epochMs('n.created_at', 'createdAt')}, ${epochMs('n.updated_at', 'updatedAt')}`;

/** Prisma filter: nodes of the funds in scope (every node when the scope is null). */
export const inScope = (scope: Scope): Prisma.PortfolioNodeWhereInput => (scope ? { fundId: { in: [...scope] } } : {});

/** SQL condition on a node alias: the node's fund is in scope. */
export const nodeInScope = (alias: string, scope: Scope): Prisma.Sql =>
  scope ? Prisma.sql`${Prisma.raw(alias)}.fund_id = ANY(${[...scope]}::uuid[])` : Prisma.sql`TRUE`;

export function findRoots(prisma: Db, scope: Scope): Promise<PortfolioNode[]> {
  return prisma.portfolioNode.findMany({ where: { parentId: null, ...inScope(scope) }, orderBy: [{ name: 'asc' }, { id: 'asc' }] });
}

export function findNodesByIds(prisma: Db, ids: readonly string[], scope: Scope): Promise<PortfolioNode[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return Promise.resolve([]);
  // Raw: the node loader's batch, on every tree request; findMany costs about twice as much.
  return prisma.$queryRaw<PortfolioNode[]>`SELECT ${NODE_COLUMNS} FROM portfolio_node n WHERE n.id = ANY(${valid}::uuid[]) AND ${nodeInScope('n', scope)}`;
}

export interface SubtreeRow extends PortfolioNode {
  /** The node whose subtree this row belongs to. */
  rootId: string;
  /** Levels below the root (0 = the root itself). */
  level: number;
  /** The node's own positions, one count per status set asked for (SubtreeExtras.counts), in that order. */
  counts?: number[];
  /** On the root's row (level 0), when asked for: its depth (how many nodes are above it). */
  rootDepth?: number | null;
}

/** What the subtree statement computes beside the nodes (src/graphql/plan.ts decides). */
export interface SubtreeExtras {
  /** Position counts per node: null counts every status (the counts kept per node), else those states only. */
  counts?: readonly (readonly string[] | null)[];
  /** The roots' depths (one short walk up from each root). */
  rootDepth?: boolean;
}

/** A read statement through the driver (Database.read). */
export type Read = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

/**
 * The whole subtrees of the given nodes (roots included, level 0), each in
 * pre-order with siblings by name then id, in one statement. Sent through the
 * driver (Database.read): it is the one statement of every tree view, and
 * Prisma's raw-query path cost a tenth of such a request's CPU. With extras,
 * the same statement counts each node's positions (per status set) and finds
 * the roots' depths, so that a tree view needs nothing else.
 */
export async function findSubtrees(
  read: Read,
  rootIds: readonly string[],
  scope: Scope,
  maxDepth: number | null = null,
  extras: SubtreeExtras = {},
): Promise<SubtreeRow[]> {
  const ids = validIds(rootIds);
  if (ids.length === 0) return [];
  const params: unknown[] = [ids, scope ? [...scope] : null, maxDepth];
  // The counts the database keeps per node and status (node_position_count): index-only sums of a few deltas.
  const columns = (extras.counts ?? []).map((statuses) => {
    if (statuses === null) return `(SELECT COALESCE(sum(c.delta), 0)::int FROM node_position_count c WHERE c.portfolio_node_id = n.id)`;
    params.push([...statuses]);
    return `(SELECT COALESCE(sum(c.delta), 0)::int FROM node_position_count c
      WHERE c.portfolio_node_id = n.id AND c.status = ANY($${params.length}::position_status[]))`;
  });
  const rootDepth = extras.rootDepth
    // Each root's ancestors, walked up (cycle-safe), counted on the root's row only.
    ? `, CASE WHEN d.level = 0 THEN (
        WITH RECURSIVE up (id, path) AS (
          SELECT n.parent_id, ARRAY[n.id] WHERE n.parent_id IS NOT NULL AND n.parent_id <> n.id
          UNION ALL
          SELECT p.parent_id, u.path || p.id FROM up u JOIN portfolio_node p ON p.id = u.id
          WHERE p.parent_id IS NOT NULL AND p.parent_id <> ALL (u.path || p.id)
        ) SELECT count(*)::int FROM up) END AS "rootDepth"`
    : '';
  const rows = await read<SubtreeRow & Record<string, unknown>>(`
    WITH RECURSIVE down (root_id, id, level, path, sort_key) AS (
      SELECT n.id, n.id, 0, ARRAY[n.id], ARRAY[]::text[]
      FROM portfolio_node n WHERE n.id = ANY($1::uuid[]) AND ($2::uuid[] IS NULL OR n.fund_id = ANY($2::uuid[]))
      UNION ALL
      SELECT d.root_id, c.id, d.level + 1, d.path || c.id, d.sort_key || (c.name || chr(31) || c.id::text)
      FROM down d JOIN portfolio_node c ON c.parent_id = d.id
      WHERE c.id <> ALL (d.path) AND ($3::int IS NULL OR d.level < $3::int)
    )
    SELECT d.root_id AS "rootId", d.level, ${NODE_COLUMNS_DRIVER}${columns.length ? `, ARRAY[${columns.join(', ')}] AS counts` : ''}${rootDepth}
    FROM down d JOIN portfolio_node n ON n.id = d.id
    ORDER BY d.root_id, d.sort_key`, params);
  // The timestamps as Prisma returns them (pg parsed each one's text: 2 % of a tree request's CPU).
  for (const row of rows) {
    row.createdAt = instantOf(row.createdAt as unknown as number);
    row.updatedAt = instantOf(row.updatedAt as unknown as number);
  }
  return rows;
}

export interface AncestorRow extends PortfolioNode {
  /** The node whose ancestor this is. */
  startId: string;
  /** Levels above the start node (1 = its parent). */
  level: number;
}

/** Every ancestor of each given node, root first, in one statement. */
export function findAncestors(prisma: Db, nodeIds: readonly string[], scope: Scope): Promise<AncestorRow[]> {
  const ids = validIds(nodeIds);
  if (ids.length === 0) return Promise.resolve([]);
  return prisma.$queryRaw<AncestorRow[]>`
    WITH RECURSIVE up (start_id, id, parent_id, level, path) AS (
      SELECT n.id, n.id, n.parent_id, 0, ARRAY[n.id]
      FROM portfolio_node n WHERE n.id = ANY(${ids}::uuid[]) AND ${nodeInScope('n', scope)}
      UNION ALL
      SELECT u.start_id, p.id, p.parent_id, u.level + 1, u.path || p.id
      FROM up u JOIN portfolio_node p ON p.id = u.parent_id
      WHERE p.id <> ALL (u.path)
    )
    SELECT u.start_id AS "startId", u.level, ${NODE_COLUMNS}
    FROM up u JOIN portfolio_node n ON n.id = u.id
    WHERE u.level > 0
    ORDER BY u.start_id, u.level DESC`;
}

export interface NodeFilter {
  nodeType?: NodeType | null;
  nameContains?: string | null;
  parentId?: string | null;
}

/** A page of nodes matching the filter, ordered by name then id (cursor: [name, id]). */
export async function listNodes(prisma: Db, filter: NodeFilter, args: PageArgs, scope: Scope): Promise<Page<PortfolioNode>> {
  const first = pageSize(args.first);
  const after = decodeCursor(args.after, ['string', 'uuid']);
  if (filter.parentId && validIds([filter.parentId]).length === 0) return pageFrom([], first, 0, after, () => []);
  const where: Prisma.PortfolioNodeWhereInput = {
    ...(filter.nodeType ? { nodeType: filter.nodeType } : {}),
    ...(filter.nameContains ? { name: containsText(filter.nameContains, 'filter.nameContains') } : {}),
    ...(filter.parentId ? { parentId: filter.parentId } : {}),
    ...inScope(scope),
  };
  const keyset: Prisma.PortfolioNodeWhereInput = after
    ? { OR: [{ name: { gt: after[0] as string } }, { name: after[0] as string, id: { gt: after[1] as string } }] }
    : {};
  const [rows, totalCount] = await Promise.all([
    prisma.portfolioNode.findMany({ where: { AND: [where, keyset] }, orderBy: [{ name: 'asc' }, { id: 'asc' }], take: first + 1 }),
    prisma.portfolioNode.count({ where }),
  ]);
  return pageFrom(rows, first, totalCount, after, (n) => [n.name, n.id]);
}
