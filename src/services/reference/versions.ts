// Reference entities and instruments as recorded at a moment (knownAt): their
// fields from the versions the database keeps (reference_data_version,
// instrument_version, written by triggers whoever writes). An entity or
// instrument not yet recorded then is absent. Through the driver (Database.read:
// prepared once per connection), typed as Prisma types the models
// (src/db/driverRows.ts).
import { Prisma } from '../../generated/prisma/client';
import type { Instrument, ReferenceData } from '../../generated/prisma/client';
import { driverQuery, epochMs } from '../../db/driverRows';
import { validIds } from '../inputs';
import type { Read } from '../portfolio/nodes';
import { knownSql } from '../time/knownAt';
import { entitiesOf } from './entities';
import { instrumentOf, type InstrumentText } from './instruments';

/** A row as recorded at `knownAt`: relations below it are read as of the same moment. */
export type AsKnownAt<T> = T & { knownAt: string };

export async function findEntitiesAt(read: Read, entityIds: readonly string[], knownAt: string): Promise<AsKnownAt<ReferenceData>[]> {
  const ids = validIds(entityIds);
  if (ids.length === 0) return [];
  return entitiesOf(await read<AsKnownAt<ReferenceData>>(...driverQuery(Prisma.sql`
    SELECT v.entity_id AS id, v.entity_type AS "entityType", v.name, v.code, v.ticker, v.cusip, v.isin, v.lei,
           v.parent_entity_id AS "parentEntityId", v.sector_id AS "sectorId", v.geography_id AS "geographyId",
           v.ultimate_parent_id AS "ultimateParentId", v.attributes_json AS "attributesJson",
           ${Prisma.raw(epochMs('e.created_at', 'createdAt'))}, ${Prisma.raw(epochMs('v.recorded_at', 'updatedAt'))}, ${knownAt}::text AS "knownAt"
    FROM reference_data_version v JOIN reference_data e ON e.id = v.entity_id
    WHERE v.entity_id = ANY (${ids}::uuid[]) AND ${knownSql('v', knownAt)}`)));
}

export async function findInstrumentsAt(read: Read, instrumentIds: readonly string[], knownAt: string): Promise<AsKnownAt<Instrument>[]> {
  const ids = validIds(instrumentIds);
  if (ids.length === 0) return [];
  const rows = await read<InstrumentText & { knownAt: string }>(...driverQuery(Prisma.sql`
    SELECT v.instrument_id AS id, v.name, v.asset_class AS "assetClass", v.currency, v.isin, v.cusip, v.ticker,
           v.issuer_id AS "issuerId", v.maturity_date::text AS "maturityDate", v.attributes_json AS "attributesJson",
           ${Prisma.raw(epochMs('i.created_at', 'createdAt'))}, ${Prisma.raw(epochMs('v.recorded_at', 'updatedAt'))}, ${knownAt}::text AS "knownAt"
    FROM instrument_version v JOIN instrument i ON i.id = v.instrument_id
    WHERE v.instrument_id = ANY (${ids}::uuid[]) AND ${knownSql('v', knownAt)}`));
  return rows.map((row) => ({ ...instrumentOf(row), knownAt: row.knownAt }));
}
