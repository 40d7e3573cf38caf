// Rating history: batched reads for many entities at once (the loaders' batch
// functions) and recordRating. Dates travel to SQL as 'YYYY-MM-DD' text cast
// to ::date, so no time zone can shift them.
import type { Prisma } from '../../db/database';
import { Prisma as Sql, type RatingAgency, type RatingHistory } from '../../generated/prisma/client';
import { AGENCIES, normalizeRating } from '../../domain/ratings';
import { badInput, notFound } from '../../errors';
import { knownSqlOf, type KnownAt } from '../time/knownAt';
import { retryingSerialization } from '../time/retry';
import { isoDate, isUuid } from '../inputs';
import { optionalId, type Db } from './common';
import { dateOf, driverQuery, epochMs, instantOf, prismaRead } from '../../db/driverRows';
import type { Read } from '../portfolio/nodes';

/** rating_history's columns under the model's names, for Database.read (src/db/driverRows.ts): the date as text, timestamps as epoch ms. */
const RATING_COLUMNS = Sql.raw(`r.id::text AS id, r.entity_id::text AS "entityId", r.agency::text AS agency, r.rating,
  r.as_of_date::text AS "asOfDate", ${epochMs('r.recorded_at', 'recordedAt')}, ${epochMs('r.superseded_at', 'supersededAt')}, ${epochMs('r.created_at', 'createdAt')}`);

/** A rating's model fields a list may read alone (ratingsJson's columns); the others come whole or not at all. */
export type RatingColumn = 'agency' | 'rating' | 'asOfDate' | 'entityId' | 'recordedAt' | 'supersededAt';

/** Each RatingColumn as RATING_COLUMNS reads it. */
const RATING_COLUMN_TEXT: Readonly<Record<RatingColumn, string>> = {
  agency: 'r.agency::text AS agency',
  rating: 'r.rating',
  asOfDate: 'r.as_of_date::text AS "asOfDate"',
  entityId: 'r.entity_id::text AS "entityId"',
  recordedAt: epochMs('r.recorded_at', 'recordedAt'),
  supersededAt: epochMs('r.superseded_at', 'supersededAt'),
};

/** Rows read with RATING_COLUMNS (or some of them: a field not read stays undefined) as Prisma returns them. */
export function ratingsOf(rows: Record<string, unknown>[]): RatingHistory[] {
  return rows.map((row) => ({
    ...(row as unknown as RatingHistory),
    ...(row.asOfDate === undefined ? {} : { asOfDate: dateOf(row.asOfDate as string) }),
    ...(row.recordedAt === undefined ? {} : { recordedAt: instantOf(row.recordedAt as number) }),
    ...(row.supersededAt === undefined ? {} : { supersededAt: row.supersededAt === null ? null : instantOf(row.supersededAt as number) }),
    ...(row.createdAt === undefined ? {} : { createdAt: instantOf(row.createdAt as number) }),
  }));
}

const readRatings = async (read: Read, sql: Sql.Sql) => ratingsOf(await read<Record<string, unknown>>(...driverQuery(sql)));

export interface RatingFilter {
  agency: RatingAgency | null;
  /** Inclusive bounds, 'YYYY-MM-DD'. */
  from: string | null;
  to: string | null;
}

/** ReferenceEntity.ratings(agency, from, to) of one entity; dates as 'YYYY-MM-DD'. */
export interface RatingsKey extends RatingFilter {
  entityId: string;
}

/** ReferenceEntity.rating(agency, asOf, knownAt) of one entity; asOf as 'YYYY-MM-DD'. */
export interface RatingAsOfKey {
  entityId: string;
  agency: RatingAgency;
  asOf: string;
  knownAt: KnownAt;
}

/** rating_history r with x its RATING_COLUMNS (to_json(x): one rating as one JSON object, for a row per key). */
const RATING_ROWS = Sql.sql`rating_history r CROSS JOIN LATERAL (SELECT ${RATING_COLUMNS}) x`;

/**
 * An entity's current ratings matching a filter (SQL expressions), newest first, as one JSON array (or
 * NULL): read with ratingsOf. With `columns`, each rating has those fields alone (a list's ratings read
 * what its fields ask); else all of RATING_COLUMNS.
 */
