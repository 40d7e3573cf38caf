// Per-request loaders of the portfolio domain. A `children` request loads the
// whole subtrees of the asked nodes in one recursive statement and primes the
// children (and node) caches of every node in them, so a nested tree query
// costs one statement for the hierarchy however deep it goes.
import DataLoader from 'dataloader';
import type { Scope } from '../auth/caller';
import type { Prisma } from '../db/database';
import type { PortfolioNode, Position, PositionVersion, ValuationResult } from '../generated/prisma/client';
import { findValuationVersions, findVersions, findVersionsOn } from '../services/portfolio/history';
import type { KnownAt } from '../services/time/knownAt';
import { isoDate } from '../services/inputs';
import { pageFrom, type Page } from '../services/pagination';
import { findAncestors, findNodesByIds, findSubtrees, type Read, type SubtreeRow } from '../services/portfolio/nodes';
import { findPositionsByIds, latestValuations, positionPages, positionPagesAsOf, type PositionPageArgs } from '../services/portfolio/positions';
import { byKey, groupedByKey, PeekableLoader, rowLoader } from './keyed';

const stripSubtree = ({ rootId: _r, level: _l, positionCount: _c, ...node }: SubtreeRow): PortfolioNode => node;

/** Groups keyed requests by their non-id part, runs one fetch per group, answers in key order. */
function groupedLoader<V>(
  fetchGroup: (ids: string[], group: string) => Promise<Map<string, V>>,
  fallback: V,
): PeekableLoader<string, V> {
  return new PeekableLoader<string, V>(async (keys) => {
    const groups = new Map<string, string[]>();
    for (const key of keys) {
      const [id, group] = splitKey(key);
      groups.set(group, [...(groups.get(group) ?? []), id]);
    }
    const results = new Map<string, V>();
    await Promise.all(
      [...groups].map(async ([group, ids]) => {
        const found = await fetchGroup(ids, group);
        for (const id of ids) results.set(`${id}|${group}`, found.get(id) ?? fallback);
      }),
    );
    return keys.map((key) => results.get(key) ?? fallback);
  });
}

const splitKey = (key: string): [string, string] => {
  const at = key.indexOf('|');
  return [key.slice(0, at), key.slice(at + 1)];
};

