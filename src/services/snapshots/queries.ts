// Reads of stored snapshots, each batched for many keys in one statement.
// Payloads can be megabytes (one entry per position of a fund), so lists and
// lookups leave them out: their rows carry payloadJson = null, meaning "not
// loaded" (a stored payload is always a JSON object), and the payload field
// loads it by id only when a client asks for it.
import type { Prisma as Db } from '../../db/database';
import { Prisma, type PortfolioSnapshot } from '../../generated/prisma/client';
import { badInput } from '../../errors';
import { isoDate, isUuid, validIds } from '../inputs';
import { decodeCursor, pageFrom, pageSize, type Page, type PageArgs } from '../pagination';

/** Columns of portfolio_snapshot `s` under the model's names, without the payload. */
export const SNAPSHOT_COLUMNS = Prisma.raw(
  `s.id, s.portfolio_node_id AS "portfolioNodeId", s.as_of_date AS "asOfDate", s.payload_hash AS "payloadHash", s.created_at AS "createdAt"`,
);

// Everything but the payload (which is TOASTed and never needed to pick rows).
const LATERAL_COLUMNS = Prisma.raw('p.id, p.portfolio_node_id, p.as_of_date, p.payload_hash, p.created_at');

type StoredSnapshot = Omit<PortfolioSnapshot, 'payloadJson'>;
const withoutPayload = <T extends StoredSnapshot>(row: T): T & { payloadJson: null } => ({ ...row, payloadJson: null });

export async function findSnapshotsByIds(prisma: Db, ids: readonly string[]): Promise<PortfolioSnapshot[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return [];
  const rows = await prisma.portfolioSnapshot.findMany({ where: { id: { in: valid } }, omit: { payloadJson: true } });
  return rows.map(withoutPayload);
}

export function findSnapshotPayloads(prisma: Db, ids: readonly string[]): Promise<Pick<PortfolioSnapshot, 'id' | 'payloadJson'>[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return Promise.resolve([]);
  return prisma.portfolioSnapshot.findMany({ where: { id: { in: valid } }, select: { id: true, payloadJson: true } });
}

export interface SnapshotAsOfKey {
  nodeId: string;
  /** 'YYYY-MM-DD'. */
  date: string;
}

/**
 * For each (node, date), the node's latest snapshot dated on or before the
 * date (newest stored first on the same date, then by id), or null. One
 * backward probe of (portfolio_node_id, as_of_date DESC) per key.
 */
export async function findSnapshotsAsOf(prisma: Db, keys: readonly SnapshotAsOfKey[]): Promise<(PortfolioSnapshot | null)[]> {
  const asked = keys.filter((k) => isUuid(k.nodeId));
  if (asked.length === 0) return keys.map(() => null);
  const rows = await prisma.$queryRaw<(StoredSnapshot & { n: number })[]>`
    SELECT k.n::int AS n, ${SNAPSHOT_COLUMNS}
    FROM unnest(${asked.map((k) => k.nodeId)}::uuid[], ${asked.map((k) => k.date)}::date[]) WITH ORDINALITY AS k(node_id, d, n)
    CROSS JOIN LATERAL (
      SELECT ${LATERAL_COLUMNS} FROM portfolio_snapshot p
      WHERE p.portfolio_node_id = k.node_id AND p.as_of_date <= k.d
      ORDER BY p.as_of_date DESC, p.created_at DESC, p.id
      LIMIT 1
    ) s`;
  const found = new Map(rows.map(({ n, ...row }) => [asked[n - 1], withoutPayload(row)]));
  return keys.map((key) => found.get(key) ?? null);
}

export interface SnapshotPageArgs extends PageArgs {
  from?: Date | null;
  to?: Date | null;
}

/** A page row with the full-precision created_at of its cursor (a JS Date keeps only milliseconds). */
interface PageRow extends StoredSnapshot {
  owner: string;
  total: number;
  createdKey: string | null;
}

const CURSOR_SHAPE = ['date', 'timestamp', 'uuid'] as const;
const CREATED_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function afterKey(after: string | null | undefined): [string, string, string] | null {
  const key = decodeCursor(after, CURSOR_SHAPE) as [string, string, string] | null;
  if (key && !(/^\d{4}-\d{2}-\d{2}$/.test(key[0]) && CREATED_KEY.test(key[1]) && isUuid(key[2]))) {
    throw badInput('after', 'after is not a cursor returned by this list');
  }
  return key;
}

/**
 * One page of each node's snapshots, newest as-of date first, then newest
 * stored, then id (cursor: [asOfDate, createdAt to the microsecond, id]), with
 * each node's total, in one statement: per node a count and a keyset scan of
 * (portfolio_node_id, as_of_date DESC) limited to first + 1 rows.
 */
export async function snapshotPages(prisma: Db, nodeIds: readonly string[], args: SnapshotPageArgs): Promise<Map<string, Page<PortfolioSnapshot>>> {
  const first = pageSize(args.first);
  const after = afterKey(args.after);
  const [afterDate, afterCreated, afterId] = after ?? [null, null, null];
  const from = args.from ? isoDate(args.from) : null;
  const to = args.to ? isoDate(args.to) : null;
  const ids = validIds(nodeIds);
  const inRange = Prisma.sql`p.portfolio_node_id = k.id
    AND (${from}::date IS NULL OR p.as_of_date >= ${from}::date) AND (${to}::date IS NULL OR p.as_of_date <= ${to}::date)`;
  const rows = ids.length === 0 ? [] : await prisma.$queryRaw<PageRow[]>`
    SELECT k.id AS owner, t.total, ${SNAPSHOT_COLUMNS},
           to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdKey"
    FROM unnest(${ids}::uuid[]) AS k(id)
    CROSS JOIN LATERAL (SELECT count(*)::int AS total FROM portfolio_snapshot p WHERE ${inRange}) t
    LEFT JOIN LATERAL (
      SELECT ${LATERAL_COLUMNS} FROM portfolio_snapshot p
      WHERE ${inRange} AND (${afterDate}::date IS NULL OR p.as_of_date < ${afterDate}::date
        OR (p.as_of_date = ${afterDate}::date AND (p.created_at < ${afterCreated}::timestamptz
          OR (p.created_at = ${afterCreated}::timestamptz AND p.id > ${afterId}::uuid))))
      ORDER BY p.as_of_date DESC, p.created_at DESC, p.id
      LIMIT ${first + 1}
    ) s ON true
    ORDER BY k.id, s.as_of_date DESC, s.created_at DESC, s.id`;
  return pagesByNode(nodeIds, rows, first, after);
}

function pagesByNode(nodeIds: readonly string[], rows: PageRow[], first: number, after: unknown): Map<string, Page<PortfolioSnapshot>> {
  const byOwner = new Map<string, { rows: (PortfolioSnapshot & { createdKey: string })[]; total: number }>();
  for (const { owner, total, createdKey, ...row } of rows) {
    const entry = byOwner.get(owner) ?? { rows: [], total };
    if (row.id && createdKey) entry.rows.push({ ...withoutPayload(row), createdKey });
    byOwner.set(owner, entry);
  }
  const pages = new Map<string, Page<PortfolioSnapshot>>();
  for (const id of nodeIds) {
    const entry = byOwner.get(id) ?? { rows: [], total: 0 };
    pages.set(id, pageFrom(entry.rows, first, entry.total, after, (s) => [isoDate(s.asOfDate), s.createdKey, s.id]));
  }
  return pages;
}
