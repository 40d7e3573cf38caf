// Reads of ingestion batches and their lineage. Batches are listed newest
// first (started_at DESC, then id DESC) with a keyset cursor; the cursor keeps
// started_at to the microsecond, as stored, since a JavaScript Date would
// round it to the millisecond and skip or repeat batches started in the same one.
import type { Caller } from '../../auth/caller';
import type { Prisma as Db } from '../../db/database';
import { Prisma } from '../../generated/prisma/client';
import type { DataLineage, IngestionBatch } from '../../generated/prisma/client';
import { badInput } from '../../errors';
import { driverQuery, epochMs, instantOf, prismaRead } from '../../db/driverRows';
import { isUuid, validIds } from '../inputs';
import type { Read } from '../portfolio/nodes';
import { decodeCursor, pageFrom, pageSize, rowsAndTotal, withTotal, type Page, type PageArgs } from '../pagination';

/**
 * Who may see a batch (SQL on alias b): every caller of all funds; otherwise a
 * caller entitled to every fund its rows named - and, for a batch that named
 * none (every row refused), only the caller who sent it. A batch never reveals
 * another fund's nodes. mayReadBatch (./batches.ts) applies the same rule to a row in hand.
 */
export function batchVisible(caller: Caller): Prisma.Sql {
  if (caller.funds === 'ALL') return Prisma.sql`TRUE`;
  return Prisma.sql`(b.fund_ids <@ ${[...caller.funds]}::uuid[] AND (cardinality(b.fund_ids) > 0 OR b.created_by = ${caller.subject}))`;
}

/** A batch's columns for Database.read: timestamps as epoch ms (batchOf types them as Prisma does). */
const BATCH_COLUMNS_DRIVER = Prisma.raw(`b.id, b.batch_type AS "batchType", b.status, b.source_system AS "sourceSystem",
  b.idempotency_key AS "idempotencyKey", b.created_by AS "createdBy", b.fund_ids::text[] AS "fundIds",
  b.row_count AS "rowCount", b.accepted_count AS "acceptedCount", b.rejected_count AS "rejectedCount",
  b.validation_errors_json AS "validationErrorsJson", ${epochMs('b.started_at', 'startedAt')}, ${epochMs('b.completed_at', 'completedAt')},
  ${epochMs('b.created_at', 'createdAt')}, ${epochMs('b.updated_at', 'updatedAt')}`);

/** A batch row read with BATCH_COLUMNS_DRIVER as Prisma types the model. */
const batchOf = (row: Record<string, unknown>): IngestionBatch => ({
  id: row.id as string, batchType: row.batchType as IngestionBatch['batchType'], status: row.status as IngestionBatch['status'],
  sourceSystem: row.sourceSystem as string, idempotencyKey: row.idempotencyKey as string | null, createdBy: row.createdBy as string | null,
  fundIds: row.fundIds as string[], rowCount: row.rowCount as number, acceptedCount: row.acceptedCount as number, rejectedCount: row.rejectedCount as number,
  validationErrorsJson: row.validationErrorsJson as IngestionBatch['validationErrorsJson'], startedAt: instantOf(row.startedAt as number),
  completedAt: row.completedAt === null ? null : instantOf(row.completedAt as number), createdAt: instantOf(row.createdAt as number), updatedAt: instantOf(row.updatedAt as number),
});

/** Batches by id the caller may see (the loader's batch; live updates re-read one), typed as Prisma types the model. */
export async function findBatchesByIds(prisma: Db, ids: readonly string[], caller: Caller): Promise<IngestionBatch[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return [];
  const rows = await prismaRead(prisma)<Record<string, unknown>>(...driverQuery(Prisma.sql`
    SELECT ${BATCH_COLUMNS_DRIVER} FROM ingestion_batch b WHERE b.id = ANY(${valid}::uuid[]) AND ${batchVisible(caller)}`));
  return rows.map(batchOf);
}

export function findLineageOfBatches(prisma: Db, batchIds: readonly string[]): Promise<DataLineage[]> {
  const valid = validIds(batchIds);
  if (valid.length === 0) return Promise.resolve([]);
  return prisma.dataLineage.findMany({ where: { ingestionBatchId: { in: valid } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

export interface BatchFilter {
  batchType?: IngestionBatch['batchType'] | null;
  status?: IngestionBatch['status'] | null;
}

const STARTED_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function afterKey(after: string | null | undefined): { started: string; id: string } | null {
  const key = decodeCursor(after, ['timestamp', 'uuid']);
  if (key === null) return null;
  const [started, id] = key as [string, string];
  if (!STARTED_KEY.test(started) || !isUuid(id)) throw badInput('after', 'after is not a cursor returned by this list');
  return { started, id };
}

/**
 * A page of batches, newest first, with the total over all pages in the same statement when `count`
 * (withTotal; NaN when not), through the driver (Database.read: prepared once per connection). The
 * cursor bounds the (started_at, id) range whatever its value, so a plan made for no value in
 * particular (a prepared statement's generic plan) still starts the walk at the cursor.
 */
export async function listBatches(read: Read, filter: BatchFilter, args: PageArgs, caller: Caller, count = true): Promise<Page<IngestionBatch>> {
  const first = pageSize(args.first);
  const after = afterKey(args.after);
  const type = filter.batchType ?? null;
  const status = filter.status ?? null;
  const where = Prisma.sql`(${type}::text IS NULL OR b.batch_type::text = ${type}::text)
      AND (${status}::text IS NULL OR b.status::text = ${status}::text)
      AND ${batchVisible(caller)}`;
  const found = rowsAndTotal(await read<Record<string, unknown> & { id: string; totalCount?: number }>(...driverQuery(withTotal(
    Prisma.sql`
      SELECT ${BATCH_COLUMNS_DRIVER}, to_char(b.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "startedKey"
      FROM ingestion_batch b
      WHERE ${where}
        AND (b.started_at, b.id) < (COALESCE(${after?.started ?? null}::timestamptz, 'infinity'::timestamptz),
                                    COALESCE(${after?.id ?? null}::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid))
      ORDER BY b.started_at DESC, b.id DESC
      LIMIT ${first + 1}`,
    count ? Prisma.sql`SELECT count(*)::int FROM ingestion_batch b WHERE ${where}` : null,
  ))), 'id', count);
  const keys = new Map(found.rows.map((r) => [r.id, r.startedKey as string]));
  const batches = found.rows.map(batchOf);
  return pageFrom(batches, first, found.total, args.after, (b) => [keys.get(b.id) ?? '', b.id]);
}
