// Rating history: batched reads for many entities at once (the loaders' batch
// functions) and recordRating. Dates travel to SQL as 'YYYY-MM-DD' text cast
// to ::date, so no time zone can shift them.
import type { Prisma } from '../../db/database';
import type { RatingAgency, RatingHistory } from '../../generated/prisma/client';
import { AGENCIES, normalizeRating } from '../../domain/ratings';
import { badInput, DomainError, notFound } from '../../errors';
import { validIds, isoDate } from '../inputs';
import { optionalId, type Db } from './common';

/** One rating_history row with the model's field names. */
interface RatingRow {
  id: string;
  entityId: string;
  agency: RatingAgency;
  rating: string;
  asOfDate: Date;
  createdAt: Date;
}

export interface RatingFilter {
  agency: RatingAgency | null;
  /** Inclusive bounds, 'YYYY-MM-DD'. */
  from: string | null;
  to: string | null;
}

/** The ratings of many entities matching one filter, newest first per entity (ties by agency, then id). */
export async function findRatingsOf(db: Db, entityIds: readonly string[], filter: RatingFilter): Promise<RatingHistory[]> {
  const ids = validIds(entityIds);
  if (ids.length === 0) return [];
  return db.$queryRaw<RatingRow[]>`
    SELECT id::text AS id, entity_id::text AS "entityId", agency::text AS agency, rating,
           as_of_date AS "asOfDate", created_at AS "createdAt"
    FROM rating_history
    WHERE entity_id = ANY (${ids}::uuid[])
      AND (${filter.agency}::rating_agency IS NULL OR agency = ${filter.agency}::rating_agency)
      AND (${filter.from}::date IS NULL OR as_of_date >= ${filter.from}::date)
      AND (${filter.to}::date IS NULL OR as_of_date <= ${filter.to}::date)
    ORDER BY entity_id, as_of_date DESC, agency::text, id`;
}

/**
 * For each entity, the agency's latest rating dated on or before asOf (none:
 * no row). One index probe per entity on (entity_id, agency, as_of_date).
 */
export async function findRatingsAsOf(db: Db, entityIds: readonly string[], agency: RatingAgency, asOf: string): Promise<RatingHistory[]> {
  const ids = validIds(entityIds);
  if (ids.length === 0) return [];
  return db.$queryRaw<RatingRow[]>`
    SELECT r.id::text AS id, r.entity_id::text AS "entityId", r.agency::text AS agency, r.rating,
           r.as_of_date AS "asOfDate", r.created_at AS "createdAt"
    FROM unnest(${ids}::uuid[]) AS k(id)
    CROSS JOIN LATERAL (
      SELECT * FROM rating_history
      WHERE entity_id = k.id AND agency = ${agency}::rating_agency AND as_of_date <= ${asOf}::date
      ORDER BY as_of_date DESC
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
 * Records a rating. The same rating again (same entity, agency, date and
 * symbol) returns the stored row and writes nothing; another symbol for the
 * same entity, agency and date is CONFLICT. ON CONFLICT DO NOTHING makes this
 * safe against a concurrent insert of the same key.
 */
export async function recordRating(prisma: Prisma, input: RatingFields): Promise<RatingHistory> {
  const r = normaliseRatingInput(input);
  return prisma.$transaction(async (tx) => {
    const entity = await tx.referenceData.findUnique({ where: { id: r.entityId }, select: { id: true } });
    if (!entity) throw notFound('input.entityId', `input.entityId "${r.entityId}" does not exist`);
    const key = { entityId: r.entityId, agency: r.agency, asOfDate: r.asOfDate };
    await tx.ratingHistory.createMany({ data: [{ ...key, rating: r.rating }], skipDuplicates: true });
    const stored = await tx.ratingHistory.findUnique({ where: { entityId_agency_asOfDate: key } });
    if (!stored) throw new Error('rating vanished between insert and read');
    if (stored.rating !== r.rating) {
      throw new DomainError(
        'CONFLICT',
        `input.rating: ${r.agency} already rated this entity ${stored.rating} on ${isoDate(stored.asOfDate)}; a rating for a date cannot be replaced`,
        'input.rating',
      );
    }
    return stored;
  });
}
