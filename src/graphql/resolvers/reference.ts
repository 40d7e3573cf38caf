// ReferenceEntity, Rating and Instrument, with their queries and mutations (being implemented).
import type { InstrumentResolvers, MutationResolvers, QueryResolvers, RatingResolvers, ReferenceEntityResolvers } from '../generated/resolvers';

export const referenceQueries: Pick<QueryResolvers, never> = {};
export const referenceMutations: Pick<MutationResolvers, never> = {};
export const ReferenceEntity: ReferenceEntityResolvers = {};
export const Rating: RatingResolvers = {};
export const Instrument: InstrumentResolvers = {};
