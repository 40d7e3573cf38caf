// Portfolio snapshots: createPortfolioSnapshot, the snapshot queries and fields (being implemented).
import type { MutationResolvers, PortfolioNodeResolvers, PortfolioSnapshotResolvers, QueryResolvers } from '../generated/resolvers';

export const snapshotQueries: Pick<QueryResolvers, never> = {};
export const snapshotMutations: Pick<MutationResolvers, never> = {};
export const nodeSnapshots: Pick<PortfolioNodeResolvers, never> = {};
export const PortfolioSnapshot: PortfolioSnapshotResolvers = {};
