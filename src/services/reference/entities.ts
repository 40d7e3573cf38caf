// Reads of reference entities: by id, children, the ancestor chain and the
// paged, searchable list. Plain functions over Prisma; no GraphQL here.
import type { Prisma } from '../../db/database';
import type { Prisma as PrismaNamespace, ReferenceData, ReferenceEntityType } from '../../generated/prisma/client';
import { badInput } from '../../errors';
import { likeLiteral, optionalText, validIds, isUuid } from '../inputs';
import { decodeCursor, pageFrom, pageSize, type Page } from '../pagination';
import type { Db } from './common';

type Where = PrismaNamespace.ReferenceDataWhereInput;

const BY_NAME: PrismaNamespace.ReferenceDataOrderByWithRelationInput[] = [{ name: 'asc' }, { id: 'asc' }];

export function findEntitiesByIds(db: Db, ids: readonly string[]): Promise<ReferenceData[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return Promise.resolve([]);
  return db.referenceData.findMany({ where: { id: { in: valid } } });
}

/** The children of many parents in one statement, ordered by name then id. */
export function findEntityChildren(db: Db, parentIds: readonly string[]): Promise<ReferenceData[]> {
  const valid = validIds(parentIds);
  if (valid.length === 0) return Promise.resolve([]);
  return db.referenceData.findMany({ where: { parentEntityId: { in: valid } }, orderBy: BY_NAME });
}

interface ChainRow {
  id: string;
}

/**
 * The entity and every entity above it, nearest first. The path array stops
 * the recursion should the stored data ever hold a cycle.
 */
export async function ancestorChain(db: Db, id: string): Promise<string[]> {
  const rows = await db.$queryRaw<ChainRow[]>`
    WITH RECURSIVE chain (id, parent_id, path, depth) AS (
      SELECT id, parent_entity_id, ARRAY[id], 0 FROM reference_data WHERE id = ${id}::uuid
      UNION ALL
      SELECT r.id, r.parent_entity_id, c.path || r.id, c.depth + 1
      FROM chain c JOIN reference_data r ON r.id = c.parent_id
      WHERE r.id <> ALL (c.path)
    )
    SELECT id::text AS id FROM chain ORDER BY depth`;
  return rows.map((row) => row.id);
}

export interface EntityListArgs {
  entityType?: ReferenceEntityType | null;
  search?: string | null;
  first?: number | null;
  after?: string | null;
}

/** Name contains the text (case-insensitive), or a code or identifier equals it (normalised). */
function searchWhere(search: string | null | undefined): Where {
  const text = optionalText(search, 'search', 200);
  if (text === null) return {};
  const identifier = text.toUpperCase();
  return {
    OR: [
      { name: { contains: likeLiteral(text), mode: 'insensitive' } },
      { code: identifier },
      { ticker: identifier },
      { isin: identifier },
      { cusip: identifier },
      { lei: identifier },
    ],
  };
}

function afterWhere(after: string | null | undefined): Where | null {
  const key = decodeCursor(after, ['string', 'uuid']);
  if (key === null) return null;
  const [name, id] = key as [string, string];
  if (!isUuid(id)) throw badInput('after', 'after is not a cursor returned by this list');
  return { OR: [{ name: { gt: name } }, { name, id: { gt: id } }] };
}

/** One page of entities ordered by name then id (keyset on [name, id]), with the count over all pages when `count` (NaN when not). */
export async function listReferenceEntities(prisma: Prisma, args: EntityListArgs, count = true): Promise<Page<ReferenceData>> {
  const first = pageSize(args.first);
  const cursor = afterWhere(args.after);
  const where: Where = { ...(args.entityType ? { entityType: args.entityType } : {}), ...searchWhere(args.search) };
  const [rows, totalCount] = await Promise.all([
    prisma.referenceData.findMany({ where: cursor ? { AND: [where, cursor] } : where, orderBy: BY_NAME, take: first + 1 }),
    count ? prisma.referenceData.count({ where }) : Number.NaN,
  ]);
  return pageFrom(rows, first, totalCount, args.after, (row) => [row.name, row.id]);
}
