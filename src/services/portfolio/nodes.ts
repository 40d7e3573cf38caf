// Reads of the portfolio hierarchy. Recursive reads (ancestors, subtrees)
// carry the visited path and never revisit a node, so they stop even if a
// cycle got into the table.
import type { Scope } from '../../auth/caller';
import { Prisma, type NodeType, type PortfolioNode } from '../../generated/prisma/client';
import { containsText, validIds } from '../inputs';
import { decodeCursor, pageFrom, pageSize, rowsAndTotal, withTotal, type Page, type PageArgs } from '../pagination';
import { driverQuery, epochMs, instantOf } from '../../db/driverRows';
import type { KnownAt } from '../time/knownAt';
import { heldCountSql } from './positions';

/** The columns of portfolio_node NODE_COLUMNS_DRIVER reads (a subtree's walk carries them, under these names). */
const NODE_TABLE_COLUMNS = ['id', 'name', 'node_type', 'parent_id', 'base_ccy', 'tags_json', 'fund_id', 'created_at', 'updated_at'] as const;

/** The columns of portfolio_node under the names of the Prisma model, for Database.read (src/db/driverRows.ts): timestamps as milliseconds, turned into Dates by nodeTimes. */
export const NODE_COLUMNS_DRIVER = `n.id, n.name, n.node_type AS "nodeType", n.parent_id AS "parentId", n.base_ccy AS "baseCcy",
   n.tags_json AS "tagsJson", n.fund_id AS "fundId", ${epochMs('n.created_at', 'createdAt')}, ${epochMs('n.updated_at', 'updatedAt')}`;

/** Prisma filter: nodes of the funds in scope (every node when the scope is null). */
export const inScope = (scope: Scope): Prisma.PortfolioNodeWhereInput => (scope ? { fundId: { in: [...scope] } } : {});

/** SQL condition on a node alias: the node's fund is in scope. */
export const nodeInScope = (alias: string, scope: Scope): Prisma.Sql =>
  scope ? Prisma.sql`${Prisma.raw(alias)}.fund_id = ANY(${[...scope]}::uuid[])` : Prisma.sql`TRUE`;

