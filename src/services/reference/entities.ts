// Reads of reference entities: by id, children, the ancestor chain and the
// paged, searchable list. Plain functions over the database; no GraphQL here.
import { Prisma as Sql, type RatingAgency, type RatingHistory, type ReferenceData, type ReferenceEntityType } from '../../generated/prisma/client';
import { ratingAsOfJson, ratingsJson, ratingsOf, type RatingColumn, type RatingFilter } from './ratings';
import { driverQuery, epochMs, instantOf } from '../../db/driverRows';
import type { Read } from '../portfolio/nodes';
import { badInput } from '../../errors';
import { likeLiteral, optionalText, validIds, isUuid } from '../inputs';
import { decodeCursor, pageFrom, pageSize, rowsAndTotal, withTotal, type Page } from '../pagination';
import type { Db } from './common';


/** The columns of reference_data under the names of the Prisma model (alias e), for Database.read (src/db/driverRows.ts), by model field. */
const ENTITY_COLUMN_TEXT = {
  id: 'e.id', entityType: 'e.entity_type AS "entityType"', name: 'e.name', code: 'e.code', ticker: 'e.ticker', cusip: 'e.cusip', isin: 'e.isin',
  lei: 'e.lei', parentEntityId: 'e.parent_entity_id AS "parentEntityId"', sectorId: 'e.sector_id AS "sectorId"', geographyId: 'e.geography_id AS "geographyId"',
  ultimateParentId: 'e.ultimate_parent_id AS "ultimateParentId"', attributesJson: 'e.attributes_json AS "attributesJson"',
  createdAt: epochMs('e.created_at', 'createdAt'), updatedAt: epochMs('e.updated_at', 'updatedAt'),
} as const;

/** Every column of reference_data, for Database.read. */
export const ENTITY_COLUMNS_DRIVER = Object.values(ENTITY_COLUMN_TEXT).join(', ');

/**
 * The model fields of an entity a list can read alone (its `columns`): those the GraphQL fields of
 * ReferenceEntity read (src/graphql/plan.ts: ENTITY_FIELD_COLUMNS). The id and the name (the list's
 * cursor) are always read.
 */
export type EntityColumn = 'entityType' | 'code' | 'ticker' | 'cusip' | 'isin' | 'lei' | 'parentEntityId' | 'sectorId' | 'geographyId' | 'attributesJson';

/** Rows read with ENTITY_COLUMNS_DRIVER as Prisma returns them (timestamps as Dates; a list read with columns has none). */
export function entitiesOf<T extends ReferenceData>(rows: T[]): T[] {
  for (const row of rows) {
    if (row.createdAt !== undefined) row.createdAt = instantOf(row.createdAt as unknown as number);
    if (row.updatedAt !== undefined) row.updatedAt = instantOf(row.updatedAt as unknown as number);
  }
  return rows;
}

/** Entities by id (the loader's batch), through the driver (prismaRead for a Prisma client). */
export async function findEntitiesByIds(read: Read, ids: readonly string[]): Promise<ReferenceData[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return [];
  return entitiesOf(await read<ReferenceData>(`SELECT ${ENTITY_COLUMNS_DRIVER} FROM reference_data e WHERE e.id = ANY($1::uuid[])`, [valid]));
}

/** How many links findEntitiesWithLinks follows: an issuer, its sector, the sector's parent and that one's parent. */
export const ENTITY_LINK_DEPTH = 3;

/**
 * Entities by id and every entity they link to (parent, sector, geography), and the entities those link
 * to, up to ENTITY_LINK_DEPTH links away: one statement for what an issuer's card shows (its parent, its
 * sector and that sector's parent, its country...) instead of one per level. Each entity once, by
 * its primary key (an array computed once: a join with the walk was planned as a scan of the table).
 */
export async function findEntitiesWithLinks(read: Read, ids: readonly string[]): Promise<ReferenceData[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return [];
  return entitiesOf(await read<ReferenceData>(`
    WITH RECURSIVE linked (id, depth) AS (
      SELECT e.id, 0 FROM reference_data e WHERE e.id = ANY($1::uuid[])
      UNION
      SELECT x.id, l.depth + 1
      FROM linked l JOIN reference_data e ON e.id = l.id
      CROSS JOIN LATERAL (VALUES (e.parent_entity_id), (e.sector_id), (e.geography_id)) AS x (id)
      WHERE x.id IS NOT NULL AND l.depth < $2::int
    )
    SELECT ${ENTITY_COLUMNS_DRIVER} FROM reference_data e WHERE e.id = ANY (ARRAY(SELECT l.id FROM linked l))`, [valid, ENTITY_LINK_DEPTH]));
}

