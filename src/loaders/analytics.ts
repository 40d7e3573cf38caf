// Per-request loaders of the analytics: the market values and exposures asked
// with the same date, currency and moment - of one node (a dashboard), of many
// (a level of a tree, every fund of portfolioRoots), in any mix - are one
// statement (computeViews; market values alone computeMarketValues'), and the
// holdings changes asked of many nodes with the same arguments one statement
// (computeHoldingsChanges), not one per node and figure.
import DataLoader from 'dataloader';
import type { Prisma } from '../db/database';
import type { AnalyticsCache } from '../services/analytics/cache';
import type { AnalyticsNode, ExposureArgs, ExposureResult } from '../services/analytics/exposure';
import { changeGroup, computeHoldingsChanges, type ChangePageRequest, type HoldingsChangePage } from '../services/analytics/holdingsChange';
import { computeMarketValues, type Money } from '../services/analytics/marketValue';
import { computeViews } from '../services/analytics/views';
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

/** The arguments a request shares with the same question asked of other nodes. */
const kindOf = (q: NodeAnalytics) => (q.kind === 'marketValue' ? `mv|${valueGroup(q.request)}` : `ex|${exposureGroup(q.request.args)}`);

/** What analytics share to be read in one statement, whatever their node: date, currency asked and moment. */
const viewGroup = (q: NodeAnalytics) => {
  const { asOf, currency, knownAt } = q.kind === 'marketValue' ? q.request : q.request.args;
  return JSON.stringify([isoDate(asOf), currency ?? null, knownAt ?? null]);
};

export function analyticsLoaders(prisma: Prisma, cache: AnalyticsCache) {
  const analytics = new DataLoader<NodeAnalytics, Money | ExposureResult, string>(async (asked) => {
    const results: (Money | ExposureResult | Error)[] = new Array(asked.length);
    // The figures asked with the same date, currency and moment - of one node (a dashboard: its value
    // and its tables by sector, country, currency...) or of many (every fund's value and exposure by
    // currency) - are one statement reading the positions once (computeViews). Market values alone
    // (a level of a tree) keep computeMarketValues' statement, which groups by node before root.
    const groups = new Map<string, number[]>();
    asked.forEach((q, i) => {
      const group = viewGroup(q);
      groups.set(group, [...(groups.get(group) ?? []), i]);
    });
    await Promise.all([...groups.values()].map(async (indices) => {
      const first = asked[indices[0]!]!;
      const { asOf, currency, knownAt } = first.kind === 'marketValue' ? first.request : first.request.args;
      const nodes = [...new Map(indices.map((i) => [asked[i]!.request.node.id, asked[i]!.request.node] as const)).values()];
      const values = indices.filter((i) => asked[i]!.kind === 'marketValue');
      if (values.length === indices.length) {
        const found = await computeMarketValues(prisma, values.map((i) => asked[i]!.request.node), asOf, currency, cache, knownAt ?? null);
        values.forEach((index, j) => {
          results[index] = found[j]!;
        });
        return;
      }
      // Every node computes every figure asked of any of them (the positions are read once; the
      // figures are groups of groups): one exposure per distinct set of arguments.
      const tables = [...new Map(indices.filter((i) => asked[i]!.kind === 'exposure')
        .map((i) => [kindOf(asked[i]!), (asked[i] as { request: ExposureRequest }).request.args] as const)).entries()];
      const found = await computeViews(prisma, nodes, { asOf, currency, knownAt: knownAt ?? null, marketValue: values.length > 0, exposures: tables.map(([, args]) => args) }, cache);
      const byNode = new Map(nodes.map((node, n) => [node.id, found[n]!]));
      for (const i of indices) {
        const q = asked[i]!;
        const views = byNode.get(q.request.node.id)!;
        results[i] = q.kind === 'marketValue' ? views.marketValue! : views.exposures[tables.findIndex(([kind]) => kind === kindOf(q))]!;
      }
    }));
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
