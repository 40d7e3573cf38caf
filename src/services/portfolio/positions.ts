// Reads of positions and valuations: pages of many nodes' positions in one
// statement, and the latest valuation on or before a date for many positions
// in one statement (one index probe each on (position_id, as_of_date DESC)).
import type { Scope } from '../../auth/caller';
import { Prisma, PositionStatus, type Instrument, type PortfolioNode, type Position, type ReferenceData, type ValuationResult } from '../../generated/prisma/client';
import { ENTITY_COLUMNS_DRIVER, entitiesOf } from '../reference/entities';
import { INSTRUMENT_COLUMNS_TEXT, instrumentOf, type InstrumentText } from '../reference/instruments';
import { isUuid, validIds } from '../inputs';
import { decodeCursor, pageFrom, pageSize, type Page } from '../pagination';
import { knownSql, knownSqlOf, type KnownAt } from '../time/knownAt';
import { NODE_COLUMNS_DRIVER, nodeInScope, nodeTimes, type Read } from './nodes';
import { dateOf, decimalOf, driverQuery, epochMs, instantOf, optionalDateOf } from '../../db/driverRows';

/** Positions by id whose node is in scope (the loader's batch), through the driver. */
export async function findPositionsByIds(read: Read, ids: readonly string[], scope: Scope): Promise<Position[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return [];
  const rows = await read<PositionText>(...driverQuery(Prisma.sql`
    SELECT ${POSITION_COLUMNS_TEXT} FROM position p
    WHERE p.id = ANY(${valid}::uuid[])${scope ? Prisma.sql` AND EXISTS (SELECT 1 FROM portfolio_node n WHERE n.id = p.portfolio_node_id AND ${nodeInScope('n', scope)})` : Prisma.empty}`));
  return rows.map(positionOf);
}

export interface PositionPageArgs {
  status?: readonly PositionStatus[] | null;
  includeDescendants?: boolean | null;
  first?: number | null;
  after?: string | null;
  /** Relations of the page's positions the same statement reads (src/graphql/plan.ts: planPositions). */
  related?: PageRelated | null;
  /**
   * The model fields the page's rows are asked (src/graphql/plan.ts: planPositionColumns), sorted; the id
   * always comes. Null or absent: whole rows. A page of `id instrument { name }` reads two columns of
   * each position, not eleven typed into a Decimal, four Dates and strings.
   */
  columns?: readonly PositionColumn[] | null;
}

/** What a page's positions are asked that its statement can read beside them: each one's instrument, and that instrument's issuer. */
export interface PageRelated {
  instrument: boolean;
  issuer: boolean;
  /** Each position's node. */
  node: boolean;
  /** Dates (YYYY-MM-DD) of `valuation(asOf)` asked without knownAt: each position's latest valuation on or before each. */
  valuations: string[];
}

/** The rows a page's statement read beside its positions (PageRelated), handed to the caller to prime its loaders. */
export interface RelatedRows {
  /** The instruments of the positions, their issuers and their nodes: each once. */
  instruments: Instrument[];
  issuers: ReferenceData[];
  nodes: PortfolioNode[];
  /** Per position, one valuation per date asked (PageRelated.valuations' order): the one in force then, or null. */
  valuations: Map<string, (ValuationResult | null)[]>;
}

export type OnRelated = (rows: RelatedRows) => void;

/** The rows of `table` (with its alias) matching `where`, as one JSON array of their driver columns `columns` (the same names and values as their own read). */
const jsonRows = (columns: Prisma.Sql, table: string, where: Prisma.Sql) =>
  Prisma.sql`(SELECT json_agg(to_json(x)) FROM ${Prisma.raw(table)} CROSS JOIN LATERAL (SELECT ${columns}) x WHERE ${where})`;

/**
 * The final SELECT of both page statements: each owner's total with its page's rows (none: one row
 * with null position columns). With related rows asked: the instruments, issuers and nodes of all the
 * pages' positions, each read once by its key (not once per position), as one JSON object on the first
 * row; each position's valuations on the dates asked as columns of its row.
 */
