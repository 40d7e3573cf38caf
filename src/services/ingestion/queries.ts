// Reads of ingestion batches and their lineage. Batches are listed newest
// first (started_at DESC, then id DESC) with a keyset cursor; the cursor keeps
// started_at to the microsecond, as stored, since a JavaScript Date would
// round it to the millisecond and skip or repeat batches started in the same one.
import type { Caller } from '../../auth/caller';
import type { Prisma as Db } from '../../db/database';
import { Prisma } from '../../generated/prisma/client';
import type { DataLineage, IngestionBatch } from '../../generated/prisma/client';
import { badInput } from '../../errors';
import { isUuid, validIds } from '../inputs';
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

const BATCH_SELECT = Prisma.raw(`b.id, b.batch_type AS "batchType", b.status, b.source_system AS "sourceSystem",
  b.idempotency_key AS "idempotencyKey", b.created_by AS "createdBy", b.fund_ids::text[] AS "fundIds",
  b.row_count AS "rowCount", b.accepted_count AS "acceptedCount", b.rejected_count AS "rejectedCount",
  b.validation_errors_json AS "validationErrorsJson", b.started_at AS "startedAt", b.completed_at AS "completedAt",
  b.created_at AS "createdAt", b.updated_at AS "updatedAt"`);

export function findBatchesByIds(prisma: Db, ids: readonly string[], caller: Caller): Promise<IngestionBatch[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return Promise.resolve([]);
  return prisma.$queryRaw<IngestionBatch[]>`
    SELECT ${BATCH_SELECT} FROM ingestion_batch b WHERE b.id = ANY(${valid}::uuid[]) AND ${batchVisible(caller)}`;
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

interface BatchPageRow extends IngestionBatch {
  startedKey: string;
}

const STARTED_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function afterKey(after: string | null | undefined): { started: string; id: string } | null {
  const key = decodeCursor(after, ['timestamp', 'uuid']);
  if (key === null) return null;
  const [started, id] = key as [string, string];
  if (!STARTED_KEY.test(started) || !isUuid(id)) throw badInput('after', 'after is not a cursor returned by this list');
  return { started, id };
}

/** A page of batches, newest first, with the total over all pages in the same statement when `count` (withTotal; NaN when not). */
export async function listBatches(prisma: Db, filter: BatchFilter, args: PageArgs, caller: Caller, count = true): Promise<Page<IngestionBatch>> {
  const first = pageSize(args.first);
  const after = afterKey(args.after);
  const type = filter.batchType ?? null;
  const status = filter.status ?? null;
  const where = Prisma.sql`(${type}::text IS NULL OR b.batch_type::text = ${type}::text)
      AND (${status}::text IS NULL OR b.status::text = ${status}::text)
      AND ${batchVisible(caller)}`;
  const found = rowsAndTotal(await prisma.$queryRaw<(BatchPageRow & { totalCount?: number })[]>(withTotal(
    Prisma.sql`
      SELECT ${BATCH_SELECT}, to_char(b.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "startedKey"
      FROM ingestion_batch b
      WHERE ${where}
        AND (${after?.started ?? null}::timestamptz IS NULL
             OR (b.started_at, b.id) < (${after?.started ?? null}::timestamptz, ${after?.id ?? null}::uuid))
      ORDER BY b.started_at DESC, b.id DESC
      LIMIT ${first + 1}`,
    count ? Prisma.sql`SELECT count(*)::int FROM ingestion_batch b WHERE ${where}` : null,
  )), 'id', count);
  const keys = new Map(found.rows.map((r) => [r.id, r.startedKey]));
  const batches = found.rows.map(({ startedKey: _key, ...batch }) => batch);
  return pageFrom(batches, first, found.total, args.after, (b) => [keys.get(b.id) ?? '', b.id]);
}
