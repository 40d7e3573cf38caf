// ReferenceEntity, Rating and Instrument, with their queries and mutations:
// thin, every relation through a per-request loader.
import { ratingScore } from '../../domain/ratings';
import { isoDate } from '../../services/inputs';
import { findInstrumentByIdentifiers } from '../../services/reference/instruments';
import { upsertInstrument } from '../../services/reference/instrumentUpsert';
import { listReferenceEntities } from '../../services/reference/entities';
import { upsertReferenceEntity } from '../../services/reference/entityUpsert';
import { recordRating } from '../../services/reference/ratings';
import { toConnection } from '../connection';
import type { InstrumentResolvers, MutationResolvers, QueryResolvers, RatingResolvers, ReferenceEntityResolvers } from '../generated/resolvers';

/** A relation the database guarantees (a foreign key); its absence is an internal error. */
function present<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`${what} is missing`);
  return value;
}

const day = (date: Date | null | undefined) => (date ? isoDate(date) : null);

export const referenceQueries: Pick<QueryResolvers, 'instrument' | 'instrumentByIdentifier' | 'referenceEntity' | 'referenceEntities'> = {
  instrument: (_root, { id }, ctx) => ctx.loaders.instrumentById.load(id.toLowerCase()),
  instrumentByIdentifier: (_root, args, ctx) => findInstrumentByIdentifiers(ctx.db.prisma, args),
  referenceEntity: (_root, { id }, ctx) => ctx.loaders.referenceById.load(id.toLowerCase()),
  referenceEntities: async (_root, args, ctx) => {
    const page = await listReferenceEntities(ctx.db.prisma, args);
    for (const entity of page.rows) ctx.loaders.referenceById.prime(entity.id, entity);
    return toConnection(page);
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

export const ReferenceEntity: ReferenceEntityResolvers = {
  attributes: (entity) => entity.attributesJson as Record<string, unknown>,
  parent: (entity, _args, ctx) => (entity.parentEntityId ? ctx.loaders.referenceById.load(entity.parentEntityId) : null),
  children: (entity, _args, ctx) => ctx.loaders.referenceChildrenById.load(entity.id),
  sector: (entity, _args, ctx) => (entity.sectorId ? ctx.loaders.referenceById.load(entity.sectorId) : null),
  geography: (entity, _args, ctx) => (entity.geographyId ? ctx.loaders.referenceById.load(entity.geographyId) : null),
  ratings: (entity, { agency, from, to }, ctx) =>
    ctx.loaders.ratingsByEntityId.load({ entityId: entity.id, agency: agency ?? null, from: day(from), to: day(to) }),
  rating: (entity, { agency, asOf }, ctx) => ctx.loaders.ratingAsOfByEntityId.load({ entityId: entity.id, agency, asOf: isoDate(asOf) }),
};

export const Rating: RatingResolvers = {
  score: (rating) => present(ratingScore(rating.agency, rating.rating), `the score of ${rating.agency} rating "${rating.rating}"`),
  entity: async (rating, _args, ctx) => present(await ctx.loaders.referenceById.load(rating.entityId), `entity ${rating.entityId}`),
};

export const Instrument: InstrumentResolvers = {
  assetClass: (instrument) => instrument.assetClass,
  issuer: (instrument, _args, ctx) => (instrument.issuerId ? ctx.loaders.referenceById.load(instrument.issuerId) : null),
};