/** Nodes by id, in scope (the node loader's batch), through the driver (prismaRead for a Prisma client). */
export async function findNodesByIds(read: Read, ids: readonly string[], scope: Scope): Promise<PortfolioNode[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return [];
  return nodeTimes(await read<PortfolioNode>(...driverQuery(Prisma.sql`
    SELECT ${Prisma.raw(NODE_COLUMNS_DRIVER)} FROM portfolio_node n WHERE n.id = ANY(${valid}::uuid[]) AND ${nodeInScope('n', scope)}`)));
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

/**
 * A position count per node: now (asOf null), statuses null counts every status (the counts kept per
 * node), else those states only; on a date (asOf, as known at knownAt: a settled moment, or now), the
 * positions in those states on that date (ACTIVE when none), from the counts and change events kept
 * per node (heldCountSql: no position read).
 */
export interface NodeCount {
  statuses: readonly string[] | null;
  asOf: string | null;
  knownAt: KnownAt;
}

/** What the subtree statement computes beside the nodes (src/graphql/plan.ts decides). */
export interface SubtreeExtras {
  /** Position counts per node. */
  counts?: readonly NodeCount[];
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
  rootIds: readonly string[] | 'roots',
  scope: Scope,
  maxDepth: number | null = null,
  extras: SubtreeExtras = {},
): Promise<SubtreeRow[]> {
  // 'roots': the subtrees of every root in scope (portfolioRoots), the roots in name then id order.
  const roots = rootIds === 'roots';
  const ids = roots ? null : validIds(rootIds);
  if (ids !== null && ids.length === 0) return [];
  const rootDepth = extras.rootDepth
    // Each root's ancestors, walked up (cycle-safe), counted on the root's row only.
    ? Prisma.sql`, CASE WHEN n.level = 0 THEN (
        WITH RECURSIVE up (id, path) AS (
          SELECT n.parent_id, ARRAY[n.id] WHERE n.parent_id IS NOT NULL AND n.parent_id <> n.id
          UNION ALL
          SELECT p.parent_id, u.path || p.id FROM up u JOIN portfolio_node p ON p.id = u.id
          WHERE p.parent_id IS NOT NULL AND p.parent_id <> ALL (u.path || p.id)
        ) SELECT count(*)::int FROM up) END AS "rootDepth"`
    : Prisma.empty;
  // The walk carries each node's columns as it read them (not read again by id: a join back cost about
  // an eighth of the statement; nor as one composite row, which each column read out of it unpacked
  // again: 12 % of the statement of a 60-node tree).
  const rows = await read<SubtreeRow & Record<string, unknown>>(...driverQuery(Prisma.sql`
    WITH RECURSIVE down (root_id, level, path, sort_key, ${Prisma.raw(NODE_TABLE_COLUMNS.join(', '))}) AS (
      SELECT n.id, 0, ARRAY[n.id], ARRAY[]::text[], ${Prisma.raw(NODE_TABLE_COLUMNS.map((c) => `n.${c}`).join(', '))}
      FROM portfolio_node n WHERE ${ids === null ? Prisma.sql`n.parent_id IS NULL` : Prisma.sql`n.id = ANY(${ids}::uuid[])`} AND ${nodeInScope('n', scope)}
      UNION ALL
      SELECT d.root_id, d.level + 1, d.path || c.id, d.sort_key || (c.name || chr(31) || c.id::text), ${Prisma.raw(NODE_TABLE_COLUMNS.map((c) => `c.${c}`).join(', '))}
      FROM down d JOIN portfolio_node c ON c.parent_id = d.id
      WHERE c.id <> ALL (d.path)${maxDepth === null ? Prisma.empty : Prisma.sql` AND d.level < ${maxDepth}::int`}
    )
    SELECT n.root_id AS "rootId", n.level, ${Prisma.raw(NODE_COLUMNS_DRIVER)}${countsColumn(extras.counts)}${rootDepth}
    FROM down n${roots ? Prisma.sql` JOIN portfolio_node r ON r.id = n.root_id` : Prisma.empty}
    ORDER BY ${roots ? Prisma.sql`r.name, r.id` : Prisma.sql`n.root_id`}, n.sort_key`));
  return nodeTimes(rows);
}

/**
 * Column `counts` of a statement over nodes `n`: each node's own positions, one count per NodeCount,
 * from the counts the database keeps per node and status (node_position_count: index-only sums of a
 * few deltas) and, on a date, its change events after that date or moment (node_position_change).
 */
function countsColumn(counts: readonly NodeCount[] | undefined): Prisma.Sql {
  if (!counts || counts.length === 0) return Prisma.empty;
  const columns = counts.map(({ statuses, asOf, knownAt }) => {
    if (asOf !== null) return Prisma.sql`${heldCountSql('n.id', asOf, knownAt, statuses && statuses.length > 0 ? [...statuses] : ['ACTIVE'])}::int`;
    return statuses === null
      ? Prisma.sql`(SELECT COALESCE(sum(c.delta), 0)::int FROM node_position_count c WHERE c.portfolio_node_id = n.id)`
      : Prisma.sql`(SELECT COALESCE(sum(c.delta), 0)::int FROM node_position_count c
        WHERE c.portfolio_node_id = n.id AND c.status = ANY(${[...statuses]}::position_status[]))`;
  });
  return Prisma.sql`, ARRAY[${Prisma.join(columns, ', ')}] AS counts`;
}

/** Rows read with NODE_COLUMNS_DRIVER, their timestamps as Prisma returns them (pg parsed each one's text: 2 % of a tree request's CPU). */
export function nodeTimes<T extends PortfolioNode>(rows: T[]): T[] {
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

/** Every ancestor of each given node, root first (and, withStart, the node itself last: level 0), in one statement. */
export async function findAncestors(read: Read, nodeIds: readonly string[], scope: Scope, withStart = false): Promise<AncestorRow[]> {
  const ids = validIds(nodeIds);
  if (ids.length === 0) return [];
  return nodeTimes(await read<AncestorRow>(...driverQuery(Prisma.sql`
    WITH RECURSIVE up (start_id, id, parent_id, level, path) AS (
      SELECT n.id, n.id, n.parent_id, 0, ARRAY[n.id]
      FROM portfolio_node n WHERE n.id = ANY(${ids}::uuid[]) AND ${nodeInScope('n', scope)}
      UNION ALL
      SELECT u.start_id, p.id, p.parent_id, u.level + 1, u.path || p.id
      FROM up u JOIN portfolio_node p ON p.id = u.parent_id
      WHERE p.id <> ALL (u.path)
    )
    SELECT u.start_id AS "startId", u.level, ${Prisma.raw(NODE_COLUMNS_DRIVER)}
    FROM up u JOIN portfolio_node n ON n.id = u.id
    WHERE u.level > 0 OR ${withStart}::boolean
    ORDER BY u.start_id, u.level DESC`)));
}

export interface NodeFilter {
  nodeType?: NodeType | null;
  nameContains?: string | null;
  parentId?: string | null;
}

/** What a node list's statement computes beside each node (src/graphql/plan.ts: planNodes). */
export interface ListExtras {
  /** Each node's own position counts (as SubtreeExtras.counts). */
  counts?: readonly NodeCount[];
  /** Each node's parent (in scope), read in the same statement. */
  parent?: boolean;
}

/** A node of a list with what ListExtras asked. */
export interface ListedNode extends PortfolioNode {
  counts?: number[];
  parent?: PortfolioNode | null;
}

/**
 * A page of nodes matching the filter, ordered by name then id (cursor: [name, id]), with their
 * total over all pages in the same statement when `count` (withTotal; NaN when not), and what the
 * query asks of each node that one statement can give (extras: own counts, the parent). Through the
 * driver, its timestamps as epoch milliseconds (NODE_COLUMNS_DRIVER).
 */
export async function listNodes(
  read: Read, filter: NodeFilter, args: PageArgs, scope: Scope, count = true, extras: ListExtras = {},
): Promise<Page<ListedNode>> {
  const first = pageSize(args.first);
  const after = decodeCursor(args.after, ['string', 'uuid']);
  if (filter.parentId && validIds([filter.parentId]).length === 0) return pageFrom([], first, 0, after, () => []);
  const conditions = [nodeInScope('n', scope)];
  if (filter.nodeType) conditions.push(Prisma.sql`n.node_type = ${filter.nodeType}::node_type`);
  // Prisma's case-insensitive `contains`: ILIKE with the text taken literally (containsText escapes it).
  if (filter.nameContains) conditions.push(Prisma.sql`n.name ILIKE ${`%${containsText(filter.nameContains, 'filter.nameContains').contains}%`}`);
  if (filter.parentId) conditions.push(Prisma.sql`n.parent_id = ${filter.parentId}::uuid`);
  const where = Prisma.join(conditions, ' AND ');
  const keyset = after ? Prisma.sql`AND (n.name, n.id) > (${after[0] as string}, ${after[1] as string}::uuid)` : Prisma.empty;
  let page = Prisma.sql`SELECT ${Prisma.raw(NODE_COLUMNS_DRIVER)}${countsColumn(extras.counts)}
    FROM portfolio_node n WHERE ${where} ${keyset} ORDER BY n.name, n.id LIMIT ${first + 1}`;
  if (extras.parent) {
    // Each listed node's parent: its NODE_COLUMNS_DRIVER as one JSON object (the same names and values).
    page = Prisma.sql`SELECT l.*, (SELECT to_json(x) FROM (SELECT ${Prisma.raw(NODE_COLUMNS_DRIVER)} FROM portfolio_node n
        WHERE n.id = l."parentId" AND ${nodeInScope('n', scope)}) x) AS parent
      FROM (${page}) l ORDER BY l.name, l.id`;
  }
  const statement = withTotal(page, count ? Prisma.sql`SELECT count(*)::int FROM portfolio_node n WHERE ${where}` : null);
  const found = rowsAndTotal(await read<ListedNode & { totalCount?: number }>(...driverQuery(statement)), 'id', count);
  nodeTimes(found.rows);
  if (extras.parent) nodeTimes(found.rows.flatMap((row) => (row.parent ? [row.parent] : [])));
  return pageFrom(found.rows, first, found.total, after, (n) => [n.name, n.id]);
}
