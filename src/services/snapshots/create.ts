// createPortfolioSnapshot: build the content, hash it, store it once per node.
//
// Statements: 1 (content) + 1 (is this hash stored for the node?) when the
// content exists - nothing is written and the payload is never sent back to
// the database; + 1 (INSERT) when it is new. Concurrent identical requests
// all pass the check, then race on the unique key (portfolio_node_id,
// payload_hash): INSERT ... ON CONFLICT DO NOTHING lets exactly one insert (a
// loser waits for the winner's commit, then does nothing) and the losers read
// the winner's row back (a 4th statement) - one row, no error, every caller
// gets its id. No transaction is needed: each statement stands alone.
import type { Prisma as Db } from '../../db/database';
import { hashSnapshotPayload, snapshotPayload } from '../../domain/snapshot';
import { badInput, notFound } from '../../errors';
import type { PortfolioSnapshot } from '../../generated/prisma/client';
import { isoDate, isUuid } from '../inputs';
import { readSnapshotContent } from './build';
import { SNAPSHOT_COLUMNS } from './queries';

export interface SnapshotResult {
  snapshot: PortfolioSnapshot;
  /** False when the same content was already stored for the node (nothing was written). */
  created: boolean;
}

type StoredSnapshot = Omit<PortfolioSnapshot, 'payloadJson'>;

function findByHash(prisma: Db, nodeId: string, hash: string): Promise<StoredSnapshot | null> {
  return prisma.portfolioSnapshot.findUnique({
    where: { portfolioNodeId_payloadHash: { portfolioNodeId: nodeId, payloadHash: hash } },
    omit: { payloadJson: true },
  });
}

/** Inserts unless the node already stores this hash; the new row, or null when another insert won. */
async function insertSnapshot(prisma: Db, nodeId: string, asOf: string, canonical: string, hash: string): Promise<StoredSnapshot | null> {
  const rows = await prisma.$queryRaw<StoredSnapshot[]>`
    INSERT INTO portfolio_snapshot AS s (portfolio_node_id, as_of_date, payload_json, payload_hash)
    VALUES (${nodeId}::uuid, ${asOf}::date, ${canonical}::jsonb, ${hash})
    ON CONFLICT (portfolio_node_id, payload_hash) DO NOTHING
    RETURNING ${SNAPSHOT_COLUMNS}`;
  return rows[0] ?? null;
}

function checkedArgs(nodeId: string, asOfDate: Date): { nodeId: string; asOf: string } {
  if (!(asOfDate instanceof Date) || Number.isNaN(asOfDate.getTime())) throw badInput('asOfDate', 'asOfDate must be a calendar date');
  const id = nodeId.trim().toLowerCase();
  if (!isUuid(id)) throw notFound('nodeId', `No portfolio node with id ${JSON.stringify(nodeId.slice(0, 64))}`);
  return { nodeId: id, asOf: isoDate(asOfDate) };
}

export interface SnapshotOptions {
  /** The FUND ids whose nodes the caller may snapshot; null or absent: every fund. */
  funds?: readonly string[] | null;
}

/**
 * Snapshots the node's subtree as of a date (any valid date, past or future).
 * The same content as a snapshot the node already has (whatever its date)
 * returns that snapshot with created = false. A node outside the caller's
 * funds is NOT_FOUND, as if it did not exist.
 */
export async function createSnapshot(prisma: Db, nodeIdArg: string, asOfDate: Date, options: SnapshotOptions = {}): Promise<SnapshotResult> {
  const { nodeId, asOf } = checkedArgs(nodeIdArg, asOfDate);
  const content = await readSnapshotContent(prisma, nodeId, asOf, options.funds ?? null);
  if (!content) throw notFound('nodeId', `No portfolio node with id ${JSON.stringify(nodeIdArg.slice(0, 64))}`);
  const payload = snapshotPayload(content);
  const { canonical, hash } = hashSnapshotPayload(payload);
  // The payload read back would have the same content (same hash): answer with the one in hand.
  const withPayload = (row: StoredSnapshot, created: boolean): SnapshotResult => ({ snapshot: { ...row, payloadJson: payload }, created });
  const existing = await findByHash(prisma, nodeId, hash);
  if (existing) return withPayload(existing, false);
  const inserted = await insertSnapshot(prisma, nodeId, asOf, canonical, hash);
  if (inserted) return withPayload(inserted, true);
  const winner = await findByHash(prisma, nodeId, hash);
  if (!winner) throw new Error(`snapshot ${hash} of node ${nodeId} conflicted on insert but cannot be read`);
  return withPayload(winner, false);
}
