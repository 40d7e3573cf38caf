// Portfolio snapshots: createPortfolioSnapshot, portfolioSnapshot, the node's
// snapshots and snapshotAsOf, and the snapshot's node and payload. Thin: every
// read goes through a per-request loader; the payload only when asked for.
// Entitlements: the mutation passes the caller's funds to the service; a
// snapshot read by id is shown only when its node is (nodeById answers null
// for a node outside the caller's funds); the node fields are reached through
// a node the caller already sees.
import { fundFilter } from '../../auth/caller';
import { snapshotAsOfKey, snapshotPageKey } from '../../loaders/snapshots';
import { pageSize } from '../../services/pagination';
import { createSnapshot } from '../../services/snapshots/create';
import { toConnection } from '../connection';
import type { MutationResolvers, PortfolioNodeResolvers, PortfolioSnapshotResolvers, QueryResolvers } from '../generated/resolvers';

export const snapshotQueries: Pick<QueryResolvers, 'portfolioSnapshot'> = {
  portfolioSnapshot: async (_root, { id }, ctx) => {
    const snapshot = await ctx.loaders.snapshotById.load(id.trim().toLowerCase());
    return snapshot && (await ctx.loaders.nodeById.load(snapshot.portfolioNodeId)) ? snapshot : null;
  },
};

export const snapshotMutations: Pick<MutationResolvers, 'createPortfolioSnapshot'> = {
  createPortfolioSnapshot: (_root, { nodeId, asOfDate }, ctx) => createSnapshot(ctx.db.prisma, nodeId, asOfDate, { funds: fundFilter(ctx.caller), arrivedAt: ctx.clock.arrivedAt }),
};

export const nodeSnapshots: Pick<PortfolioNodeResolvers, 'snapshots' | 'snapshotAsOf'> = {
  snapshots: async (node, args, ctx) => {
    pageSize(args.first); // reject a bad page size before batching
    return toConnection(await ctx.loaders.snapshotPageByNode.load(snapshotPageKey(node.id, args)));
  },
  snapshotAsOf: (node, { date }, ctx) => ctx.loaders.snapshotAsOf.load(snapshotAsOfKey(node.id, date)),
};

export const PortfolioSnapshot: PortfolioSnapshotResolvers = {
  node: async (snapshot, _args, ctx) => (await ctx.loaders.nodeById.load(snapshot.portfolioNodeId))!,
  // null: not loaded with the row (see src/services/snapshots/queries.ts).
  payload: (snapshot, _args, ctx) => snapshot.payloadJson ?? ctx.loaders.snapshotPayloadById.load(snapshot.id),
};
