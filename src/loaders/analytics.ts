// Per-request loaders of the analytics: the market values, exposures and
// holdings changes asked of many nodes (a level of a tree, each desk of a fund)
// with the same arguments are one statement (computeMarketValues,
// computeExposures, computeHoldingsChanges), not one per node.
import DataLoader from 'dataloader';
import type { Prisma } from '../db/database';
import type { AnalyticsCache } from '../services/analytics/cache';
import { computeExposures, computeExposureViews, type AnalyticsNode, type ExposureArgs, type ExposureResult } from '../services/analytics/exposure';
import { changeGroup, computeHoldingsChanges, type ChangePageRequest, type HoldingsChangePage } from '../services/analytics/holdingsChange';
import { computeMarketValues, type Money } from '../services/analytics/marketValue';
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

/** What the exposures of one node share to be read in one statement: date, currency asked and moment. */
const viewGroup = (a: ExposureArgs) => JSON.stringify([isoDate(a.asOf), a.currency ?? null, a.knownAt ?? null]);

export function analyticsLoaders(prisma: Prisma, cache: AnalyticsCache) {
  const marketValue = new DataLoader<MarketValueRequest, Money, string>(async (requests) => {
    // One computation per (date, currency asked, moment): the nodes of a level share them.
    const groups = new Map<string, number[]>();
    requests.forEach((r, i) => {
      const group = `${isoDate(r.asOf)}|${r.currency ?? ''}|${r.knownAt ?? ''}`;
      groups.set(group, [...(groups.get(group) ?? []), i]);
    });
    const results: (Money | Error)[] = new Array(requests.length);
    await Promise.all([...groups.values()].map(async (indices) => {
      const first = requests[indices[0]!]!;
      const values = await computeMarketValues(prisma, indices.map((i) => requests[i]!.node), first.asOf, first.currency, cache, first.knownAt);
      indices.forEach((index, j) => {
        results[index] = values[j]!;
      });
    }));
    return results;
  }, { cacheKeyFn: (r) => `${r.node.id}|${isoDate(r.asOf)}|${r.currency ?? ''}|${r.knownAt ?? ''}` });
  const exposure = new DataLoader<ExposureRequest, ExposureResult, string>(async (requests) => {
    const results: (ExposureResult | Error)[] = new Array(requests.length);
    // Several exposures of one node with the same date, currency and moment (a dashboard's tables):
    // one statement reads its positions once for all of them (computeExposureViews).
    const views = new Map<string, number[]>();
    requests.forEach((r, i) => {
      const view = viewGroup(r.args);
      views.set(view, [...(views.get(view) ?? []), i]);
    });
    const rest: number[] = [];
    const together: number[][] = [];
    for (const indices of views.values()) {
      const nodes = new Set(indices.map((i) => requests[i]!.node.id));
      const kinds = new Set(indices.map((i) => exposureGroup(requests[i]!.args)));
      if (nodes.size === 1 && kinds.size > 1) together.push(indices);
      else rest.push(...indices);
    }
    // Else one computation per set of arguments: the nodes of a level share them.
    const groups = new Map<string, number[]>();
    for (const i of rest) {
      const group = exposureGroup(requests[i]!.args);
      groups.set(group, [...(groups.get(group) ?? []), i]);
    }
    await Promise.all([
      ...together.map(async (indices) => {
        const values = await computeExposureViews(prisma, requests[indices[0]!]!.node, indices.map((i) => requests[i]!.args), cache);
        indices.forEach((index, j) => {
          results[index] = values[j]!;
        });
      }),
      ...[...groups.values()].map(async (indices) => {
        const values = await computeExposures(prisma, indices.map((i) => requests[i]!.node), requests[indices[0]!]!.args, cache);
        indices.forEach((index, j) => {
          results[index] = values[j]!;
        });
      }),
    ]);
    return results;
  }, { cacheKeyFn: (r) => `${r.node.id}|${exposureGroup(r.args)}` });
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