export function ratingsJson(entity: Sql.Sql, agency: Sql.Sql, from: Sql.Sql, to: Sql.Sql, columns: readonly RatingColumn[] | null = null): Sql.Sql {
  const rows = columns
    ? Sql.sql`rating_history r CROSS JOIN LATERAL (SELECT ${Sql.raw(columns.length > 0 ? columns.map((c) => RATING_COLUMN_TEXT[c]).join(', ') : 'r.id::text AS id')}) x`
    : RATING_ROWS;
  return Sql.sql`(SELECT json_agg(to_json(x) ORDER BY r.as_of_date DESC, r.agency::text, r.id) FROM ${rows}
              WHERE r.entity_id = ${entity} AND r.superseded_at IS NULL
                AND (${agency}::rating_agency IS NULL OR r.agency = ${agency}::rating_agency) AND (${from}::date IS NULL OR r.as_of_date >= ${from}::date)
                AND (${to}::date IS NULL OR r.as_of_date <= ${to}::date))`;
}

/**
 * For each key (an entity and a filter), the entity's current ratings matching the filter, newest first
 * (ties by agency, then id): one statement for every key, whatever their filters (a row per key, its
 * ratings aggregated in that order; an index range on (entity_id, as_of_date DESC) each).
 */
export async function findRatingsOf(read: Read, keys: readonly RatingsKey[]): Promise<RatingHistory[][]> {
  if (keys.length === 0) return [];
  const rows = await read<{ ratings: Record<string, unknown>[] | null }>(...driverQuery(Sql.sql`
    SELECT ${ratingsJson(Sql.sql`k.entity_id`, Sql.sql`k.agency`, Sql.sql`k.from_date`, Sql.sql`k.to_date`)} AS ratings
    FROM unnest(${keys.map((k) => (isUuid(k.entityId) ? k.entityId : null))}::uuid[], ${keys.map((k) => k.agency)}::rating_agency[],
                ${keys.map((k) => k.from)}::date[], ${keys.map((k) => k.to)}::date[]) WITH ORDINALITY AS k (entity_id, agency, from_date, to_date, n)
    ORDER BY k.n`));
  return rows.map((row) => ratingsOf(row.ratings ?? []));
}

/** The agency's latest rating of an entity dated on or before asOf as known at knownAt (SQL expressions; NULL: now), as one JSON object or NULL. */
export function ratingAsOfJson(entity: Sql.Sql, agency: Sql.Sql, asOf: Sql.Sql, knownAt: Sql.Sql): Sql.Sql {
  return Sql.sql`(SELECT to_json(x) FROM ${RATING_ROWS}
              WHERE r.entity_id = ${entity} AND r.agency = ${agency}::rating_agency AND r.as_of_date <= ${asOf}::date AND ${knownSqlOf('r', Sql.sql`${knownAt}::timestamptz`)}
              ORDER BY r.as_of_date DESC LIMIT 1)`;
}

/**
 * For each key, the agency's latest rating of the entity dated on or before asOf as known at knownAt
 * (null: none): one statement for every key, whatever their agencies, dates and moments (one index
 * probe each on (entity_id, as_of_date DESC)).
 */
export async function findRatingsAsOf(read: Read, keys: readonly RatingAsOfKey[]): Promise<(RatingHistory | null)[]> {
  if (keys.length === 0) return [];
  const rows = await read<{ rating: Record<string, unknown> | null }>(...driverQuery(Sql.sql`
    SELECT ${ratingAsOfJson(Sql.sql`k.entity_id`, Sql.sql`k.agency`, Sql.sql`k.as_of`, Sql.sql`k.known_at`)} AS rating
    FROM unnest(${keys.map((k) => (isUuid(k.entityId) ? k.entityId : null))}::uuid[], ${keys.map((k) => k.agency)}::rating_agency[],
                ${keys.map((k) => k.asOf)}::date[], ${keys.map((k) => k.knownAt)}::timestamptz[]) WITH ORDINALITY AS k (entity_id, agency, as_of, known_at, n)
    ORDER BY k.n`));
  return rows.map((row) => (row.rating ? ratingsOf([row.rating])[0]! : null));
}

const AGENCY_NAMES: Record<RatingAgency, string> = {
  SP: 'S&P Global Ratings', MOODYS: "Moody's", FITCH: 'Fitch Ratings', DBRS: 'DBRS Morningstar',
};