function pagesSelect(related: PageRelated | null | undefined, fields: readonly (keyof typeof COLUMN_TEXT)[]): Prisma.Sql {
  const columns: Prisma.Sql[] = [];
  const shared: Prisma.Sql[] = [];
  const instruments = Prisma.sql`SELECT q."instrumentId" FROM paged q`;
  if (related?.instrument) shared.push(Prisma.sql`'instruments', ${jsonRows(INSTRUMENT_COLUMNS_TEXT, 'instrument i', Prisma.sql`i.id IN (${instruments})`)}`);
  if (related?.instrument && related.issuer) {
    shared.push(Prisma.sql`'issuers', ${jsonRows(Prisma.raw(ENTITY_COLUMNS_DRIVER),
      'reference_data e', Prisma.sql`e.id IN (SELECT i.issuer_id FROM instrument i WHERE i.id IN (${instruments}))`)}`);
  }
  if (related?.node) shared.push(Prisma.sql`'nodes', ${jsonRows(Prisma.raw(NODE_COLUMNS_DRIVER), 'portfolio_node n', Prisma.sql`n.id IN (SELECT q."portfolioNodeId" FROM paged q)`)}`);
  if (shared.length > 0) {
    columns.push(Prisma.sql`, CASE WHEN row_number() OVER (ORDER BY t.owner, pg.id) = 1 THEN json_build_object(${Prisma.join(shared, ', ')}) END AS related`);
  }
  (related?.valuations ?? []).forEach((asOf, k) => columns.push(Prisma.sql`, (${latestValuationSql(Prisma.sql`pg.id`, Prisma.sql`${asOf}::date`, knownSql('v', null))}) AS ${Prisma.raw(`"relatedValuation${k}"`)}`));
  return Prisma.sql`
    SELECT t.owner AS "ownerId", t.total, ${Prisma.raw(fields.map((field) => `pg."${field}"`).join(', '))}${columns.length > 0 ? Prisma.join(columns, '') : Prisma.empty}
    FROM totals t LEFT JOIN paged pg ON pg.owner = t.owner
    ORDER BY t.owner, pg.id`;
}

interface SharedJson {
  instruments?: InstrumentText[] | null;
  issuers?: ReferenceData[] | null;
  nodes?: PortfolioNode[] | null;
}

/** The rows of pagesSelect as one page per node asked (an empty one for a node without a row), related rows handed to onRelated. */
function pagesOf(
  rows: PageText[], nodeIds: readonly string[], first: number, after: unknown, related: PageRelated | null | undefined, onRelated: OnRelated | undefined,
): Map<string, Page<Position>> {
  const byOwner = new Map<string, { rows: Position[]; total: number }>();
  const found: RelatedRows = { instruments: [], issuers: [], nodes: [], valuations: new Map() };
  const valuationDates = related?.valuations ?? [];
  for (const row of rows) {
    const { ownerId, total } = row;
    let entry = byOwner.get(ownerId);
    if (!entry) byOwner.set(ownerId, (entry = { rows: [], total }));
    const shared = row.related;
    if (shared) {
      found.instruments = (shared.instruments ?? []).map(instrumentOf);
      found.issuers = entitiesOf(shared.issuers ?? []);
      found.nodes = nodeTimes(shared.nodes ?? []);
    }
    if (!row.id) continue;
    if (valuationDates.length > 0) {
      found.valuations.set(row.id, valuationDates.map((_, k) => {
        const json = (row as Record<string, unknown>)[`relatedValuation${k}`] as ValuationText | null;
        return json ? valuationOf(json) : null;
      }));
    }
    // Typed from the driver's row into a new object of the model's fields only (the page's own
    // columns, ownerId, total and the related JSON, stay behind with the driver's row).
    entry.rows.push(positionOf(row));
  }
  if (related && onRelated) onRelated(found);
  return new Map(nodeIds.map((id) => {
    const entry = byOwner.get(id) ?? { rows: [], total: 0 };
    return [id, pageFrom(entry.rows, first, entry.total, after, (p) => [p.id])];
  }));
}

type PageText = PositionText & { ownerId: string; total: number; related?: SharedJson | null };

/** A position's columns for Database.read (src/db/driverRows.ts) by model field, id first: NUMERIC and DATE as text, timestamps as milliseconds; positionOf types them as Prisma does. */
const COLUMN_TEXT = {
  id: 'p.id',
  portfolioNodeId: 'p.portfolio_node_id AS "portfolioNodeId"',
  instrumentId: 'p.instrument_id AS "instrumentId"',
  quantity: 'p.quantity::text AS quantity',
  baseCcy: 'p.base_ccy AS "baseCcy"',
  status: 'p.status',
  openedOn: 'p.opened_on::text AS "openedOn"',
  closedOn: 'p.closed_on::text AS "closedOn"',
  stateFrom: 'p.state_from::text AS "stateFrom"',
  createdAt: epochMs('p.created_at', 'createdAt'),
  updatedAt: epochMs('p.updated_at', 'updatedAt'),
} as const;

