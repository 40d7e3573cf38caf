// Analytics: marketValue, exposure and fxRate. Thin: services compute.
import { computeExposure } from '../../services/analytics/exposure';
import { findFxRate } from '../../services/analytics/fx';
import { computeMarketValue } from '../../services/analytics/marketValue';
import type { ExposureBucketResolvers, FxRateResolvers, PortfolioNodeResolvers, QueryResolvers } from '../generated/resolvers';

export const analyticsQueries: Pick<QueryResolvers, 'fxRate'> = {
  fxRate: (_root, { base, quote, asOf }, ctx) => findFxRate(ctx.db.prisma, base, quote, asOf),
};

export const nodeAnalytics: Pick<PortfolioNodeResolvers, 'marketValue' | 'exposure'> = {
  marketValue: (node, { asOf, currency }, ctx) => computeMarketValue(ctx.db.prisma, node, asOf, currency, ctx.analytics),
  exposure: (node, args, ctx) => computeExposure(ctx.db.prisma, node, args, ctx.analytics),
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
