// Reads of positions and valuations: pages of many nodes' positions in one
// statement, and the latest valuation on or before a date for many positions
// in one statement (one index probe each on (position_id, as_of_date DESC)).
import type { Scope } from '../../auth/caller';
import type { Prisma as Db } from '../../db/database';
import { Prisma, PositionStatus, type Position, type ValuationResult } from '../../generated/prisma/client';
import { isoDate, validIds } from '../inputs';
import { decodeCursor, pageFrom, pageSize, type Page } from '../pagination';
import { knownSql, type KnownAt } from '../time/knownAt';
import { inScope, nodeInScope, type Read } from './nodes';
import { dateOf, decimalOf, driverQuery, epochMs, instantOf, optionalDateOf } from '../../db/driverRows';

export function findPositionsByIds(prisma: Db, ids: readonly string[], scope: Scope): Promise<Position[]> {
  const valid = validIds(ids);
  if (valid.length === 0) return Promise.resolve([]);
  return prisma.position.findMany({ where: { id: { in: valid }, ...(scope ? { node: inScope(scope) } : {}) } });
}

export interface PositionPageArgs {
  status?: readonly PositionStatus[] | null;
  includeDescendants?: boolean | null;
  first?: number | null;
  after?: string | null;
}

type PageText = PositionText & { ownerId: string; total: number };

/** A position's columns for Database.read (src/db/driverRows.ts): NUMERIC and DATE as text, timestamps as milliseconds; positionOf types them as Prisma does. */
const POSITION_COLUMNS_TEXT = Prisma.raw(
  `p.id, p.portfolio_node_id AS "portfolioNodeId", p.instrument_id AS "instrumentId", p.quantity::text AS quantity,
   p.base_ccy AS "baseCcy", p.status, p.opened_on::text AS "openedOn", p.closed_on::text AS "closedOn", p.state_from::text AS "stateFrom",
   ${epochMs('p.created_at', 'createdAt')}, ${epochMs('p.updated_at', 'updatedAt')}`,
);

type PositionText = Omit<Position, 'quantity' | 'openedOn' | 'closedOn' | 'stateFrom' | 'createdAt' | 'updatedAt'> &
  { quantity: string; openedOn: string; closedOn: string | null; stateFrom: string; createdAt: number; updatedAt: number };

