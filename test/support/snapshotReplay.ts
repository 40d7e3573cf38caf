// Snapshots are pictures as known when made (issue 12): the payload of every
// snapshot a test created must equal what the same node and date give with
// knownAt = its createdAt. Every test database checks this for all of its
// snapshots before it is dropped (test/support/testDatabase.ts), so each test
// that creates snapshots - whatever it writes afterwards - tests the rule.
import type { Database } from '../../src/db/database';
import { hashSnapshotPayload, snapshotPayload } from '../../src/domain/snapshot';
import { readSnapshotContent } from '../../src/services/snapshots/build';

/** The snapshots whose payload differs from the one recomputed at their createdAt ("id: stored != recomputed"). */
export async function unreproducibleSnapshots(db: Database): Promise<string[]> {
  const exists = await db.sql.query<{ ok: boolean }>(`SELECT to_regclass('portfolio_snapshot') IS NOT NULL AND to_regclass('portfolio_node_version') IS NOT NULL AS ok`);
  if (!exists[0]?.ok) return [];
  const snapshots = await db.sql.query<{ id: string; node: string; asof: string; hash: string; created: Date }>(
    `SELECT id::text AS id, portfolio_node_id::text AS node, to_char(as_of_date, 'YYYY-MM-DD') AS asof, payload_hash AS hash, created_at AS created
     FROM portfolio_snapshot ORDER BY created_at`,
  );
  const problems: string[] = [];
  for (const s of snapshots) {
    const read = await readSnapshotContent(db.prisma, s.node, s.asof, null, s.created.toISOString());
    const hash = read ? hashSnapshotPayload(snapshotPayload(read.content)).hash : 'node not found';
    if (hash !== s.hash) problems.push(`${s.id} (node ${s.node}, ${s.asof}, created ${s.created.toISOString()}): stored ${s.hash}, recomputed ${hash}`);
  }
  return problems;
}

/** Throws when a snapshot cannot be reproduced at its createdAt. */
export async function checkSnapshotsReproducible(db: Database): Promise<void> {
  const problems = await unreproducibleSnapshots(db);
  if (problems.length > 0) {
    throw new Error(`${problems.length} snapshot(s) differ from their content recomputed with knownAt = createdAt:\n${problems.slice(0, 5).join('\n')}`);
  }
}