/** Every model field positionOf types (the whole row). */
const ALL_FIELDS = Object.keys(COLUMN_TEXT) as (keyof typeof COLUMN_TEXT)[];

/**
 * The model fields of a position a page can read alone (its page's `columns`): those the GraphQL
 * fields of Position read (src/graphql/plan.ts: POSITION_FIELD_COLUMNS). The id is always read.
 */
export type PositionColumn = 'portfolioNodeId' | 'instrumentId' | 'quantity' | 'baseCcy' | 'status' | 'openedOn' | 'closedOn';

/** The fields a page's rows read: every one (null columns), or the id and those asked (what the related rows need added). */
function pageFields(columns: readonly PositionColumn[] | null | undefined, related: PageRelated | null | undefined): readonly (keyof typeof COLUMN_TEXT)[] {
  if (!columns) return ALL_FIELDS;
  const asked = new Set<keyof typeof COLUMN_TEXT>(['id', ...columns]);
  if (related?.instrument) asked.add('instrumentId');
  if (related?.node) asked.add('portfolioNodeId');
  return ALL_FIELDS.filter((field) => asked.has(field));
}

const POSITION_COLUMNS_TEXT = Prisma.raw(ALL_FIELDS.map((field) => COLUMN_TEXT[field]).join(', '));

/** The SELECT list of these fields (alias p), as a statement fragment. */
const columnsText = (fields: readonly (keyof typeof COLUMN_TEXT)[]) =>
  fields === ALL_FIELDS ? POSITION_COLUMNS_TEXT : Prisma.raw(fields.map((field) => COLUMN_TEXT[field]).join(', '));

type PositionText = Omit<Position, 'quantity' | 'openedOn' | 'closedOn' | 'stateFrom' | 'createdAt' | 'updatedAt'> &
  { quantity: string; openedOn: string; closedOn: string | null; stateFrom: string; createdAt: number; updatedAt: number };

/**
 * A row of the driver's position columns as Prisma types the model (one object literal of a fixed
 * shape: no copies of the driver's row). A page read with `columns` leaves the fields it did not read
 * undefined: its rows go to the GraphQL fields that asked for them alone (never to positionById).
 */
const positionOf = (row: PositionText): Position =>
  ({
    id: row.id, portfolioNodeId: row.portfolioNodeId, instrumentId: row.instrumentId,
    quantity: row.quantity === undefined ? undefined : decimalOf(row.quantity), baseCcy: row.baseCcy, status: row.status,
    openedOn: row.openedOn === undefined ? undefined : dateOf(row.openedOn),
    closedOn: row.closedOn === undefined ? undefined : optionalDateOf(row.closedOn),
    stateFrom: row.stateFrom === undefined ? undefined : dateOf(row.stateFrom),
    createdAt: row.createdAt === undefined ? undefined : instantOf(row.createdAt),
    updatedAt: row.updatedAt === undefined ? undefined : instantOf(row.updatedAt),
  }) as Position;

/**
 * The positions after a page's cursor (all of them without one), as a bound of the (node, status, id)
 * index's range whatever the value: a statement prepared once (src/db/prepared.ts) may run on a plan
 * made for no value in particular, where `$1 IS NULL OR p.id > $1` would be a filter on the whole
 * range and a page deep into a large node would walk every entry before it.
 */
const afterIdSql = (afterId: string | null): Prisma.Sql =>
  Prisma.sql`p.id >= COALESCE(${afterId}::uuid, '00000000-0000-0000-0000-000000000000'::uuid) AND (${afterId}::uuid IS NULL OR p.id <> ${afterId}::uuid)`;

/** Which walk pages of a subtree take (walkedPages): chosen per owner ('auto'), or forced, for tests comparing the two. */
export const PAGE_WALK: { by: 'auto' | 'id' | 'node' } = { by: 'auto' };

