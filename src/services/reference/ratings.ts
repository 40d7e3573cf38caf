// Rating history: batched reads for many entities at once (the loaders' batch
// functions) and recordRating. Dates travel to SQL as 'YYYY-MM-DD' text cast
// to ::date, so no time zone can shift them.
import type { Prisma } from '../../db/database';
import { Prisma as Sql, type RatingAgency, type RatingHistory } from '../../generated/prisma/client';
import { AGENCIES, normalizeRating } from '../../domain/ratings';
import { badInput, notFound } from '../../errors';
import { knownSql, type KnownAt } from '../time/knownAt';
import { retryingSerialization } from '../time/retry';
import { validIds, isoDate } from '../inputs';
import { optionalId, type Db } from './common';

/** One rating_history row with the model's field names. */
interface RatingRow {
  id: string;
  entityId: string;
  agency: RatingAgency;
  rating: string;
  asOfDate: Date;
  recordedAt: Date;
  supersededAt: Date | null;
  createdAt: Date;
}

const RATING_COLUMNS = Sql.raw(`r.id::text AS id, r.entity_id::text AS "entityId", r.agency::text AS agency, r.rating,
  r.as_of_date AS "asOfDate", r.recorded_at AS "recordedAt", r.superseded_at AS "supersededAt", r.created_at AS "createdAt"`);

export interface RatingFilter {
  agency: RatingAgency | null;
  /** Inclusive bounds, 'YYYY-MM-DD'. */
  from: string | null;
  to: string | null;
}

/** The current ratings of many entities matching one filter, newest first per entity (ties by agency, then id). */
export async function findRatingsOf(db: Db, entityIds: readonly string[], filter: RatingFilter): Promise<RatingHistory[]> {
  const ids = validIds(entityIds);
  if (ids.length === 0) return [];
  return db.$queryRaw<RatingRow[]>`
    SELECT ${RATING_COLUMNS}
    FROM rating_history r
    WHERE r.entity_id = ANY (${ids}::uuid[]) AND r.superseded_at IS NULL
      AND (${filter.agency}::rating_agency IS NULL OR r.agency = ${filter.agency}::rating_agency)
      AND (${filter.from}::date IS NULL OR r.as_of_date >= ${filter.from}::date)
      AND (${filter.to}::date IS NULL OR r.as_of_date <= ${filter.to}::date)
    ORDER BY r.entity_id, r.as_of_date DESC, r.agency::text, r.id`;
}

/**
 * For each entity, the agency's latest rating dated on or before asOf as known at knownAt (none: no row).
 * One index probe per entity on (entity_id, as_of_date DESC).
 */
export async function findRatingsAsOf(db: Db, entityIds: readonly string[], agency: RatingAgency, asOf: string, knownAt: KnownAt = null): Promise<RatingHistory[]> {
  const ids = validIds(entityIds);
  if (ids.length === 0) return [];
  return db.$queryRaw<RatingRow[]>`
    SELECT ${RATING_COLUMNS}
    FROM unnest(${ids}::uuid[]) AS k(id)
    CROSS JOIN LATERAL (
      SELECT * FROM rating_history h
      WHERE h.entity_id = k.id AND h.agency = ${agency}::rating_agency AND h.as_of_date <= ${asOf}::date AND ${knownSql('h', knownAt)}
      ORDER BY h.as_of_date DESC
      LIMIT 1
    ) r`;
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
    const [stored] = await tx.$queryRaw<RatingRow[]>`
      SELECT ${RATING_COLUMNS} FROM rating_history r
      WHERE r.entity_id = ${r.entityId}::uuid AND r.agency = ${r.agency}::rating_agency AND r.as_of_date = ${asOf}::date AND r.superseded_at IS NULL`;
    if (!stored) throw new Error('rating vanished between insert and read');
    return stored;
  }));
}
