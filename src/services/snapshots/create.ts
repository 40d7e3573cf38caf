// createPortfolioSnapshot: build the content, hash it, store it once per node.
//
// Fast path: one statement reads the node's probe for the date (the content
// version and FX feed its snapshot was built from, src/services/snapshots/build.ts)
// next to the current ones; equal, and the stored snapshot answers at once,
// without reading the subtree (the dedup check stays fast at any size).
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
import { badInput, DomainError, notFound } from '../../errors';
import type { PortfolioSnapshot } from '../../generated/prisma/client';
import { isoDate, isUuid } from '../inputs';
import { compactContentChanges, contentVersion, fingerprintOf, readSnapshotContent } from './build';
import { fxCtes } from '../analytics/fxSql';
import { SNAPSHOT_COLUMNS } from './queries';
import { settledNow } from '../time/knownAt';

export interface SnapshotResult {
  snapshot: PortfolioSnapshot;
  /** False when the same content was already stored for the node (nothing was written). */
  created: boolean;
}

/**
 * A rebuild that read more content_change rows than this folds them (one more
 * statement, on a path that already reread the subtree): reading a version
 * never sums more than about this many rows, however many writes a fund sees.
 */
export const COMPACT_CONTENT_CHANGES_AFTER = 256;

type StoredSnapshot = Omit<PortfolioSnapshot, 'payloadJson'>;

function findByHash(prisma: Db, nodeId: string, hash: string): Promise<StoredSnapshot | null> {
  return prisma.portfolioSnapshot.findUnique({
    where: { portfolioNodeId_payloadHash: { portfolioNodeId: nodeId, payloadHash: hash } },
    omit: { payloadJson: true },
  });
}

/**
 * Inserts unless the node already stores this hash; the new row, or null when another insert won.
 * created_at is the moment the content was read as known at (knownAt), so that the same node and
 * date computed with knownAt = createdAt give this payload again.
 */
async function insertSnapshot(prisma: Db, nodeId: string, asOf: string, canonical: string, hash: string, knownAt: string): Promise<StoredSnapshot | null> {
  const rows = await prisma.$queryRaw<StoredSnapshot[]>`
    INSERT INTO portfolio_snapshot AS s (portfolio_node_id, as_of_date, payload_json, payload_hash, created_at)
    VALUES (${nodeId}::uuid, ${asOf}::date, ${canonical}::jsonb, ${hash}, ${knownAt}::timestamptz)
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
  /** When the request arrived (default now): the picture is as known then, or just before a write still in flight. */
  arrivedAt?: Date;
}

/**
 * Snapshots the node's subtree as of a date (any valid date, past or future).
 * The same content as a snapshot the node already has (whatever its date)
 * returns that snapshot with created = false. A node outside the caller's
 * funds is NOT_FOUND, as if it did not exist.
 */
export async function createSnapshot(prisma: Db, nodeIdArg: string, asOfDate: Date, options: SnapshotOptions = {}): Promise<SnapshotResult> {
  const { nodeId, asOf } = checkedArgs(nodeIdArg, asOfDate);
  const funds = options.funds ?? null;
  const unchanged = await probe(prisma, nodeId, asOf, funds);
  if (unchanged) return { snapshot: { ...unchanged, payloadJson: null }, created: false };
  const knownAt = await settledNow(prisma, options.arrivedAt ?? new Date());
  const read = await readSnapshotContent(prisma, nodeId, asOf, funds, knownAt);
  if (!read) {
    // Not found as known at the settled moment: missing (or not the caller's), or created after a long write
    // that is still in progress began - then the picture can be taken once that write has committed.
    const now = await prisma.portfolioNode.findFirst({ where: { id: nodeId, ...(funds === null ? {} : { fundId: { in: [...funds] } }) }, select: { id: true } });
    if (now) {
      throw new DomainError('CONFLICT', `Node ${nodeId} was recorded after a write still in progress began (before ${knownAt}); take the snapshot again once that write has committed`, 'nodeId');
    }
    throw notFound('nodeId', `No portfolio node with id ${JSON.stringify(nodeIdArg.slice(0, 64))}`);
  }
  const payload = snapshotPayload(read.content);
  const { canonical, hash } = hashSnapshotPayload(payload);
  // The payload read back would have the same content (same hash): answer with the one in hand.
  const withPayload = (row: StoredSnapshot, created: boolean): SnapshotResult => ({ snapshot: { ...row, payloadJson: payload }, created });
  const stored = await storeOnce(prisma, nodeId, asOf, canonical, hash, knownAt);
  await remember(prisma, nodeId, asOf, read.fingerprint, stored.row.id);
  if (read.changeRows > COMPACT_CONTENT_CHANGES_AFTER) await compactContentChanges(prisma, nodeId);
  return withPayload(stored.row, stored.created);
}

async function storeOnce(prisma: Db, nodeId: string, asOf: string, canonical: string, hash: string, knownAt: string): Promise<{ row: StoredSnapshot; created: boolean }> {
  const existing = await findByHash(prisma, nodeId, hash);
  if (existing) return { row: existing, created: false };
  const inserted = await insertSnapshot(prisma, nodeId, asOf, canonical, hash, knownAt);
  if (inserted) return { row: inserted, created: true };
  const winner = await findByHash(prisma, nodeId, hash);
  if (!winner) throw new Error(`snapshot ${hash} of node ${nodeId} conflicted on insert but cannot be read`);
  return { row: winner, created: false };
}

/**
 * The node's stored snapshot for the date when nothing it shows can have changed since it was
 * built (same content version, same FX feed), else null. A node outside `funds` finds nothing.
 */
async function probe(prisma: Db, nodeId: string, asOf: string, funds: readonly string[] | null): Promise<StoredSnapshot | null> {
  const scope = funds === null ? null : [...funds];
  const rows = await prisma.$queryRaw<(StoredSnapshot & { fingerprint: string; changes: string; feed: string | null })[]>`
    WITH ${fxCtes(asOf, 'USD')}
    SELECT ${SNAPSHOT_COLUMNS}, pr.fingerprint, ${contentVersion(nodeId)} AS changes, (SELECT id::text FROM fx_feed) AS feed
    FROM snapshot_probe pr
    JOIN portfolio_node n ON n.id = pr.portfolio_node_id
    JOIN portfolio_snapshot s ON s.id = pr.snapshot_id
    WHERE pr.portfolio_node_id = ${nodeId}::uuid AND pr.as_of_date = ${asOf}::date
      AND (${scope}::uuid[] IS NULL OR n.fund_id = ANY (${scope}::uuid[]))`;
  const row = rows[0];
  if (!row || row.fingerprint !== fingerprintOf(row.changes, row.feed)) return null;
  const { fingerprint: _f, changes: _c, feed: _d, ...snapshot } = row;
  return snapshot;
}

/** Records which content version the node's snapshot for the date came from. */
async function remember(prisma: Db, nodeId: string, asOf: string, fingerprint: string, snapshotId: string): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO snapshot_probe (portfolio_node_id, as_of_date, fingerprint, snapshot_id)
    VALUES (${nodeId}::uuid, ${asOf}::date, ${fingerprint}, ${snapshotId}::uuid)
    ON CONFLICT (portfolio_node_id, as_of_date)
    DO UPDATE SET fingerprint = EXCLUDED.fingerprint, snapshot_id = EXCLUDED.snapshot_id, updated_at = now()`;
}