/** A row of POSITION_COLUMNS_TEXT as Prisma types the model. */
const positionOf = (row: PositionText): Position =>
  ({
    ...row, quantity: decimalOf(row.quantity), openedOn: dateOf(row.openedOn), closedOn: optionalDateOf(row.closedOn), stateFrom: dateOf(row.stateFrom),
    createdAt: instantOf(row.createdAt), updatedAt: instantOf(row.updatedAt),
  }) as Position;

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
): Promise<Map<string, Page<Position>>> {
  const first = pageSize(args.first);
  const after = decodeCursor(args.after, ['uuid']);
  const afterId = after ? (after[0] as string) : null;
  const ids = validIds(nodeIds);
  const statuses = args.status && args.status.length > 0 ? [...args.status] : null;
  const owners = ownersCte(ids, args.includeDescendants ?? false, scope);
  const wantRows = !args.countOnly && first > 0;
  // Each owner's page: for every node it owns and every status asked, the first rows in id order
  // straight from position_portfolio_node_id_status_id_idx (a short index range each), merged
  // and cut to the page. Reading a node's positions whole and sorting them cost 100 ms and more
  // per level of a tree at a million positions.
  const pageStatuses = statuses ? [...new Set(statuses)] : Object.values(PositionStatus);
  const paged = wantRows
    ? Prisma.sql`SELECT w.owner, pg.* FROM (SELECT DISTINCT owner FROM owners) w
        CROSS JOIN LATERAL (
          SELECT q.* FROM owners o
          CROSS JOIN unnest(${pageStatuses}::position_status[]) AS st (status)
          CROSS JOIN LATERAL (
            SELECT ${POSITION_COLUMNS_TEXT} FROM position p
            WHERE p.portfolio_node_id = o.node_id AND p.status = st.status
              AND (${afterId}::uuid IS NULL OR p.id > ${afterId}::uuid)
            ORDER BY p.id LIMIT ${first + 1}
          ) q
          WHERE o.owner = w.owner
          ORDER BY q.id LIMIT ${first + 1}
        ) pg`
    : Prisma.sql`SELECT NULL::uuid AS owner, ${POSITION_COLUMNS_TEXT} FROM position p WHERE FALSE`;
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
    paged AS (${paged})
    SELECT t.owner AS "ownerId", t.total, pg.id, pg."portfolioNodeId", pg."instrumentId", pg.quantity,
           pg."baseCcy", pg.status, pg."openedOn", pg."closedOn", pg."stateFrom", pg."createdAt", pg."updatedAt"
    FROM totals t LEFT JOIN paged pg ON pg.owner = t.owner
    ORDER BY t.owner, pg.id`));
  const pages = new Map<string, Page<Position>>();
  const byOwner = new Map<string, { rows: Position[]; total: number }>();
  for (const { ownerId, total, ...position } of rows) {
    const entry = byOwner.get(ownerId) ?? { rows: [], total };
    if (position.id) entry.rows.push(positionOf(position));
    byOwner.set(ownerId, entry);
  }
  for (const id of nodeIds) {
    const entry = byOwner.get(id) ?? { rows: [], total: 0 };
    pages.set(id, pageFrom(entry.rows, first, entry.total, after, (p) => [p.id]));
  }
  return pages;
}

/** For each position, its latest valuation dated on or before `asOf` as known at K (absent when none). */
export function latestValuations(prisma: Db, positionIds: readonly string[], asOf: Date, knownAt: KnownAt = null): Promise<ValuationResult[]> {
  const ids = validIds(positionIds);
  if (ids.length === 0) return Promise.resolve([]);
  return prisma.$queryRaw<ValuationResult[]>`
    SELECT v.id, v.position_id AS "positionId", v.as_of_date AS "asOfDate", v.market_value AS "marketValue",
           v.currency, v.valid_to AS "validTo", v.recorded_at AS "recordedAt", v.superseded_at AS "supersededAt",
           v.created_at AS "createdAt", v.updated_at AS "updatedAt"
    FROM unnest(${ids}::uuid[]) AS k(id)
    CROSS JOIN LATERAL (
      SELECT * FROM valuation_result r
      WHERE r.position_id = k.id AND r.as_of_date <= ${isoDate(asOf)}::date AND ${knownSql('r', knownAt)}
      ORDER BY r.as_of_date DESC LIMIT 1
    ) v`;
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
function heldCountSql(node: string, asOf: string, knownAt: KnownAt, statuses: string[]): Prisma.Sql {
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
 */
export async function positionPagesAsOf(
  read: Read,
  nodeIds: readonly string[],
  args: PositionPageArgs & { countOnly?: boolean; asOf: string; knownAt: KnownAt },
  scope: Scope,
): Promise<Map<string, Page<Position>>> {
  const first = pageSize(args.first);
  const after = decodeCursor(args.after, ['uuid']);
  const afterId = after ? (after[0] as string) : null;
  const ids = validIds(nodeIds);
  const statuses = args.status && args.status.length > 0 ? [...new Set(args.status)] : ['ACTIVE'];
  const held = heldOnSql(args.asOf, args.knownAt, statuses);
  const wantRows = !args.countOnly && first > 0;
  const paged = wantRows
    ? Prisma.sql`SELECT w.owner, pg.* FROM (SELECT DISTINCT owner FROM owners) w
        CROSS JOIN LATERAL (
          SELECT q.* FROM owners o
          CROSS JOIN unnest(${Object.values(PositionStatus)}::position_status[]) AS st (status)
          CROSS JOIN LATERAL (
            SELECT ${POSITION_COLUMNS_TEXT} FROM position p
            WHERE p.portfolio_node_id = o.node_id AND p.status = st.status AND (${afterId}::uuid IS NULL OR p.id > ${afterId}::uuid) AND ${held}
            ORDER BY p.id LIMIT ${first + 1}
          ) q
          WHERE o.owner = w.owner
          ORDER BY q.id LIMIT ${first + 1}
        ) pg`
    : Prisma.sql`SELECT NULL::uuid AS owner, ${POSITION_COLUMNS_TEXT} FROM position p WHERE FALSE`;
  const rows = ids.length === 0 ? [] : await read<PageText>(...driverQuery(Prisma.sql`
    ${ownersCte(ids, args.includeDescendants ?? false, scope)},
    totals AS (
      SELECT o.owner, COALESCE(sum(${heldCountSql('o.node_id', args.asOf, args.knownAt, statuses)}), 0)::int AS total
      FROM owners o
      GROUP BY o.owner
    ),
    paged AS (${paged})
    SELECT t.owner AS "ownerId", t.total, pg.id, pg."portfolioNodeId", pg."instrumentId", pg.quantity,
           pg."baseCcy", pg.status, pg."openedOn", pg."closedOn", pg."stateFrom", pg."createdAt", pg."updatedAt"
    FROM totals t LEFT JOIN paged pg ON pg.owner = t.owner
    ORDER BY t.owner, pg.id`));
  const byOwner = new Map<string, { rows: Position[]; total: number }>();
  for (const { ownerId, total, ...position } of rows) {
    const entry = byOwner.get(ownerId) ?? { rows: [], total };
    if (position.id) entry.rows.push(positionOf(position));
    byOwner.set(ownerId, entry);
  }
  return new Map(nodeIds.map((id) => {
    const entry = byOwner.get(id) ?? { rows: [], total: 0 };
    return [id, pageFrom(entry.rows, first, entry.total, after, (p) => [p.id])];
  }));
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