/**
 * Each owner's page (the statement's `owners` and `totals` CTEs): the first first + 1 positions in id
 * order after the cursor that are in one of `statuses` (the statuses walked) and pass `filter`, as
 * rows of `fields`. Two walks, chosen per owner in the statement by what it holds:
 *   - by node: for each of its nodes and each status, a range of position_node_status_id_xidx in id
 *     order (index-only, first + 1 ids at most each), merged and cut to the page. Reading a node's
 *     positions whole and sorting them cost 100 ms and more per level of a tree at a million
 *     positions; only the page's rows are read whole.
 *   - by id: the table's primary key in id order, each position tested for its node (the owner's
 *     nodes as one array) and state, until the page is full: about (first + 1) / share entries for
 *     an owner holding that share of all positions, each read from the table. For an owner of many
 *     nodes holding a large share (a fund), that is far fewer than its nodes' ranges merged: a fund's
 *     page of 100 over 81 nodes at a million positions read 11,000 ids (and, as of a past date,
 *     looked 4,472 of them up in position_version) to keep 101; as of a past date 38-40 -> 11-14 ms.
 * The owner is walked by id when it has more than one node and its positions' share of the table
 * (its total over position's estimated row count) is above 3 / (nodes x statuses walked): the by-id
 * walk's reads of the table, counted three to an index entry, against the by-node walk's entries
 * (PAGE_WALK.by forces one walk: the tests check both give the same pages). The by-id walk tests
 * the node as `(... = ANY (nodes)) IS TRUE`, which no index answers: given the node indexes,
 * PostgreSQL read a fund's entries whole from them and sorted them (439 ms at a million positions).
 * Each page row is then read by its id (LATERAL ... LIMIT 1: never a scan of the table joined).
 */
function walkedPages(
  fields: readonly (keyof typeof COLUMN_TEXT)[], first: number, afterId: string | null, statuses: string[], filter: Prisma.Sql,
  includeDescendants: boolean,
): Prisma.Sql {
  const byNode = (owner: Prisma.Sql) => Prisma.sql`
        SELECT q.id FROM owners o
        CROSS JOIN unnest(${statuses}::position_status[]) AS st (status)
        CROSS JOIN LATERAL (
          SELECT p.id FROM position p
          WHERE p.portfolio_node_id = o.node_id AND p.status = st.status AND ${afterIdSql(afterId)} AND ${filter}
          ORDER BY p.id LIMIT ${first + 1}
        ) q
        WHERE ${owner}
        ORDER BY q.id LIMIT ${first + 1}`;
  // Owners of one node each (no descendants): walked by node, no choice to make.
  if (!includeDescendants && PAGE_WALK.by !== 'id') {
    return Prisma.sql`SELECT w.owner, ${columnsText(fields)} FROM (SELECT DISTINCT owner FROM owners) w
      CROSS JOIN LATERAL (${byNode(Prisma.sql`o.owner = w.owner`)}) k JOIN position p ON p.id = k.id`;
  }
  const byId = PAGE_WALK.by === 'id' ? Prisma.sql`TRUE` : PAGE_WALK.by === 'node' ? Prisma.sql`FALSE` : Prisma.sql`(
      count(DISTINCT o.node_id) > 1 AND t.total::float8 * count(DISTINCT o.node_id) * ${statuses.length}::int
        > 3 * (SELECT greatest(c.reltuples, 0) FROM pg_class c WHERE c.oid = 'position'::regclass))`;
  return Prisma.sql`SELECT w.owner, ${columnsText(fields)} FROM (
      SELECT o.owner, array_agg(DISTINCT o.node_id) AS nodes,
        ${byId} AS by_id
      FROM owners o JOIN totals t ON t.owner = o.owner
      GROUP BY o.owner, t.total
    ) w
    CROSS JOIN LATERAL (
      SELECT d.id FROM (
        SELECT p.id FROM position p
        WHERE w.by_id AND (p.portfolio_node_id = ANY (w.nodes)) IS TRUE AND p.status = ANY (${statuses}::position_status[])
          AND ${afterIdSql(afterId)} AND ${filter}
        ORDER BY p.id LIMIT ${first + 1}
      ) d
      UNION ALL
      SELECT n.id FROM (${byNode(Prisma.sql`NOT w.by_id AND o.owner = w.owner`)}) n
    ) k CROSS JOIN LATERAL (SELECT * FROM position r WHERE r.id = k.id LIMIT 1) p`;
}

