// Analytics: marketValue, exposure and fxRate. Thin: services compute.
import { getNamedType, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { fieldsUnder, memo } from '../selection';
import { getArgumentValues } from 'graphql/execution/values';
import { checkTop } from '../../services/analytics/exposure';
import { holdingsChange } from '../../services/analytics/holdingsChange';
import { isoDate } from '../../services/inputs';
import { toConnection } from '../connection';
import { findFxRate } from '../../services/analytics/fx';
import type { ExposureBucketResolvers, FxRateResolvers, HoldingsChangeResolvers, PortfolioNodeResolvers, PositionChangeResolvers, QueryResolvers } from '../generated/resolvers';

export const analyticsQueries: Pick<QueryResolvers, 'fxRate'> = {
  fxRate: async (_root, { base, quote, asOf, knownAt }, ctx) =>
    findFxRate(ctx.db.prisma, base, quote, asOf, await ctx.clock.knownAt(knownAt), async (key) => {
      const found = await ctx.loaders.fxFeedAt.load(key);
      // The feed as read with its rates: FxRate.feed needs no other statement.
      if (found) ctx.loaders.feedById.prime(found.feed.id, found.feed);
      return found;
    }),
};

export const nodeAnalytics: Pick<PortfolioNodeResolvers, 'marketValue' | 'exposure' | 'holdingsChange'> = {
  // Batched: the nodes of a level asking the same date, currency and moment share one statement.
  marketValue: async (node, { asOf, currency, knownAt }, ctx) =>
    ctx.loaders.marketValue.load({ node, asOf, currency, knownAt: await ctx.clock.knownAt(knownAt) }),
  exposure: async (node, args, ctx) => {
    checkTop(args.top); // refused before batching, like any bad argument
    return ctx.loaders.exposure.load({ node, args: { ...args, knownAt: await ctx.clock.knownAt(args.knownAt) } });
  },
  holdingsChange: async (node, { from, to, currency }, ctx, info) => {
    const point = async (p: { asOf: Date; knownAt?: Date | null }, field: string) => ({
      asOf: isoDate(p.asOf), knownAt: await ctx.clock.knownAt(p.knownAt, `${field}.knownAt`),
    });
    const result = holdingsChange(ctx.db.prisma, node, await point(from, 'from'), await point(to, 'to'), currency, (r) => ctx.loaders.holdingsChange.load(r));
    return { ...result, totalsPage: firstChangesPage(info) };
  },
};

/**
 * The `changes` page a HoldingsChange selection asks for first (through fragments and aliases too):
 * its totals come from the same statement. Without one, the totals alone (a page of none).
 */
function firstChangesPage(info: GraphQLResolveInfo): { first?: number | null; after?: string | null } {
  return memo(info, 'firstChangesPage', () => {
    const definition = (getNamedType(info.returnType) as GraphQLObjectType).getFields().changes;
    const changes = fieldsUnder(info.fieldNodes.map((n) => n.selectionSet), info.fragments).find((f) => f.name.value === 'changes');
    if (!changes || !definition) return { first: 0 };
    return getArgumentValues(definition, changes, info.variableValues) as { first?: number; after?: string };
  });
}

export const HoldingsChange: HoldingsChangeResolvers = {
  marketValueFrom: async (change) => (await change.load(change.totalsPage?.first, change.totalsPage?.after)).marketValueFrom,
  marketValueTo: async (change) => (await change.load(change.totalsPage?.first, change.totalsPage?.after)).marketValueTo,
  changes: async (change, { first, after }) => toConnection((await change.load(first, after)).changes),
};

export const PositionChange: PositionChangeResolvers = {
  position: (change, _args, ctx) => ctx.loaders.positionById.load(change.positionId).then((p) => p!),
};

export const ExposureBucket: ExposureBucketResolvers = {
  label: async (bucket, _args, ctx) => {
    if (bucket.label) return bucket.label;
    if (bucket.dimension === 'CHILD') return (await ctx.loaders.nodeById.load(bucket.key))?.name ?? bucket.key;
    return (await ctx.loaders.referenceById.load(bucket.key))?.name ?? bucket.key;
  },
  entity: (bucket, _args, ctx) => {
    if (bucket.dimension === 'CURRENCY' && bucket.key !== 'OTHER') return ctx.loaders.currencyEntityByCode.load(bucket.key);
    return bucket.entityId ? ctx.loaders.referenceById.load(bucket.entityId) : null;
  },
};

export const FxRate: FxRateResolvers = {
  feed: (rate, _args, ctx) => (rate.feedId ? ctx.loaders.feedById.load(rate.feedId) : null),
};
