// PortfolioNode, Position and Valuation with the portfolio queries and
// mutations: thin, every relation through a per-request loader.
import { fundFilter } from '../../auth/caller';
import { badInput } from '../../errors';
import { asOfKey, positionPageGroup } from '../../loaders/portfolio';
import { createNode, moveNode } from '../../services/portfolio/hierarchy';
import { adjustPosition, closePosition, deletePosition, openPosition, recordValuations } from '../../services/portfolio/positionWrites';
import { isoDate } from '../../services/inputs';
import { pageSize, type Page } from '../../services/pagination';
import type { Position as PositionRow } from '../../generated/prisma/client';
import { toConnection } from '../connection';
import { planNodes, planPositionColumns, planPositions, planTree } from '../plan';
import { asks, memo, selectsOnly } from '../selection';
import type {
  MutationResolvers, PortfolioNodeResolvers, PositionResolvers, QueryResolvers, ValuationResolvers,
} from '../generated/resolvers';

export const portfolioQueries: Pick<QueryResolvers, 'portfolioNode' | 'portfolioRoots' | 'portfolioNodes' | 'position'> = {
  portfolioNode: async (_root, { id }, ctx, info) => {
    const key = id.trim().toLowerCase();
    // A query walking the node's subtree (children, descendants): the one statement that loads the
    // subtree also returns the node itself and what the plan asks of every node in it.
    const plan = planTree(info);
    if (plan.subtree) await ctx.loaders.loadTree(key, plan);
    // A breadcrumb (its ancestors, depth or parent): the one statement that walks up from the node also
    // returns the node itself.
    else if (asks(info, 'ancestors') || asks(info, 'depth') || asks(info, 'parent')) await ctx.loaders.ancestorsByNodeId.load(key);
    return ctx.loaders.nodeById.load(key);
  },
  // The roots and, in the same statement, what the query asks below them (their subtrees, counts, depths).
  portfolioRoots: (_root, _args, ctx, info) => ctx.loaders.roots(planTree(info)),
  // The page, its total (when asked) and what its nodes are asked that a list can give, in one statement.
  portfolioNodes: async (_root, { filter, first, after }, ctx, info) => {
    const { plan, parent } = planNodes(info);
    return toConnection(await ctx.loaders.nodeList(filter ?? {}, { first, after }, asks(info, 'totalCount'), plan, parent));
  },
  position: (_root, { id }, ctx) => ctx.loaders.positionById.load(id.trim().toLowerCase()),
};

export const portfolioMutations: Pick<
  MutationResolvers,
  'createPortfolioNode' | 'movePortfolioNode' | 'openPosition' | 'adjustPosition' | 'closePosition' | 'deletePosition' | 'recordValuations'
> = {
  createPortfolioNode: (_root, { input }, ctx) => createNode(ctx.db.prisma, input, fundFilter(ctx.caller)),
  movePortfolioNode: (_root, { id, parentId }, ctx) => moveNode(ctx.db.prisma, id, parentId, fundFilter(ctx.caller)),
  openPosition: (_root, { input }, ctx) => openPosition(ctx.db.prisma, input, fundFilter(ctx.caller), ctx.clock.today),
  adjustPosition: (_root, { input }, ctx) => adjustPosition(ctx.db.prisma, input, fundFilter(ctx.caller), ctx.clock.today),
  closePosition: (_root, { id, effectiveDate }, ctx) => closePosition(ctx.db.prisma, id, effectiveDate, fundFilter(ctx.caller), ctx.clock.today),
  deletePosition: (_root, { id }, ctx) => deletePosition(ctx.db.prisma, id, fundFilter(ctx.caller)),
  recordValuations: (_root, { input }, ctx) => recordValuations(ctx.db.prisma, input, fundFilter(ctx.caller), ctx.clock.today),
};