/**
 * One page of positions (ordered by id) for each of many nodes, with each
 * node's total, in one statement. With includeDescendants a node owns the
 * positions of its whole subtree (recursive, cycle-safe).
 *
 * Plan shape: totals sum the owners' counts kept per node and status
 * (node_position_count), in the states asked. Each owner's page
 * merges, for each of its nodes and each status, the first first + 1 rows after
 * the cursor in id order (a range of the same index), so no node's positions
 * are read whole. With countOnly (the client asked for totalCount alone) no
 * page is read at all.
 */
export async function positionPages(
  read: Read,
  nodeIds: readonly string[],
  args: PositionPageArgs & { countOnly?: boolean },
  scope: Scope,
  onRelated?: OnRelated,
): Promise<Map<string, Page<Position>>> {
  const first = pageSize(args.first);
  const after = decodeCursor(args.after, ['uuid']);
  const afterId = after ? (after[0] as string) : null;
  const ids = validIds(nodeIds);
  const statuses = args.status && args.status.length > 0 ? [...args.status] : null;
  const owners = ownersCte(ids, args.includeDescendants ?? false, scope);
  const wantRows = !args.countOnly && first > 0;
  const fields = pageFields(args.columns, args.related);
  const pageStatuses = statuses ? [...new Set(statuses)] : Object.values(PositionStatus);
  const paged = wantRows
    ? walkedPages(fields, first, afterId, pageStatuses, Prisma.sql`TRUE`, args.includeDescendants ?? false)
    : Prisma.sql`SELECT NULL::uuid AS owner, ${columnsText(fields)} FROM position p WHERE FALSE`;
  // Through the driver (src/db/driverRows.ts): Prisma's decoding of 600 rows was a sixth of a tree's CPU.
  const rows = ids.length === 0 ? [] : await read<PageText>(...driverQuery(Prisma.sql`
    ${owners},
    -- The counts the database keeps per node and status (node_position_count): index-only sums of a few deltas.
    totals AS (
      SELECT o.owner, COALESCE(sum(c.delta), 0)::int AS total
      FROM owners o LEFT JOIN node_position_count c ON c.portfolio_node_id = o.node_id
        AND (${statuses}::position_status[] IS NULL OR c.status = ANY(${statuses}::position_status[]))
      GROUP BY o.owner
    ),
    paged AS (${paged})${pagesSelect(wantRows ? args.related : null, fields)}`));
  return pagesOf(rows, nodeIds, first, after, wantRows ? args.related : null, onRelated);
}

/** valuation_result's columns (alias v) under the model's names, for Database.read: NUMERIC and DATE as text, timestamps as epoch ms (valuationOf). */
const VALUATION_COLUMNS_TEXT = Prisma.raw(`v.id, v.position_id AS "positionId", v.portfolio_node_id AS "portfolioNodeId", v.as_of_date::text AS "asOfDate",
  v.market_value::text AS "marketValue", v.currency, v.valid_to::text AS "validTo", ${epochMs('v.recorded_at', 'recordedAt')},
  ${epochMs('v.superseded_at', 'supersededAt')}, ${epochMs('v.created_at', 'createdAt')}, ${epochMs('v.updated_at', 'updatedAt')}`);

type ValuationText = Record<keyof ValuationResult, unknown>;

/** A valuation as Prisma returns it, from its VALUATION_COLUMNS_TEXT row (or that row's JSON). */
export const valuationOf = (row: Record<string, unknown>): ValuationResult => ({
  ...(row as unknown as ValuationResult),
  asOfDate: dateOf(row.asOfDate as string),
  marketValue: decimalOf(row.marketValue as string),
  validTo: optionalDateOf(row.validTo as string | null),
  recordedAt: instantOf(row.recordedAt as number),
  supersededAt: row.supersededAt === null ? null : instantOf(row.supersededAt as number),
  createdAt: instantOf(row.createdAt as number),
  updatedAt: instantOf(row.updatedAt as number),
});

/** valuation_result v with x its VALUATION_COLUMNS_TEXT (to_json(x): a valuation as one JSON object). */
export const VALUATION_ROWS = Prisma.sql`valuation_result v CROSS JOIN LATERAL (SELECT ${VALUATION_COLUMNS_TEXT}) x`;