/** What a caller sends (the GraphQL RatingInput has this shape). */
export interface RatingFields {
  entityId: string;
  agency: RatingAgency;
  rating: string;
  asOfDate: Date;
}

function normaliseRatingInput(input: RatingFields) {
  if (!AGENCIES.includes(input.agency)) throw badInput('input.agency', `input.agency must be one of ${AGENCIES.join(', ')}`);
  const rating = normalizeRating(input.agency, input.rating ?? '');
  if (rating === null) {
    const shown = JSON.stringify(String(input.rating).slice(0, 20));
    throw badInput('input.rating', `input.rating ${shown} is not on the ${input.agency} (${AGENCY_NAMES[input.agency]}) rating scale`);
  }
  if (Number.isNaN(input.asOfDate.getTime())) throw badInput('input.asOfDate', 'input.asOfDate must be a calendar date');
  const entityId = optionalId(input.entityId, 'input.entityId');
  if (!entityId) throw notFound('input.entityId', 'input.entityId must name an entity');
  return { entityId, agency: input.agency, rating, asOfDate: new Date(`${isoDate(input.asOfDate)}T00:00:00Z`) };
}

/**
 * Records ratings (entity, agency, date, symbol) in the caller's transaction. The same symbol again
 * writes nothing; another symbol for the same entity, agency and date is a correction: the current
 * version is superseded from this transaction's recording stamp on. The entity row is locked first, so
 * concurrent recorders of one entity take turns; the unique index on current versions backs it up.
 */
export async function writeRatings(tx: Db, ratings: readonly { entityId: string; agency: RatingAgency; rating: string }[], asOf: string): Promise<void> {
  if (ratings.length === 0) return;
  const [ids, agencies, symbols] = [ratings.map((r) => r.entityId), ratings.map((r) => r.agency), ratings.map((r) => r.rating)];
  await tx.$queryRaw`SELECT 1 FROM reference_data WHERE id = ANY (${[...new Set(ids)]}::uuid[]) ORDER BY id FOR NO KEY UPDATE`;
  await tx.$executeRaw`
    UPDATE rating_history h SET superseded_at = superseding_stamp(h.recorded_at)
    FROM unnest(${ids}::uuid[], ${agencies}::text[], ${symbols}::text[]) AS u (entity_id, agency, rating)
    WHERE h.entity_id = u.entity_id AND h.agency::text = u.agency AND h.as_of_date = ${asOf}::date
      AND h.superseded_at IS NULL AND h.rating <> u.rating`;
  await tx.$executeRaw`
    INSERT INTO rating_history (entity_id, agency, rating, as_of_date)
    SELECT u.entity_id, u.agency::rating_agency, u.rating, ${asOf}::date
    FROM unnest(${ids}::uuid[], ${agencies}::text[], ${symbols}::text[]) AS u (entity_id, agency, rating)
    WHERE NOT EXISTS (SELECT 1 FROM rating_history h WHERE h.entity_id = u.entity_id AND h.agency::text = u.agency
                      AND h.as_of_date = ${asOf}::date AND h.superseded_at IS NULL)`;
}

/**
 * Records a rating. The same rating again (same entity, agency, date and symbol) returns the stored
 * version and writes nothing; another symbol for the same entity, agency and date is a correction
 * (see writeRatings): the earlier one stays readable with an earlier knownAt.
 */
export async function recordRating(prisma: Prisma, input: RatingFields): Promise<RatingHistory> {
  const r = normaliseRatingInput(input);
  const asOf = isoDate(r.asOfDate);
  return retryingSerialization(() => prisma.$transaction(async (tx) => {
    const entity = await tx.referenceData.findUnique({ where: { id: r.entityId }, select: { id: true } });
    if (!entity) throw notFound('input.entityId', `input.entityId "${r.entityId}" does not exist`);
    await writeRatings(tx, [{ entityId: r.entityId, agency: r.agency, rating: r.rating }], asOf);
    const [stored] = await readRatings(prismaRead(tx), Sql.sql`
      SELECT ${RATING_COLUMNS} FROM rating_history r
      WHERE r.entity_id = ${r.entityId}::uuid AND r.agency = ${r.agency}::rating_agency AND r.as_of_date = ${asOf}::date AND r.superseded_at IS NULL`);
    if (!stored) throw new Error('rating vanished between insert and read');
    return stored;
  }));
}