export const PortfolioNode: PortfolioNodeResolvers = {
  baseCurrency: (node) => node.baseCcy,
  tags: (node) => node.tagsJson as Record<string, unknown>,
  // Relations already loaded (a subtree primes every node's children and counts) are answered
  // without a promise (PeekableLoader.get), so graphql-js completes the rest of the tree synchronously.
  parent: (node, _args, ctx) => (node.parentId ? ctx.loaders.nodeById.get(node.parentId) : null),
  children: (node, _args, ctx, info) => ctx.loaders.childrenPlanned(node.id, planTree(info)),
  ancestors: (node, _args, ctx) => ctx.loaders.ancestorsByNodeId.load(node.id),
  depth: (node, _args, ctx) => ctx.loaders.depthByNodeId.get(node.id),
  descendants: (node, { maxDepth }, ctx, info) => {
    if (maxDepth !== null && maxDepth !== undefined && maxDepth < 0) throw badInput('maxDepth', 'maxDepth must be 0 or more');
    const key = `${node.id}|${maxDepth ?? ''}`;
    const known = ctx.loaders.descendantsByNodeId.peek(key);
    if (known) return known;
    // Not primed by an enclosing subtree: this node's subtree, as the selection below plans it.
    const plan = planTree(info);
    return ctx.loaders.loadTree(node.id, { ...plan, descendants: [...new Set([...plan.descendants, maxDepth ?? null])], key: `${plan.key}|${maxDepth ?? ''}` })
      .then(() => ctx.loaders.descendantsByNodeId.get(key));
  },
  positions: (node, args, ctx, info) => {
    pageSize(args.first); // reject a bad page size before batching
    // A tree asking only for totalCount (the usual "position counts" view) reads no page at all.
    const countOnly = selectsOnly(info, TOTAL_ONLY);
    // The positions' instruments and issuers, when asked, come in the page's own statement.
    const related = countOnly ? null : planPositions(info);
    // The positions' columns their fields read (the rest of each row is not read or typed).
    const columns = countOnly ? null : planPositionColumns(info);
    if (args.asOf !== null && args.asOf !== undefined) {
      const asOf = isoDate(args.asOf);
      return ctx.clock.knownAt(args.knownAt).then(async (knownAt) => {
        const group = positionPageGroup({ ...args, asOf, knownAt, countOnly, related, columns });
        return positionConnection(await ctx.loaders.positionPageByNode.load(ctx.loaders.positionPageKey(node.id, group)), countOnly, node.id);
      });
    }
    if (args.knownAt !== null && args.knownAt !== undefined) throw badInput('knownAt', 'knownAt needs asOf: the positions as of a date, as known at a moment');
    // The arguments are the same for every node of a level: their key part is computed once per level.
    const group = memo(info, 'positionPageGroup', () => positionPageGroup({ ...args, asOf: null, knownAt: null, countOnly, related, columns }));
    const { loaders } = ctx;
    const page = loaders.positionPageByNode.get(loaders.positionPageKey(node.id, group));
    return page instanceof Promise ? page.then((found) => positionConnection(found, countOnly, node.id)) : positionConnection(page, countOnly, node.id);
  },
};

/**
 * A node's page as its connection (a function of the module, not a closure per node: the TypeScript
 * loader names every closure bound to a name, a defineProperty each). Nothing but totalCount asked (a
 * tree's counts, several per node): no edges, cursors or getters to build.
 */
function positionConnection(page: Page<PositionRow> | null, countOnly: boolean, nodeId: string) {
  if (!page) throw new Error(`no page for node ${nodeId}`);
  return countOnly ? countConnection(page) : toConnection(page);
}

/** The one field a count-only connection selects (selectsOnly's question, a constant: its memo tag is built once). */
const TOTAL_ONLY = ['totalCount'] as const;

/** The connection of a page whose client selects totalCount alone (selectsOnly): its edges and cursors are never read. */
const countConnection = (page: Page<PositionRow>) => ({
  totalCount: page.totalCount,
  edges: [],
  pageInfo: { hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, startCursor: null, endCursor: null },
});

const present = <T>(value: T | null | Promise<T | null>): T | Promise<T> =>
  value instanceof Promise ? value.then((v) => v!) : value!;

export const Position: PositionResolvers = {
  node: (position, _args, ctx) => present(ctx.loaders.nodeById.get(position.portfolioNodeId)),
  instrument: (position, _args, ctx) => present(ctx.loaders.instrumentById.get(position.instrumentId)),
  baseCurrency: (position) => position.baseCcy,
  valuation: async (position, { asOf, knownAt }, ctx) =>
    ctx.loaders.valuationAsOf.load(asOfKey(position.id, asOf, await ctx.clock.knownAt(knownAt))),
  valuationVersions: (position, { asOfDate }, ctx) => ctx.loaders.valuationVersions.load(`${position.id}|${isoDate(asOfDate)}`),
  holding: async (position, { asOf, knownAt }, ctx) => {
    const version = await ctx.loaders.versionOnDate.load(asOfKey(position.id, asOf, await ctx.clock.knownAt(knownAt)));
    return version && version.status === 'ACTIVE' ? { asOf, quantity: version.quantity.toFixed(), status: version.status } : null;
  },
  history: async (position, { knownAt }, ctx) => ctx.loaders.versionsByPosition.load(`${position.id}|${(await ctx.clock.knownAt(knownAt)) ?? ''}`),
};

export const Valuation: ValuationResolvers = {};
