// upsertReferenceEntity: one transaction that finds the entity to update (by
// id, else by LEI, ISIN, CUSIP, then type and code), checks its links (parent
// of the same type and without a cycle, a SECTOR sector, a GEOGRAPHY
// geography) and writes it. Any failure rolls everything back.
import type { Prisma } from '../../db/database';
import type { Prisma as PrismaNamespace, ReferenceData, ReferenceEntityType } from '../../generated/prisma/client';
import { badInput, DomainError, notFound } from '../../errors';
import { withConflicts, type UniqueRule } from '../prismaErrors';
import type { Db } from './common';
import { ancestorChain, findEntitiesByIds } from './entities';
import { prismaRead } from '../../db/driverRows';
import { normaliseEntityInput, type EntityChanges, type ReferenceEntityFields } from './entityInput';
import { retryingSerialization } from '../time/retry';

const ENTITY_UNIQUE: readonly UniqueRule[] = [
  { index: 'reference_data_lei_key', columns: ['lei'], field: 'input.lei' },
  { index: 'reference_data_entity_type_code_key', columns: ['entity_type', 'code'], field: 'input.code' },
];

// Serialises re-parenting, so two concurrent moves cannot together close a
// cycle that each alone would not (each checks the chain the other changes).
const TREE_LOCK = 0x7265_6664; // "refd"

interface Probe {
  field: string;
  where: PrismaNamespace.ReferenceDataWhereInput;
  matches(row: ReferenceData): boolean;
}

/** The identifiers that name an existing entity, in the order they decide which one is updated. */
function identifierProbes(c: EntityChanges): Probe[] {
  const probes: Probe[] = [];
  for (const key of ['lei', 'isin', 'cusip'] as const) {
    const value = c[key];
    if (value) probes.push({ field: `input.${key}`, where: { [key]: value }, matches: (row) => row[key] === value });
  }
  const { code, entityType } = c;
  if (code) probes.push({ field: 'input.code', where: { entityType, code }, matches: (row) => row.entityType === entityType && row.code === code });
  return probes;
}

/** The entity to update (null: create one). Identifiers naming two different entities are CONFLICT. */
async function findTarget(tx: Db, c: EntityChanges): Promise<ReferenceData | null> {
  let target = c.id ? await tx.referenceData.findUnique({ where: { id: c.id } }) : null;
  if (c.id && !target) throw notFound('input.id', `input.id "${c.id}" does not exist`);
  const probes = identifierProbes(c);
  if (probes.length === 0) return target;
  const candidates = await tx.referenceData.findMany({ where: { OR: probes.map((p) => p.where) }, orderBy: { id: 'asc' } });
  for (const probe of probes) {
    for (const row of candidates.filter((r) => probe.matches(r))) {
      target ??= row;
      if (row.id !== target.id) {
        throw new DomainError('CONFLICT', `${probe.field} already belongs to another entity ("${row.name}", ${row.id})`, probe.field);
      }
    }
  }
  return target;
}

function checkLink(found: Map<string, ReferenceData>, id: string | null | undefined, field: string, expected: ReferenceEntityType, role: string): void {
  if (!id) return;
  const row = found.get(id);
  if (!row) throw notFound(field, `${field} "${id}" does not exist`);
  if (row.entityType !== expected) throw badInput(field, `${field}: the ${role} must be a ${expected}, but "${row.name}" is a ${row.entityType}`);
}

async function checkNoCycle(tx: Db, parentId: string, selfId: string): Promise<void> {
  if (parentId === selfId) throw new DomainError('HIERARCHY_VIOLATION', 'input.parentId: an entity cannot be its own parent', 'input.parentId');
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${TREE_LOCK}::bigint)`;
  const chain = await ancestorChain(tx, parentId);
  if (chain.includes(selfId)) throw new DomainError('HIERARCHY_VIOLATION', 'input.parentId: the new parent lies below this entity, which would make a cycle', 'input.parentId');
}

async function checkLinks(tx: Db, c: EntityChanges, selfId: string | null): Promise<void> {
  const ids = [c.parentId, c.sectorId, c.geographyId].filter((id): id is string => typeof id === 'string');
  if (ids.length === 0) return;
  const found = new Map((await findEntitiesByIds(prismaRead(tx), ids)).map((row) => [row.id, row]));
  checkLink(found, c.parentId, 'input.parentId', c.entityType, 'parent');
  checkLink(found, c.sectorId, 'input.sectorId', 'SECTOR', 'sector');
  checkLink(found, c.geographyId, 'input.geographyId', 'GEOGRAPHY', 'geography');
  if (c.parentId && selfId) await checkNoCycle(tx, c.parentId, selfId);
}

/** The columns to write; fields left out stay undefined, which Prisma leaves untouched. */
function columns(c: EntityChanges) {
  return {
    name: c.name,
    code: c.code,
    ticker: c.ticker,
    cusip: c.cusip,
    isin: c.isin,
    lei: c.lei,
    parentEntityId: c.parentId,
    sectorId: c.sectorId,
    geographyId: c.geographyId,
    attributesJson: c.attributes as PrismaNamespace.InputJsonObject | undefined,
  };
}

/** Creates or updates a reference entity (see ReferenceEntityInput in schema.graphql). */
export async function upsertReferenceEntity(prisma: Prisma, input: ReferenceEntityFields): Promise<ReferenceData> {
  const changes = normaliseEntityInput(input);
  return withConflicts(ENTITY_UNIQUE, 'entity', () =>
    retryingSerialization(() => prisma.$transaction(async (tx) => {
      const target = await findTarget(tx, changes);
      if (target && target.entityType !== changes.entityType) {
        throw badInput('input.entityType', `input.entityType: "${target.name}" is a ${target.entityType}; the type of an entity cannot change`);
      }
      await checkLinks(tx, changes, target?.id ?? null);
      return target
        ? tx.referenceData.update({ where: { id: target.id }, data: columns(changes) })
        : tx.referenceData.create({ data: { entityType: changes.entityType, ...columns(changes) } });
    })),
  );
}
