// Per-request loaders of the snapshots domain. Every batch is one statement:
// snapshots and payloads by id, the snapshot in force for (node, date) keys
// (all dates together), and pages of many nodes' snapshots per set of
// field arguments.
import DataLoader from 'dataloader';
import type { Prisma } from '../db/database';
import type { PortfolioSnapshot } from '../generated/prisma/client';
import { isoDate } from '../services/inputs';
import type { Page } from '../services/pagination';
import { findSnapshotPayloads, findSnapshotsAsOf, findSnapshotsByIds, snapshotPages, type SnapshotPageArgs } from '../services/snapshots/queries';
import { byKey, rowLoader } from './keyed';

type Payload = PortfolioSnapshot['payloadJson'];

/** Key of snapshotPageByNode: the node and the field arguments (dates as YYYY-MM-DD). */
export const snapshotPageKey = (nodeId: string, args: SnapshotPageArgs) =>
  `${nodeId}|${JSON.stringify([args.from ? isoDate(args.from) : null, args.to ? isoDate(args.to) : null, args.first ?? null, args.after ?? null])}`;

/** Key of snapshotAsOf. */
export const snapshotAsOfKey = (nodeId: string, date: Date) => `${nodeId}|${isoDate(date)}`;

const splitKey = (key: string): [string, string] => {
  const at = key.indexOf('|');
  return [key.slice(0, at), key.slice(at + 1)];
};

function pageArgs(json: string): SnapshotPageArgs {
  const [from, to, first, after] = JSON.parse(json) as [string | null, string | null, number | null, string | null];
  const date = (d: string | null) => (d === null ? null : new Date(`${d}T00:00:00Z`));
  return { from: date(from), to: date(to), first, after };
}

export function snapshotLoaders(prisma: Prisma) {
  const snapshotById = rowLoader((ids: readonly string[]) => findSnapshotsByIds(prisma, ids), (s) => s.id);

  const snapshotPayloadById = new DataLoader<string, Payload>(async (ids) =>
    byKey(ids, await findSnapshotPayloads(prisma, ids), (s) => s.id).map((row) => row?.payloadJson ?? null));

  const snapshotAsOf = new DataLoader<string, PortfolioSnapshot | null>(async (keys) => {
    const found = await findSnapshotsAsOf(prisma, keys.map((key) => {
      const [nodeId, date] = splitKey(key);
      return { nodeId, date };
    }));
    for (const snapshot of found) if (snapshot) snapshotById.prime(snapshot.id, snapshot);
    return found;
  });

  // Keys with the same field arguments share one statement.
  const snapshotPageByNode = new DataLoader<string, Page<PortfolioSnapshot>>(async (keys) => {
    const groups = new Map<string, string[]>();
    for (const key of keys) {
      const [nodeId, args] = splitKey(key);
      groups.set(args, [...(groups.get(args) ?? []), nodeId]);
    }
    const pages = new Map<string, Page<PortfolioSnapshot>>();
    await Promise.all([...groups].map(async ([args, nodeIds]) => {
      const found = await snapshotPages(prisma, nodeIds, pageArgs(args));
      for (const [nodeId, page] of found) pages.set(`${nodeId}|${args}`, page);
    }));
    return keys.map((key) => pages.get(key) ?? new Error(`no snapshot page for ${key}`));
  });

  return {
    snapshotById,
    /** The stored payload of a snapshot (lists and lookups leave it out). */
    snapshotPayloadById,
    /** Key: snapshotAsOfKey(nodeId, date). */
    snapshotAsOf,
    /** Key: snapshotPageKey(nodeId, args). */
    snapshotPageByNode,
  };
}
