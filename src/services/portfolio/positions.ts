// Reads of positions and valuations: pages of many nodes' positions in one
// statement, and the latest valuation on or before a date for many positions
// in one statement (one index probe each on (position_id, as_of_date DESC)).
import type { Scope } from '../../auth/caller';
import type { Prisma as Db } from '../../db/database';
import { Prisma, PositionStatus, type Position, type ValuationResult } from '../../generated/prisma/client';
import { isoDate, validIds } from '../inputs';
import { decodeCursor, pageFrom, pageSize, type Page } from '../pagination';
import { knownSql, type KnownAt } from '../time/knownAt';
import { inScope, nodeInScope } from './nodes';

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

interface PageRow extends Position {
  ownerId: string;
  total: number;
}

const POSITION_COLUMNS = Prisma.raw(
  `p.id, p.portfolio_node_id AS "portfolioNodeId", p.instrument_id AS "instrumentId", p.quantity,
   p.base_ccy AS "baseCcy", p.status, p.opened_on AS "openedOn", p.closed_on AS "closedOn", p.state_from AS "stateFrom",
   p.created_at AS "createdAt", p.updated_at AS "updatedAt"`,
);

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
  prisma: Db,
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
            SELECT ${POSITION_COLUMNS} FROM position p
            WHERE p.portfolio_node_id = o.node_id AND p.status = st.status
              AND (${afterId}::uuid IS NULL OR p.id > ${afterId}::uuid)
            ORDER BY p.id LIMIT ${first + 1}
          ) q
          WHERE o.owner = w.owner
          ORDER BY q.id LIMIT ${first + 1}
        ) pg`
    : Prisma.sql`SELECT NULL::uuid AS owner, ${POSITION_COLUMNS} FROM position p WHERE FALSE`;
  const rows = ids.length === 0 ? [] : await prisma.$queryRaw<PageRow[]>`
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
    ORDER BY t.owner, pg.id`;
  const pages = new Map<string, Page<Position>>();
  const byOwner = new Map<string, { rows: Position[]; total: number }>();
  for (const { ownerId, total, ...position } of rows) {
    const entry = byOwner.get(ownerId) ?? { rows: [], total };
    if (position.id) entry.rows.push(position);
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
 * One page of positions (ordered by id) for each of many nodes as they stood on `asOf`, as known at
 * K: those whose version covering asOf has one of `statuses` (ACTIVE: held). With includeDescendants a
 * node owns the positions of its whole subtree. Reads the owners' positions with their version on the
 * date (the current versions' index for now; every version for a knownAt in the past) and cuts each
 * owner's page with a window: a page as of a date reads the node's positions whole.
 */
export async function positionPagesAsOf(
  prisma: Db,
  nodeIds: readonly string[],
  args: PositionPageArgs & { countOnly?: boolean; asOf: string; knownAt: KnownAt },
  scope: Scope,
): Promise<Map<string, Page<Position>>> {
  const first = pageSize(args.first);
  const after = decodeCursor(args.after, ['uuid']);
  const afterId = after ? (after[0] as string) : null;
  const ids = validIds(nodeIds);
  const statuses = args.status && args.status.length > 0 ? [...new Set(args.status)] : ['ACTIVE'];
  const limit = args.countOnly ? 0 : first + 1;
  const rows = ids.length === 0 ? [] : await prisma.$queryRaw<(PageRow & { rn: number })[]>`
    ${ownersCte(ids, args.includeDescendants ?? false, scope)},
    on_date AS (
      SELECT o.owner, ${POSITION_COLUMNS}
      FROM owners o
      JOIN position p ON p.portfolio_node_id = o.node_id
      JOIN position_version v ON v.position_id = p.id AND ${knownSql('v', args.knownAt)}
        AND v.valid_from <= ${args.asOf}::date AND (v.valid_to IS NULL OR v.valid_to > ${args.asOf}::date)
        AND v.status::text = ANY (${statuses}::text[])
    ),
    ranked AS (
      SELECT d.*, count(*) OVER (PARTITION BY d.owner)::int AS total,
             row_number() OVER (PARTITION BY d.owner ORDER BY d.id)::int AS pos,
             CASE WHEN ${afterId}::uuid IS NULL OR d.id > ${afterId}::uuid
               THEN row_number() OVER (PARTITION BY d.owner, ${afterId}::uuid IS NULL OR d.id > ${afterId}::uuid ORDER BY d.id)::int END AS rn
      FROM on_date d
    )
    SELECT r.owner AS "ownerId", r.total, r.rn, ${Prisma.raw(PAGE_FIELDS)}
    FROM ranked r WHERE r.rn <= ${limit} OR r.pos = 1
    ORDER BY r.owner, r.id`;
  const byOwner = new Map<string, { rows: Position[]; total: number }>();
  for (const { ownerId, total, rn, ...position } of rows) {
    const entry = byOwner.get(ownerId) ?? { rows: [], total };
    if (rn !== null && rn <= limit) entry.rows.push(position);
    byOwner.set(ownerId, entry);
  }
  return new Map(nodeIds.map((id) => {
    const entry = byOwner.get(id) ?? { rows: [], total: 0 };
    return [id, pageFrom(entry.rows, first, entry.total, after, (p) => [p.id])];
  }));
}

const PAGE_FIELDS = `r.id, r."portfolioNodeId", r."instrumentId", r.quantity, r."baseCcy", r.status, r."openedOn", r."closedOn",
  r."stateFrom", r."createdAt", r."updatedAt"`;

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
