// Subscriptions (live updates, over WebSocket: src/graphql/websocket.ts).
// Thin: each subscribe checks that the caller may see what it asks for, as
// the HTTP query would (the caller's loaders are scoped to their funds;
// NOT_FOUND otherwise), then takes a stream from the process's LiveHub
// (src/live/hub.ts). Each event is resolved with fresh loaders (renewForEvent).
import { renewForEvent, type Context } from '../../context';
import { DomainError, notFound } from '../../errors';
import type { ExposureUpdate } from '../../live/exposures';
import type { LiveHub } from '../../live/hub';
import type { PortfolioChangeEvent } from '../../live/portfolioChanges';
import { checkTop } from '../../services/analytics/exposure';
import type { IngestionBatch, MarketDataFeed } from '../../generated/prisma/client';
import type { PortfolioChangeResolvers, SubscriptionResolvers } from '../generated/resolvers';

function hubOf(ctx: Context): LiveHub {
  if (!ctx.live) throw new DomainError('INTERNAL_SERVER_ERROR', 'Live updates are not available on this instance: it has no database listener');
  return ctx.live;
}

const idKey = (id: string) => id.trim().toLowerCase();

/** The node, if the caller may see it (NOT_FOUND otherwise, as for a node that does not exist). */
async function visibleNode(ctx: Context, nodeId: string) {
  const node = await ctx.loaders.nodeById.load(idKey(nodeId));
  if (!node) throw notFound('nodeId', `No portfolio node ${nodeId}`);
  return node;
}

/** Each event of a subscription: fresh loaders, then the value. */
const eachEvent = <T>(value: T, ctx: Context): T => {
  renewForEvent(ctx);
  return value;
};

export const subscriptionRoots: SubscriptionResolvers = {
  portfolioChanged: {
    subscribe: async (_root, { nodeId }, ctx) => {
      const hub = hubOf(ctx);
      return hub.portfolio.watch(await visibleNode(ctx, nodeId));
    },
    resolve: (change: PortfolioChangeEvent, _args: unknown, ctx: Context) => eachEvent(change, ctx),
  },
  liveExposure: {
    subscribe: async (_root, { nodeId, dimension, currency, lookThrough, top }, ctx) => {
      const hub = hubOf(ctx);
      checkTop(top);
      const node = await visibleNode(ctx, nodeId);
      return hub.exposures.watch({ nodeId: node.id, fundId: node.fundId, dimension, currency: currency ?? null, lookThrough: lookThrough ?? false, top: top ?? null });
    },
    resolve: (update: ExposureUpdate, _args: unknown, ctx: Context) => {
      renewForEvent(ctx);
      if ('error' in update) throw update.error;
      return update.exposure;
    },
  },
  marketDataFeedIngested: {
    subscribe: (_root, { feedType }, ctx) => hubOf(ctx).feedsIngested(feedType ?? null),
    resolve: (feed: MarketDataFeed, _args: unknown, ctx: Context) => eachEvent(feed, ctx),
  },
  ingestionBatchProgress: {
    subscribe: async (_root, { id }, ctx) => {
      const hub = hubOf(ctx);
      const batch = await ctx.loaders.ingestionBatchById.load(idKey(id));
      if (!batch) throw notFound('id', `No ingestion batch ${id}`);
      return hub.batchProgress(batch, ctx.caller);
    },
    resolve: (batch: IngestionBatch, _args: unknown, ctx: Context) => eachEvent(batch, ctx),
  },
};

export const PortfolioChange: PortfolioChangeResolvers = {
  node: async (change, _args, ctx) => visibleNode(ctx, change.nodeId),
};