/**
 * The latest valuation (as JSON) of the position `positionId` dated on or before `asOf` as `known`
 * (knownSql or knownSqlOf on alias v): all three SQL expressions of the enclosing statement.
 */
const latestValuationSql = (positionId: Prisma.Sql, asOf: Prisma.Sql, known: Prisma.Sql) => Prisma.sql`
  SELECT to_json(x) FROM ${VALUATION_ROWS}
  WHERE v.position_id = ${positionId} AND v.as_of_date <= ${asOf} AND ${known}
  ORDER BY v.as_of_date DESC LIMIT 1`;

/** A position, a date and a moment (null: now): Position.valuation(asOf, knownAt). */
export interface ValuationKey {
  positionId: string;
  asOf: string;
  knownAt: KnownAt;
}

/**
 * For each key, the position's latest valuation dated on or before the date as known at the moment (null:
 * none): one statement for every key, whatever their dates and moments (one index probe each).
 */
export async function latestValuations(read: Read, keys: readonly ValuationKey[]): Promise<(ValuationResult | null)[]> {
  if (keys.length === 0) return [];
  const rows = await read<{ valuation: ValuationText | null }>(...driverQuery(Prisma.sql`
    SELECT (${latestValuationSql(Prisma.sql`k.id`, Prisma.sql`k.as_of`, knownSqlOf('v', Prisma.sql`k.known_at`))}) AS valuation
    FROM unnest(${keys.map((k) => (isUuid(k.positionId) ? k.positionId : null))}::uuid[], ${keys.map((k) => k.asOf)}::date[],
                ${keys.map((k) => k.knownAt)}::timestamptz[]) WITH ORDINALITY AS k (id, as_of, known_at, n)
    ORDER BY k.n`));
  return rows.map((row) => (row.valuation ? valuationOf(row.valuation) : null));
}

/**
 * Whether position `p` was in one of `statuses` on date D, as known at K (null: now). As known now - or
 * at K for a position nothing was recorded about since K (last_recorded_at, kept by triggers) - a
 * position whose latest state began on or before D is in that state on D; only one changed since D
 * looks up its current version covering D (no two overlap). A position recorded since K looks up the
 * version covering D as known at K. The look-ups are scalar subqueries under CASE, run only for the
 * positions that need one (an index probe on (position_id, valid_from) each): written as EXISTS, the
 * planner hashed every version of the table instead (a sequential scan per statement, 60 ms at 100,000
 * positions).
 */
function heldOnSql(asOf: string, knownAt: KnownAt, statuses: string[]): Prisma.Sql {
  const covering = (alias: string, known: Prisma.Sql) => Prisma.sql`(SELECT ${Prisma.raw(alias)}.status FROM position_version ${Prisma.raw(alias)}
      WHERE ${Prisma.raw(alias)}.position_id = p.id AND ${known} AND ${Prisma.raw(alias)}.valid_from <= ${asOf}::date
        AND (${Prisma.raw(alias)}.valid_to IS NULL OR ${Prisma.raw(alias)}.valid_to > ${asOf}::date) LIMIT 1)`;
  const present = Prisma.sql`CASE WHEN p.state_from <= ${asOf}::date THEN p.status ELSE ${covering('cv', knownSql('cv', null))} END`;
  const state = knownAt === null
    ? present
    : Prisma.sql`CASE WHEN p.last_recorded_at <= ${knownAt}::timestamptz THEN ${present} ELSE ${covering('kv', knownSql('kv', knownAt))} END`;
  // Written as "in none of the other states" (a NULL state - no version covering D - passes neither
  // form): the planner then expects most of a node's positions to pass, as they do, and walks the
  // (node, status, id) index in id order up to the page's end; "= ANY (statuses)" on an expression
  // it estimates at one row in 200, and sorted every position of the node instead.
  const others = Object.values(PositionStatus).filter((status) => !statuses.includes(status));
  return others.length === 0
    ? Prisma.sql`(${state}) IS NOT NULL`
    : Prisma.sql`(${state}) <> ALL (${others}::position_status[])`;
}

/**
 * The number of positions of node `node` (an SQL expression) in one of `statuses` on date D as known
 * at K (null: now), from the counts the database keeps (migration 20261207000000): the node's count
 * in those states now (node_position_count) minus its version events dated after D and, as known at
 * K, those stamped after K (node_position_change). Index-only ranges of the events after D and K:
 * short for the recent dates and moments screens ask, whatever the number of positions.
 */
