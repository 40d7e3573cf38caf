// ReferenceEntity, Rating and Instrument, with their queries and mutations:
// thin, every relation through a per-request loader.
import { ratingScore } from '../../domain/ratings';
import { isoDate } from '../../services/inputs';
import { findInstrumentByIdentifiers } from '../../services/reference/instruments';
import { upsertInstrument } from '../../services/reference/instrumentUpsert';
import { listReferenceEntities, type RatingOnDate } from '../../services/reference/entities';
import { upsertReferenceEntity } from '../../services/reference/entityUpsert';
import { recordRating, type RatingFilter } from '../../services/reference/ratings';
import type { RatingAgency, RatingHistory, ReferenceData } from '../../generated/prisma/client';
import { withRows } from '../../services/pagination';
import type { Context } from '../../context';
import { toConnection } from '../connection';
import { nodesFieldArgs, planEntityColumns, planRatingColumns } from '../plan';
import { asks } from '../selection';
import type { GraphQLResolveInfo } from 'graphql';
import type { InstrumentResolvers, MutationResolvers, QueryResolvers, RatingResolvers, ReferenceEntityResolvers } from '../generated/resolvers';

/** A relation the database guarantees (a foreign key); its absence is an internal error. */
function present<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`${what} is missing`);
  return value;
}

const day = (date: Date | null | undefined) => (date ? isoDate(date) : null);

/** An entity of a list whose ratings were read with columns: they stay on the row, by filter (filterKey), for its own `ratings` fields. */
type ListedRow = ReferenceData & { listedRatings?: ReadonlyMap<string, RatingHistory[]> };

/** ReferenceEntity.ratings' arguments as a filter, and its key among a list's (the same text for the same filter). */
const ratingFilter = (a: { agency?: RatingAgency | null; from?: Date | null; to?: Date | null }): RatingFilter =>
  ({ agency: a.agency ?? null, from: day(a.from), to: day(a.to) });
const filterKey = (f: RatingFilter) => JSON.stringify([f.agency, f.from, f.to]);

export const referenceQueries: Pick<QueryResolvers, 'instrument' | 'instrumentByIdentifier' | 'referenceEntity' | 'referenceEntities'> = {
  instrument: async (_root, { id, knownAt }, ctx) => {
    const at = await ctx.clock.knownAt(knownAt);
    return at === null ? ctx.loaders.instrumentById.load(id.toLowerCase()) : ctx.loaders.instrumentAt.load(`${id.toLowerCase()}|${at}`);
  },
  instrumentByIdentifier: (_root, args, ctx) => findInstrumentByIdentifiers(ctx.db.read, args),
  referenceEntity: async (_root, { id, knownAt }, ctx, info) => entity(ctx, id.toLowerCase(), await ctx.clock.knownAt(knownAt), info),
  referenceEntities: async (_root, args, ctx, info) => {
    // The ratings the nodes ask (each distinct filter), in the page's statement.
    const filters = [...new Map(nodesFieldArgs(info, 'ReferenceEntity', 'ratings').map((a) => {
      const filter = ratingFilter(a as Parameters<typeof ratingFilter>[0]);
      return [filterKey(filter), filter] as const;
    })).values()];
    // And the ratings on a date they ask as known now.
    const onDates = [...new Map(nodesFieldArgs(info, 'ReferenceEntity', 'rating').filter((a) => (a.knownAt ?? null) === null && a.asOf instanceof Date).map((a) => {
      const on: RatingOnDate = { agency: a.agency as RatingAgency, asOf: isoDate(a.asOf as Date) };
      return [JSON.stringify(on), on] as const;
    })).values()];
    // And of each entity, and of its ratings, only the columns their fields read.
    const columns = planEntityColumns(info);
    const ratingColumns = filters.length > 0 ? planRatingColumns(info) : null;
    const page = await listReferenceEntities(ctx.db.read, args, asks(info, 'totalCount'), filters, onDates, columns, ratingColumns);
    const rows = page.rows.map(({ ratingLists, ratingsAsOf, ...entity }) => {
      // Whole rows only: a row read with columns has the fields its selection asks, not an entity's.
      if (!columns) ctx.loaders.referenceById.prime(entity.id, entity);
      onDates.forEach((on, i) => ctx.loaders.ratingAsOfByEntityId.prime({ entityId: entity.id, ...on, knownAt: null }, ratingsAsOf![i]!));
      // Whole ratings are the loader's; ratings read with columns stay on the row, for its own fields.
      if (!ratingColumns) {
        filters.forEach((f, i) => ctx.loaders.ratingsByEntityId.prime({ entityId: entity.id, ...f }, ratingLists![i]!));
        return entity;
      }
      const listedRatings = new Map(filters.map((f, i) => [filterKey(f), ratingLists![i]!] as const));
      return { ...entity, listedRatings } as ListedRow;
    });
    return toConnection(withRows(page, rows));
  },
};