export function portfolioLoaders(prisma: Prisma, read: Read, scope: Scope) {
  const nodeById = rowLoader((ids: readonly string[]) => findNodesByIds(prisma, ids, scope), (n) => n.id);

  const positionById = rowLoader((ids: readonly string[]) => findPositionsByIds(prisma, ids, scope), (p) => p.id);

  const positionPageByNode = groupedLoader(async (ids, group) => {
    const args = JSON.parse(group) as PositionPageArgs & { countOnly?: boolean; asOf: string | null; knownAt: KnownAt };
    const pages = args.asOf === null
      ? await positionPages(prisma, ids, args, scope)
      : await positionPagesAsOf(prisma, ids, { ...args, asOf: args.asOf }, scope);
    for (const page of pages.values()) for (const p of page.rows) positionById.prime(p.id, p);
    return pages;
  }, null as Page<Position> | null);

  /**
   * Children of many nodes from one statement loading their whole subtrees, priming the
   * children of every node in them (and nodeById). With countsFirst, the same statement
   * counts each node's positions and primes the count-only pages a tree view asks for next.
   */
  async function loadChildren(ids: readonly string[], countsFirst: number | null | undefined): Promise<PortfolioNode[][]> {
    const rows = await findSubtrees(read, ids, scope, null, countsFirst !== undefined);
    // Subtrees may overlap (a node and its ancestor both asked): keep each node once.
    const unique = [...new Map(rows.map((r) => [r.id, r])).values()];
    const nodes = unique.map(stripSubtree);
    const children = new Map<string, PortfolioNode[]>();
    for (const node of nodes) {
      nodeById.prime(node.id, node);
      if (!node.parentId) continue;
      const siblings = children.get(node.parentId);
      if (siblings) siblings.push(node);
      else children.set(node.parentId, [node]);
    }
    // Pre-order keeps siblings in name order; every node of a full subtree has its children known.
    const asked = new Set(ids);
    for (const node of nodes) {
      if (asked.has(node.id)) continue;
      childrenByNodeId.prime(node.id, children.get(node.id) ?? []);
      if (countsFirst !== undefined) childrenWithCountsByNodeId.prime(`${node.id}|${countsFirst ?? ''}`, children.get(node.id) ?? []);
    }
    if (countsFirst !== undefined) {
      const group = positionPageGroup({ first: countsFirst, countOnly: true });
      for (const row of unique) {
        const page = pageFrom<Position>([], countsFirst ?? 0, row.positionCount ?? 0, null, (p) => [p.id]);
        positionPageByNode.prime(`${row.id}|${group}`, page);
      }
    }
    return groupedByKey(ids, nodes.filter((n) => n.parentId !== null), (n) => n.parentId as string);
  }

  const childrenByNodeId: PeekableLoader<string, PortfolioNode[]> = new PeekableLoader((ids) => loadChildren(ids, undefined));
  /** Key: `${nodeId}|${first ?? ''}` of the count-only positions asked below. */
  const childrenWithCountsByNodeId: PeekableLoader<string, PortfolioNode[]> = groupedLoader(async (ids, first) => {
    const lists = await loadChildren(ids, first === '' ? null : Number(first));
    return new Map(ids.map((id, i) => [id, lists[i] ?? []]));
  }, [] as PortfolioNode[]);

  const descendantsByNodeId = groupedLoader(async (ids, maxDepth) => {
    const rows = await findSubtrees(read, ids, scope, maxDepth === '' ? null : Number(maxDepth));
    for (const row of rows) nodeById.prime(row.id, stripSubtree(row));
    const lists = groupedByKey(ids, rows.filter((r) => r.level > 0), (r) => r.rootId);
    return new Map(ids.map((id, i) => [id, (lists[i] ?? []).map(stripSubtree)]));
  }, [] as PortfolioNode[]);

  const ancestorsByNodeId = new DataLoader<string, PortfolioNode[]>(async (ids) => {
    const rows = await findAncestors(prisma, ids, scope);
    return groupedByKey(ids, rows, (r) => r.startId).map((list) =>
      list.map(({ startId: _s, level: _l, ...node }) => {
        nodeById.prime(node.id, node);
        return node;
      }),
    );
  });

  const valuationAsOf = groupedLoader(async (ids, group) => {
    const [asOf, knownAt] = splitKey(group);
    const rows = await latestValuations(prisma, ids, new Date(`${asOf}T00:00:00Z`), knownAt || null);
    return new Map(ids.map((id, i) => [id, byKey(ids, rows, (v) => v.positionId)[i] ?? null]));
  }, null as ValuationResult | null);

  const versionsByPosition = groupedLoader(async (ids, knownAt) => {
    const rows = await findVersions(prisma, ids, knownAt || null);
    return new Map(ids.map((id, i) => [id, groupedByKey(ids, rows, (v) => v.positionId)[i] ?? []]));
  }, [] as PositionVersion[]);

  const versionOnDate = groupedLoader(async (ids, group) => {
    const [asOf, knownAt] = splitKey(group);
    const rows = await findVersionsOn(prisma, ids, asOf, knownAt || null);
    return new Map(ids.map((id, i) => [id, byKey(ids, rows, (v) => v.positionId)[i] ?? null]));
  }, null as PositionVersion | null);

  const valuationVersions = groupedLoader(async (ids, asOfDate) => {
    const rows = await findValuationVersions(prisma, ids, asOfDate);
    return new Map(ids.map((id, i) => [id, groupedByKey(ids, rows, (v) => v.positionId)[i] ?? []]));
  }, [] as ValuationResult[]);

  return {
    nodeById,
    childrenByNodeId,
    childrenWithCountsByNodeId,
    /** Key: `${nodeId}|${maxDepth ?? ''}`. */
    descendantsByNodeId,
    ancestorsByNodeId,
    positionById,
    /** Key: `${nodeId}|${positionPageGroup(args)}`. */
    positionPageByNode,
    /** Key: `${positionId}|${YYYY-MM-DD}|${knownAt ?? ''}`. */
    valuationAsOf,
    /** Key: `${positionId}|${knownAt ?? ''}`: versions as known then, oldest valid date first. */
    versionsByPosition,
    /** Key: `${positionId}|${YYYY-MM-DD}|${knownAt ?? ''}`: the version covering the date. */
    versionOnDate,
    /** Key: `${positionId}|${YYYY-MM-DD}`: every recorded version of that date's valuation. */
    valuationVersions,
  };
}

/** The part of a positionPageByNode key after the node id: the page's arguments, as JSON. */
export const positionPageGroup = (args: PositionPageArgs & { countOnly?: boolean; asOf?: string | null; knownAt?: KnownAt }) =>
  JSON.stringify({
    status: args.status ? [...new Set(args.status)].sort() : null,
    includeDescendants: args.includeDescendants ?? false,
    first: args.first ?? null,
    after: args.after ?? null,
    countOnly: args.countOnly ?? false,
    asOf: args.asOf ?? null,
    knownAt: args.knownAt ?? null,
  });

/** `${id}|${YYYY-MM-DD}|${knownAt ?? ''}`: keys of the loaders read as of a date and a moment. */
export const asOfKey = (id: string, asOf: Date, knownAt: KnownAt) => `${id}|${isoDate(asOf)}|${knownAt ?? ''}`;