/** The children of many parents in one statement, ordered by name then id. */
export async function findEntityChildren(read: Read, parentIds: readonly string[]): Promise<ReferenceData[]> {
  const valid = validIds(parentIds);
  if (valid.length === 0) return [];
  return entitiesOf(await read<ReferenceData>(
    `SELECT ${ENTITY_COLUMNS_DRIVER} FROM reference_data e WHERE e.parent_entity_id = ANY($1::uuid[]) ORDER BY e.name, e.id`, [valid]));
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

/** Name contains the text (case-insensitive, taken literally), or a code or identifier equals it (normalised). */
function searchSql(search: string | null | undefined): Sql.Sql {
  const text = optionalText(search, 'search', 200);
  if (text === null) return Sql.sql`TRUE`;
  const identifier = text.toUpperCase();
  return Sql.sql`(e.name ILIKE ${`%${likeLiteral(text)}%`} OR e.code = ${identifier} OR e.ticker = ${identifier}
    OR e.isin = ${identifier} OR e.cusip = ${identifier} OR e.lei = ${identifier})`;
}

function afterSql(after: string | null | undefined): Sql.Sql {
  const key = decodeCursor(after, ['string', 'uuid']);
  if (key === null) return Sql.sql`TRUE`;
  const [name, id] = key as [string, string];
  if (!isUuid(id)) throw badInput('after', 'after is not a cursor returned by this list');
  return Sql.sql`(e.name, e.id) > (${name}, ${id}::uuid)`;
}

/** An entity of a list with, when asked, its ratings under each filter asked and its rating on each date asked (in their orders). */
export type ListedEntity = ReferenceData & { ratingLists?: RatingHistory[][]; ratingsAsOf?: (RatingHistory | null)[] };

/** A rating on a date asked of a list's entities (agency, 'YYYY-MM-DD'), known now. */
export interface RatingOnDate {
  agency: RatingAgency;
  asOf: string;
}

/**
 * One page of entities ordered by name then id (keyset on [name, id]), with the count over all pages
 * in the same statement when `count` (withTotal; NaN when not), and each entity's ratings under each of
 * `ratings` (the filters of the ratings its nodes ask), through the driver.
 */
export async function listReferenceEntities(
  read: Read, args: EntityListArgs, count = true, ratings: readonly RatingFilter[] = [], ratingsOn: readonly RatingOnDate[] = [],
  /** The fields the rows are asked (the id and name always come); null: whole rows. Rows read with columns lack the others. */
  columns: readonly EntityColumn[] | null = null,
  /** The fields the ratings are asked; null: whole ratings. Ratings read with columns lack the others. */
  ratingColumns: readonly RatingColumn[] | null = null,
): Promise<Page<ListedEntity>> {
  const first = pageSize(args.first);
  const where = Sql.sql`${args.entityType ? Sql.sql`e.entity_type = ${args.entityType}::reference_entity_type` : Sql.sql`TRUE`} AND ${searchSql(args.search)}`;
  const lists = [
    ...ratings.map((f, i) => Sql.sql`, ${ratingsJson(Sql.sql`e.id`, Sql.sql`${f.agency}`, Sql.sql`${f.from}`, Sql.sql`${f.to}`, ratingColumns)} AS ${Sql.raw(`"ratings${i}"`)}`),
    ...ratingsOn.map((r, i) => Sql.sql`, ${ratingAsOfJson(Sql.sql`e.id`, Sql.sql`${r.agency}`, Sql.sql`${r.asOf}`, Sql.sql`${null}`)} AS ${Sql.raw(`"rating${i}"`)}`),
  ];
  const statement = withTotal(
    Sql.sql`SELECT ${Sql.raw(columns ? ['id', 'name', ...columns].map((field) => ENTITY_COLUMN_TEXT[field as keyof typeof ENTITY_COLUMN_TEXT]).join(', ') : ENTITY_COLUMNS_DRIVER)}${lists.length > 0 ? Sql.join(lists, '') : Sql.empty}
      FROM reference_data e WHERE ${where} AND ${afterSql(args.after)} ORDER BY e.name, e.id LIMIT ${first + 1}`,
    count ? Sql.sql`SELECT count(*)::int FROM reference_data e WHERE ${where}` : null,
  );
  const found = rowsAndTotal(await read<ListedEntity & { totalCount?: number } & Record<string, unknown>>(...driverQuery(statement)), 'id', count);
  const rows = entitiesOf(found.rows).map((row) => {
    if (lists.length === 0) return row as ListedEntity;
    const ratingLists = ratings.map((_, i) => ratingsOf((row[`ratings${i}`] as Record<string, unknown>[] | null) ?? []));
    const ratingsAsOf = ratingsOn.map((_, i) => {
      const rating = row[`rating${i}`] as Record<string, unknown> | null;
      return rating ? ratingsOf([rating])[0]! : null;
    });
    for (let i = 0; i < ratings.length; i++) delete row[`ratings${i}`];
    for (let i = 0; i < ratingsOn.length; i++) delete row[`rating${i}`];
    return { ...row, ratingLists, ratingsAsOf } as ListedEntity;
  });
  return pageFrom(rows, first, found.total, args.after, (row) => [row.name, row.id]);
}
