// Reads of market-data feeds and their lineage: by id (the loaders) and the
// paged, filtered list of Query.marketDataFeeds.
import type { Prisma as Db } from '../../db/database';
import type { DataLineage, FeedType, MarketDataFeed, Prisma as PrismaNamespace, ValidationStatus } from '../../generated/prisma/client';
import { Prisma } from '../../generated/prisma/client';
import { badInput } from '../../errors';
import { isoDate, isUuid, validIds } from '../inputs';
import { decodeCursor, pageFrom, pageSize, rowsAndTotal, withTotal, type Page } from '../pagination';

/** A feed's columns (alias f) in the shape Prisma reads them, for statements of our own. */
export const FEED_COLUMNS = Prisma.sql`f.id::text AS id, f.feed_type::text AS "feedType", f.as_of_date AS "asOfDate", f.source,
           f.payload_json AS "payloadJson", f.payload_hash::text AS "payloadHash", f.validation_status::text AS "validationStatus",
           f.validation_json AS "validationJson", f.ingestion_batch_id::text AS "ingestionBatchId", f.recorded_at AS "recordedAt",
           f.created_at AS "createdAt"`;

export function findFeedsByIds(prisma: Db, ids: readonly string[]): Promise<MarketDataFeed[]> {
  const valid = validIds(ids);
  return valid.length === 0 ? Promise.resolve([]) : prisma.marketDataFeed.findMany({ where: { id: { in: valid } } });
}

export function findLineageOfFeeds(prisma: Db, feedIds: readonly string[]): Promise<DataLineage[]> {
  const valid = validIds(feedIds);
  if (valid.length === 0) return Promise.resolve([]);
  return prisma.dataLineage.findMany({ where: { feedId: { in: valid } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

/**
 * Feeds of a type (every type when null) whose transaction began at or after `since`, oldest first, at
 * most `limit`: what a live subscriber may have missed while its instance was not listening.
 */
export function findFeedsCreatedSince(prisma: Db, feedType: FeedType | null, since: Date, limit = 1_000): Promise<MarketDataFeed[]> {
  return prisma.marketDataFeed.findMany({
    where: { createdAt: { gte: since }, ...(feedType ? { feedType } : {}) },
    orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    take: limit,
  });
}

// ------------------------------------------------------------------ the list

export interface FeedListArgs {
  feedType?: FeedType | null;
  status?: ValidationStatus | null;
  /** Inclusive bounds on the as-of date. */
  from?: Date | null;
  to?: Date | null;
  first?: number | null;
  after?: string | null;
}

/** A feed's place in the list. created_at keeps microseconds, which a JS Date would lose, so it travels as text. */
interface FeedKey {
  id: string;
  asOf: string;
  createdAt: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

function afterKey(after: string | null | undefined): FeedKey | null {
  const key = decodeCursor(after, ['date', 'timestamp', 'uuid']);
  if (key === null) return null;
  const [asOf, createdAt, id] = key as [string, string, string];
  if (!DATE.test(asOf) || !TIMESTAMP.test(createdAt) || !isUuid(id)) throw badInput('after', 'after is not a cursor returned by this list');
  return { asOf, createdAt, id };
}

function optionalDay(value: Date | null | undefined, field: string): string | null {
  if (value === null || value === undefined) return null;
  if (Number.isNaN(value.getTime())) throw badInput(field, `${field} must be a calendar date`);
  return isoDate(value);
}

function listFilter(args: FeedListArgs): PrismaNamespace.Sql {
  const [type, status] = [args.feedType ?? null, args.status ?? null];
  const [from, to] = [optionalDay(args.from, 'from'), optionalDay(args.to, 'to')];
  return Prisma.sql`(${type}::feed_type IS NULL OR f.feed_type = ${type}::feed_type)
    AND (${status}::validation_status IS NULL OR f.validation_status = ${status}::validation_status)
    AND (${from}::date IS NULL OR f.as_of_date >= ${from}::date) AND (${to}::date IS NULL OR f.as_of_date <= ${to}::date)`;
}

/**
 * One page of feeds, newest as-of date first, then newest stored, then id
 * (keyset on that triple), with the number of feeds matching over all pages.
 */
/** A feed of a list with, when asked, its lineage (oldest first, as findLineageOfFeeds reads it). */
export type ListedFeed = MarketDataFeed & { lineage?: DataLineage[] };

/** Each feed's lineage rows as one JSON array (oldest first; createdAt in epoch milliseconds, made a Date after). */
const LINEAGE_JSON = Prisma.sql`(SELECT COALESCE(json_agg(json_build_object('id', l.id, 'feedId', l.feed_id, 'ingestionBatchId', l.ingestion_batch_id,
      'sourceSystem', l.source_system, 'transformationChain', l.transformation_chain, 'qualityChecks', l.quality_checks,
      'metadataJson', l.metadata_json, 'createdAt', floor(extract(epoch FROM l.created_at) * 1000)) ORDER BY l.created_at, l.id), '[]')
    FROM data_lineage l WHERE l.feed_id = f.id) AS lineage`;

export async function listMarketDataFeeds(prisma: Db, args: FeedListArgs, count = true, lineage = false): Promise<Page<ListedFeed>> {
  const first = pageSize(args.first);
  const cursor = afterKey(args.after);
  const filter = listFilter(args);
  const keyset = cursor
    ? Prisma.sql`AND (f.as_of_date, f.created_at, f.id) < (${cursor.asOf}::date, ${cursor.createdAt}::timestamptz, ${cursor.id}::uuid)`
    : Prisma.empty;
  // The page's feeds (plus one, which only tells that more follow), their lineage and the total when
  // asked: one statement.
  const found = rowsAndTotal(await prisma.$queryRaw<(ListedFeed & { asOfKey: string; createdKey: string; totalCount?: number })[]>(withTotal(
    Prisma.sql`
      SELECT ${FEED_COLUMNS}, to_char(f.as_of_date, 'YYYY-MM-DD') AS "asOfKey",
             to_char(f.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "createdKey"
             ${lineage ? Prisma.sql`, ${LINEAGE_JSON}` : Prisma.empty}
      FROM market_data_feed f WHERE ${filter} ${keyset}
      ORDER BY f.as_of_date DESC, f.created_at DESC, f.id DESC LIMIT ${first + 1}`,
    count ? Prisma.sql`SELECT count(*)::int FROM market_data_feed f WHERE ${filter}` : null,
  )), 'id', count);
  const keyOf = new Map(found.rows.map((r): [string, FeedKey] => [r.id, { id: r.id, asOf: r.asOfKey, createdAt: r.createdKey }]));
  const feeds = found.rows.map(({ asOfKey: _a, createdKey: _c, ...feed }) => {
    for (const row of feed.lineage ?? []) row.createdAt = new Date(row.createdAt as unknown as number);
    return feed as ListedFeed;
  });
  return pageFrom(feeds, first, found.total, args.after, (f) => {
    const k = keyOf.get(f.id) as FeedKey;
    return [k.asOf, k.createdAt, k.id];
  });
}