// A mutation's result replaces what the request's loaders may already hold, so
// a later field of the same operation never reads a stale cached value.
export const referenceMutations: Pick<MutationResolvers, 'upsertReferenceEntity' | 'upsertInstrument' | 'recordRating'> = {
  upsertReferenceEntity: async (_root, { input }, ctx) => {
    const entity = await upsertReferenceEntity(ctx.db.prisma, input);
    ctx.loaders.referenceById.clear(entity.id).prime(entity.id, entity);
    ctx.loaders.referenceChildrenById.clearAll();
    return entity;
  },
  upsertInstrument: async (_root, { input }, ctx) => {
    const instrument = await upsertInstrument(ctx.db.prisma, input);
    ctx.loaders.instrumentById.clear(instrument.id).prime(instrument.id, instrument);
    return instrument;
  },
  recordRating: async (_root, { input }, ctx) => {
    const rating = await recordRating(ctx.db.prisma, input);
    ctx.loaders.ratingsByEntityId.clearAll();
    ctx.loaders.ratingAsOfByEntityId.clearAll();
    return rating;
  },
};

/** An entity read as recorded at a moment carries it: the entities it names are read as of the same moment. */
const momentOf = (row: object): string | null => ('knownAt' in row && typeof row.knownAt === 'string' ? row.knownAt : null);

/**
 * An entity as the field needs it: as recorded at the row's moment, or now - with the entities it links
 * to when the field's selection follows parent, sector or geography (one statement for the levels a
 * card shows, primed for the fields below), unless the request already read it.
 */
function entity(ctx: Context, id: string | null, moment: string | null, info?: GraphQLResolveInfo) {
  if (!id) return null;
  if (moment !== null) return ctx.loaders.referenceAt.load(`${id}|${moment}`);
  const known = ctx.loaders.referenceById.peek(id);
  if (known !== undefined) return known;
  return info && followsLinks(info) ? ctx.loaders.referenceWithLinks.load(id) : ctx.loaders.referenceById.load(id);
}

const followsLinks = (info: GraphQLResolveInfo) => asks(info, 'parent') || asks(info, 'sector') || asks(info, 'geography');

export const ReferenceEntity: ReferenceEntityResolvers = {
  attributes: (entity) => entity.attributesJson as Record<string, unknown>,
  parent: (row, _args, ctx, info) => entity(ctx, row.parentEntityId, momentOf(row), info),
  children: (entity, _args, ctx) => ctx.loaders.referenceChildrenById.load(entity.id),
  sector: (row, _args, ctx, info) => entity(ctx, row.sectorId, momentOf(row), info),
  geography: (row, _args, ctx, info) => entity(ctx, row.geographyId, momentOf(row), info),
  ratings: (entity, args, ctx) => {
    const filter = ratingFilter(args);
    return (entity as ListedRow).listedRatings?.get(filterKey(filter)) ?? ctx.loaders.ratingsByEntityId.load({ entityId: entity.id, ...filter });
  },
  rating: async (row, { agency, asOf, knownAt }, ctx) => ctx.loaders.ratingAsOfByEntityId.load({
    entityId: row.id, agency, asOf: isoDate(asOf), knownAt: knownAt ? await ctx.clock.knownAt(knownAt) : momentOf(row),
  }),
};

export const Rating: RatingResolvers = {
  score: (rating) => present(ratingScore(rating.agency, rating.rating), `the score of ${rating.agency} rating "${rating.rating}"`),
  entity: async (rating, _args, ctx) => present(await ctx.loaders.referenceById.load(rating.entityId), `entity ${rating.entityId}`),
};

export const Instrument: InstrumentResolvers = {
  assetClass: (instrument) => instrument.assetClass,
  issuer: (instrument, _args, ctx, info) => entity(ctx, instrument.issuerId, momentOf(instrument), info),
};
