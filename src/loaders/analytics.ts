// Per-request loaders of the analytics: the market values, exposures and
// holdings changes asked of many nodes (a level of a tree, each desk of a fund)
// with the same arguments are one statement (computeMarketValues,
// computeExposures, computeHoldingsChanges), not one per node; the market value
// and exposures asked of one node alone with the same date, currency and moment
// (a dashboard) are one statement (computeNodeViews).
import DataLoader from 'dataloader';
import type { Prisma } from '../db/database';
import type { AnalyticsCache } from '../services/analytics/cache';
import { computeExposures, type AnalyticsNode, type ExposureArgs, type ExposureResult } from '../services/analytics/exposure';
import { changeGroup, computeHoldingsChanges, type ChangePageRequest, type HoldingsChangePage } from '../services/analytics/holdingsChange';
import { computeMarketValues, type Money } from '../services/analytics/marketValue';
import { computeNodeViews } from '../services/analytics/views';
import { isoDate } from '../services/inputs';
import type { KnownAt } from '../services/time/knownAt';

export interface MarketValueRequest {
  node: AnalyticsNode;
  asOf: Date;
  currency?: string | null;
  knownAt: KnownAt;
}

export interface ExposureRequest {
  node: AnalyticsNode;
  /** knownAt settled. */
  args: ExposureArgs;
}

const exposureGroup = (a: ExposureArgs) =>
  JSON.stringify([a.dimension, isoDate(a.asOf), a.currency ?? null, a.lookThrough ?? false, a.top ?? null, a.knownAt ?? null]);

const valueGroup = (r: MarketValueRequest) => `${isoDate(r.asOf)}|${r.currency ?? ''}|${r.knownAt ?? ''}`;

/** A market value or an exposure of a node: what the analytics loader batches together. */
type NodeAnalytics = { kind: 'marketValue'; request: MarketValueRequest } | { kind: 'exposure'; request: ExposureRequest };

/** The arguments a request shares with the same question asked of other nodes (one statement per kind for them all). */
const kindOf = (q: NodeAnalytics) => (q.kind === 'marketValue' ? `mv|${valueGroup(q.request)}` : `ex|${exposureGroup(q.request.args)}`);

/** What the analytics of one node share to be read in one statement: date, currency asked and moment. */
const viewGroup = (q: NodeAnalytics) => {
  const { asOf, currency, knownAt } = q.kind === 'marketValue' ? q.request : q.request.args;
  return JSON.stringify([q.request.node.id, isoDate(asOf), currency ?? null, knownAt ?? null]);
};

export function analyticsLoaders(prisma: Prisma, cache: AnalyticsCache) {
  const analytics = new DataLoader<NodeAnalytics, Money | ExposureResult, string>(async (asked) => {
    const results: (Money | ExposureResult | Error)[] = new Array(asked.length);
    // A node asked several of them with the same date, currency and moment (a dashboard: its value
    // and its tables by sector, country, currency...): one statement reads its positions once for
    // all (computeNodeViews) - unless the same are asked of other nodes too, which batch by kind.
    const views = new Map<string, number[]>();
    asked.forEach((q, i) => {
      const view = viewGroup(q);
      views.set(view, [...(views.get(view) ?? []), i]);
    });
    const byKind = new Map<string, number>();
    for (const q of asked) byKind.set(kindOf(q), (byKind.get(kindOf(q)) ?? 0) + 1);
    const together: number[][] = [];
    const values: number[] = [];
    const exposures: number[] = [];
    for (const indices of views.values()) {
      // Together when the node asks more than one and no other node asks the same (a level of a tree
      // asking each node one figure is one statement per kind for the whole level).
      if (indices.length > 1 && indices.every((i) => byKind.get(kindOf(asked[i]!)) === 1)) together.push(indices);
      else for (const i of indices) (asked[i]!.kind === 'marketValue' ? values : exposures).push(i);
    }
    const groupsOf = (indices: number[], key: (i: number) => string) => {
      const groups = new Map<string, number[]>();
      for (const i of indices) groups.set(key(i), [...(groups.get(key(i)) ?? []), i]);
      return [...groups.values()];
    };
    const valueRequest = (i: number) => (asked[i] as { request: MarketValueRequest }).request;
    const exposureRequest = (i: number) => (asked[i] as { request: ExposureRequest }).request;
    await Promise.all([
      ...together.map(async (indices) => {
        const value = indices.find((i) => asked[i]!.kind === 'marketValue');
        const tables = indices.filter((i) => asked[i]!.kind === 'exposure');
        const first = asked[indices[0]!]!;
        const { asOf, currency, knownAt } = first.kind === 'marketValue' ? first.request : first.request.args;
        const found = await computeNodeViews(prisma, first.request.node,
          { asOf, currency, knownAt: knownAt ?? null, marketValue: value !== undefined, exposures: tables.map((i) => exposureRequest(i).args) }, cache);
        if (value !== undefined) results[value] = found.marketValue!;
        tables.forEach((index, j) => {
          results[index] = found.exposures[j]!;
        });
      }),
      // One market value computation per (date, currency asked, moment): the nodes of a level share them.
      ...groupsOf(values, (i) => valueGroup(valueRequest(i))).map(async (indices) => {
        const first = valueRequest(indices[0]!);
        const found = await computeMarketValues(prisma, indices.map((i) => valueRequest(i).node), first.asOf, first.currency, cache, first.knownAt);
        indices.forEach((index, j) => {
          results[index] = found[j]!;
        });
      }),
      // One exposure computation per set of arguments: the nodes of a level share them.
      ...groupsOf(exposures, (i) => exposureGroup(exposureRequest(i).args)).map(async (indices) => {
        const found = await computeExposures(prisma, indices.map((i) => exposureRequest(i).node), exposureRequest(indices[0]!).args, cache);
        indices.forEach((index, j) => {
          results[index] = found[j]!;
        });
      }),
    ]);
    return results;
  }, { cacheKeyFn: (q) => `${q.request.node.id}|${kindOf(q)}` });
  const marketValue = { load: (request: MarketValueRequest) => analytics.load({ kind: 'marketValue', request }) as Promise<Money> };
  const exposure = { load: (request: ExposureRequest) => analytics.load({ kind: 'exposure', request }) as Promise<ExposureResult> };
  const holdingsChange = new DataLoader<ChangePageRequest, HoldingsChangePage, string>(async (requests) => {
    // One statement per change asked (points, page, cursor): the nodes of a level share it.
    const groups = new Map<string, number[]>();
    requests.forEach((r, i) => {
      const group = changeGroup(r);
      groups.set(group, [...(groups.get(group) ?? []), i]);
    });
    const results: (HoldingsChangePage | Error)[] = new Array(requests.length);
    await Promise.all([...groups.values()].map(async (indices) => {
      const pages = await computeHoldingsChanges(prisma, indices.map((i) => requests[i]!));
      indices.forEach((index, j) => {
        results[index] = pages[j]!;
      });
    }));
    return results;
  }, { cacheKeyFn: (r) => `${r.node.id}|${r.reporting}|${changeGroup(r)}` });
  return { marketValue, exposure, holdingsChange };
}