export function heldCountSql(node: string, asOf: string, knownAt: KnownAt, statuses: string[]): Prisma.Sql {
  const n = Prisma.raw(node);
  const now = Prisma.sql`(SELECT COALESCE(sum(c.delta), 0) FROM node_position_count c
      WHERE c.portfolio_node_id = ${n} AND c.status = ANY (${statuses}::position_status[]))
    - (SELECT COALESCE(sum(e.delta), 0) FROM node_position_change e
      WHERE e.portfolio_node_id = ${n} AND e.status = ANY (${statuses}::position_status[]) AND e.day > ${asOf}::date)`;
  if (knownAt === null) return Prisma.sql`(${now})`;
  return Prisma.sql`(${now}
    - (SELECT COALESCE(sum(e.delta), 0) FROM node_position_change e
      WHERE e.portfolio_node_id = ${n} AND e.status = ANY (${statuses}::position_status[])
        AND e.stamp > ${knownAt}::timestamptz AND e.day <= ${asOf}::date))`;
}

/**
 * One page of positions (ordered by id) for each of many nodes as they stood on `asOf`, as known at
 * K: those in one of `statuses` on that date (ACTIVE: held; heldOnSql). With includeDescendants a node
 * owns the positions of its whole subtree. Totals count the owners' positions held then (heldCountSql: no position read);
 * each owner's page walks, for each of its nodes, its positions in id order after the cursor until it
 * has first + 1 held on the date, and merges them - so a page never sorts a node's positions whole.
 * Only the merged page's positions are read whole (the walks keep ids: 57 -> 47 ms for a fund's page
 * of 100 at a million positions, most of the rest the look-ups of positions changed since the date).
 */
export async function positionPagesAsOf(
  read: Read,
  nodeIds: readonly string[],
  args: PositionPageArgs & { countOnly?: boolean; asOf: string; knownAt: KnownAt },
  scope: Scope,
  onRelated?: OnRelated,
): Promise<Map<string, Page<Position>>> {
  const first = pageSize(args.first);
  const after = decodeCursor(args.after, ['uuid']);
  const afterId = after ? (after[0] as string) : null;
  const ids = validIds(nodeIds);
  const statuses = args.status && args.status.length > 0 ? [...new Set(args.status)] : ['ACTIVE'];
  const held = heldOnSql(args.asOf, args.knownAt, statuses);
  const wantRows = !args.countOnly && first > 0;
  const fields = pageFields(args.columns, args.related);
  const paged = wantRows
    ? walkedPages(fields, first, afterId, Object.values(PositionStatus), held, args.includeDescendants ?? false)
    : Prisma.sql`SELECT NULL::uuid AS owner, ${columnsText(fields)} FROM position p WHERE FALSE`;
  const rows = ids.length === 0 ? [] : await read<PageText>(...driverQuery(Prisma.sql`
    ${ownersCte(ids, args.includeDescendants ?? false, scope)},
    totals AS (
      SELECT o.owner, COALESCE(sum(${heldCountSql('o.node_id', args.asOf, args.knownAt, statuses)}), 0)::int AS total
      FROM owners o
      GROUP BY o.owner
    ),
    paged AS (${paged})${pagesSelect(wantRows ? args.related : null, fields)}`));
  return pagesOf(rows, nodeIds, first, after, wantRows ? args.related : null, onRelated);
}

/** The owners of positions: each asked node (in scope), and with includeDescendants every node below it. */
function ownersCte(ids: string[], includeDescendants: boolean, scope: Scope): Prisma.Sql {
  return includeDescendants
    ? Prisma.sql`WITH RECURSIVE owners (owner, node_id, path) AS (
          SELECT n.id, n.id, ARRAY[n.id] FROM portfolio_node n WHERE n.id = ANY(${ids}::uuid[]) AND ${nodeInScope('n', scope)}
          UNION ALL
          SELECT o.owner, c.id, o.path || c.id FROM owners o JOIN portfolio_node c ON c.parent_id = o.node_id
          WHERE c.id <> ALL (o.path))`
    : Prisma.sql`WITH owners (owner, node_id) AS (
          SELECT n.id, n.id FROM portfolio_node n WHERE n.id = ANY(${ids}::uuid[]) AND ${nodeInScope('n', scope)})`;
}
