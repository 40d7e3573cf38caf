// Reference entities and instruments as recorded at a moment (knownAt): their
// fields from the versions the database keeps (reference_data_version,
// instrument_version, written by triggers whoever writes). An entity or
// instrument not yet recorded then is absent.
import type { Prisma as Db } from '../../db/database';
import type { Instrument, ReferenceData } from '../../generated/prisma/client';
import { validIds } from '../inputs';
import { knownSql } from '../time/knownAt';

/** A row as recorded at `knownAt`: relations below it are read as of the same moment. */
export type AsKnownAt<T> = T & { knownAt: string };

export function findEntitiesAt(prisma: Db, entityIds: readonly string[], knownAt: string): Promise<AsKnownAt<ReferenceData>[]> {
  const ids = validIds(entityIds);
  if (ids.length === 0) return Promise.resolve([]);
  return prisma.$queryRaw<AsKnownAt<ReferenceData>[]>`
    SELECT v.entity_id::text AS id, v.entity_type::text AS "entityType", v.name, v.code, v.ticker, v.cusip, v.isin, v.lei,
           v.parent_entity_id::text AS "parentEntityId", v.sector_id::text AS "sectorId", v.geography_id::text AS "geographyId",
           v.ultimate_parent_id::text AS "ultimateParentId", v.attributes_json AS "attributesJson",
           e.created_at AS "createdAt", v.recorded_at AS "updatedAt", ${knownAt}::text AS "knownAt"
    FROM reference_data_version v JOIN reference_data e ON e.id = v.entity_id
    WHERE v.entity_id = ANY (${ids}::uuid[]) AND ${knownSql('v', knownAt)}`;
}

export function findInstrumentsAt(prisma: Db, instrumentIds: readonly string[], knownAt: string): Promise<AsKnownAt<Instrument>[]> {
  const ids = validIds(instrumentIds);
  if (ids.length === 0) return Promise.resolve([]);
  return prisma.$queryRaw<AsKnownAt<Instrument>[]>`
    SELECT v.instrument_id::text AS id, v.name, v.asset_class::text AS "assetClass", v.currency, v.isin, v.cusip, v.ticker,
           v.issuer_id::text AS "issuerId", v.maturity_date AS "maturityDate", v.attributes_json AS "attributesJson",
           i.created_at AS "createdAt", v.recorded_at AS "updatedAt", ${knownAt}::text AS "knownAt"
    FROM instrument_version v JOIN instrument i ON i.id = v.instrument_id
    WHERE v.instrument_id = ANY (${ids}::uuid[]) AND ${knownSql('v', knownAt)}`;
}
