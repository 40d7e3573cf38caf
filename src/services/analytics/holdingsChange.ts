// PortfolioNode.holdingsChange: what changed in a subtree between two points
// in time (a date as known at a moment, each), per position, in one statement:
//   a, b     the positions held at each point with quantity and value converted
//            into the currency (heldSql with that point's date and knownAt, the
//            subtree as it stood then, and that point's FX feed: fxCtes with
//            prefixes fa/fb), as subqueries (their scans run in parallel workers);
//   joined   their full outer join, materialised once and read twice: for the
//            totals and the count in one pass, and for the page;
//   changed  positions opened, closed, with another quantity or another value;
//            delta = |value b - value a| (a missing value counts as 0);
//   final    both totals (as marketValue computes them), the currencies
//            without a rate on either side, the number of changes and one page
//            of them, largest delta first (then position id; keyset cursor).
import type { Prisma as Db } from '../../db/database';
import { Exact } from '../../domain/fx';
import { badInput } from '../../errors';
import { Prisma } from '../../generated/prisma/client';
import { decodeCursor, pageFrom, pageSize, type Page } from '../pagination';
import type { KnownAt } from '../time/knownAt';
import { fxMissing, reportingCurrency, subtreeCte, subtreeIsSql, withSubtreeIds, type AnalyticsNode } from './exposure';
import { fxConvRows, fxCtes } from './fxSql';
import { heldPairSql, heldSql } from './held';

export interface TimePoint {
  asOf: string;
  knownAt: KnownAt;
}

export type PositionChangeKind = 'OPENED' | 'CLOSED' | 'QUANTITY' | 'VALUE';

export interface PositionChangeRow {
  positionId: string;
  kind: PositionChangeKind;
  quantityFrom: string | null;
  quantityTo: string | null;
  marketValueFrom: string | null;
  marketValueTo: string | null;
  delta: string;
}

export interface HoldingsChangeResult {
  node: AnalyticsNode;
  from: Date;
  to: Date;
  currency: string;
  points: { from: TimePoint; to: TimePoint };
  /** Totals and one page of changes, one statement per page asked (memoised). */
  load(first: number | null | undefined, after: string | null | undefined): Promise<HoldingsChangePage>;
  /** The page whose statement also answers the totals (the first `changes` selection's, set by the resolver). */
  totalsPage?: { first?: number | null; after?: string | null };
}

export interface HoldingsChangePage {
  marketValueFrom: string;
  marketValueTo: string;
  changes: Page<PositionChangeRow>;
}

/** `from` must not be later than `to`: by date, then by knownAt (none = now, the latest). */
export function checkOrder(from: TimePoint, to: TimePoint): void {
  if (from.asOf > to.asOf) throw badInput('from', `from.asOf ${from.asOf} is later than to.asOf ${to.asOf}`);
  if (from.asOf === to.asOf) {
    const later = from.knownAt === null ? to.knownAt !== null : to.knownAt !== null && from.knownAt > to.knownAt;
    if (later) throw badInput('from', `from.knownAt ${from.knownAt ?? 'now'} is later than to.knownAt ${to.knownAt ?? 'now'} for the same date`);
  }
}

interface StatementRow {
  total_from: string;
  total_to: string;
  missing_from: string[];
  missing_to: string[];
  count: number;
  subtree_same: boolean;
  page: { id: string; kind: PositionChangeKind; qa: string | null; qb: string | null; va: string | null; vb: string | null; delta: string }[] | null;
}

function sideSql(name: string, point: TimePoint, prefix: string, ids: string[] | null): Prisma.Sql {
  return Prisma.sql`(
      SELECT h.id, h.quantity, round(h.market_value * c.rate, 8) AS value,
             CASE WHEN h.market_value IS NOT NULL AND c.rate IS NULL THEN h.currency END AS missing
      FROM ${heldSql(point.asOf, point.knownAt, false, `subtree_${name}`, ids)} h
      LEFT JOIN ${fxConvRows(prefix)} AS c (ccy, rate) ON c.ccy = h.currency
    )`;
}

/**
 * Rows id, in_a, in_b, qa, qb, va, vb, ma, mb: each position held at either point, with its quantity,
 * converted value and currency without a rate at each. As known at one moment (two dates, say), one
 * scan of the positions looks each one up on both dates (heldPairSql), all in the parallel workers;
 * at two moments, the two sides (each as known then, over the subtree as it stood then) are joined:
 * a full join, which runs in the leader.
 */
function joinedSql(points: { from: TimePoint; to: TimePoint }, idsA: string[] | null, idsB: string[] | null): Prisma.Sql {
  if (points.from.knownAt === points.to.knownAt) {
    // The side's converted value and its currency when it has no rate (as sideSql computes them).
    const convert = (side: 'a' | 'b', fx: string) => {
      const [h, m, c, f, v, x] = [`in_${side}`, `mv${side}`, `c${side}`, fx, `v${side}`, `m${side}`].map((n) => Prisma.raw(n));
      return Prisma.sql`CASE WHEN h.${h} THEN round(h.${m} * ${f}.rate, 8) END AS ${v},
             CASE WHEN h.${h} AND h.${m} IS NOT NULL AND ${f}.rate IS NULL THEN h.${c} END AS ${x}`;
    };
    return Prisma.sql`
      SELECT h.id, h.in_a, h.in_b, CASE WHEN h.in_a THEN h.qa END AS qa, CASE WHEN h.in_b THEN h.qb END AS qb,
             ${convert('a', 'fa')}, ${convert('b', 'fb')}
      FROM ${heldPairSql(points.from.asOf, points.to.asOf, points.from.knownAt, 'subtree_a', idsA)} h
      LEFT JOIN ${fxConvRows('fa')} AS fa (ccy, rate) ON fa.ccy = h.ca
      LEFT JOIN ${fxConvRows('fb')} AS fb (ccy, rate) ON fb.ccy = h.cb`;
  }
  return Prisma.sql`
      SELECT COALESCE(a.id, b.id) AS id, a.id IS NOT NULL AS in_a, b.id IS NOT NULL AS in_b,
             a.quantity AS qa, b.quantity AS qb, a.value AS va, b.value AS vb, a.missing AS ma, b.missing AS mb
      FROM ${sideSql('a', points.from, 'fa', idsA)} a FULL JOIN ${sideSql('b', points.to, 'fb', idsB)} b ON a.id = b.id`;
}

async function runPage(prisma: Db, nodeId: string, points: { from: TimePoint; to: TimePoint }, currency: string, first: number, after: [string, string] | null): Promise<StatementRow> {
  return withSubtreeIds(prisma, nodeId, [points.from.knownAt, points.to.knownAt], ([a, b]) =>
    pageStatement(prisma, nodeId, points, currency, first, after, a ?? null, b ?? null));
}

async function pageStatement(
  prisma: Db, nodeId: string, points: { from: TimePoint; to: TimePoint }, currency: string, first: number, after: [string, string] | null,
  idsA: string[] | null, idsB: string[] | null,
): Promise<StatementRow> {
  const [afterDelta, afterId] = after ?? [null, null];
  // The full join of the two sides runs in the leader (PostgreSQL 15 has no parallel full join); at
  // the default parallel_tuple_cost the planner then scans both sides serially. Gathering their rows
  // is cheap next to what the workers save (1M positions, largest fund, two month-ends: 2.2 s -> 1.5 s),
  // so this statement's transaction says so. It also lets the statement keep the joined rows in
  // memory: at the service's work_mem (16 MB) the full join's hash and the materialised join of a
  // 400,000-position fund went to temporary files (1M, two month-ends: 1.63 -> 1.44 s); at 64 MB
  // the statement peaks at about 160 MB, most of it the valuations' parallel hash it needs anyway.
  const [, rows] = await prisma.$transaction([
    // (At least 64 MB: a larger DB_WORK_MEM_MB stays.)
    prisma.$queryRaw`SELECT set_config('parallel_tuple_cost', '0.01', true),
      set_config('work_mem', (GREATEST(pg_size_bytes(current_setting('work_mem')), 64 * 1024 * 1024) / 1024)::text || 'kB', true)`,
    prisma.$queryRaw<StatementRow[]>`
    WITH RECURSIVE ${subtreeCte(nodeId, points.from.knownAt, 'subtree_a')},
    ${subtreeCte(nodeId, points.to.knownAt, 'subtree_b')},
    ${fxCtes(points.from.asOf, currency, points.from.knownAt, 'fa')},
    ${fxCtes(points.to.asOf, currency, points.to.knownAt, 'fb')},
    joined AS MATERIALIZED (${joinedSql(points, idsA, idsB)}),
    changed AS (
      SELECT j.id, j.qa, j.qb, j.va, j.vb,
             CASE WHEN NOT j.in_a THEN 'OPENED' WHEN NOT j.in_b THEN 'CLOSED' WHEN j.qa <> j.qb THEN 'QUANTITY' ELSE 'VALUE' END AS kind,
             abs(COALESCE(j.vb, 0) - COALESCE(j.va, 0)) AS delta
      FROM joined j
      WHERE NOT j.in_a OR NOT j.in_b OR j.qa <> j.qb OR j.va IS DISTINCT FROM j.vb
    ),
    totals AS (
      SELECT COALESCE(sum(j.va) FILTER (WHERE j.in_a AND j.ma IS NULL), 0)::text AS total_from,
             COALESCE(sum(j.vb) FILTER (WHERE j.in_b AND j.mb IS NULL), 0)::text AS total_to,
             COALESCE(array_agg(DISTINCT j.ma::text) FILTER (WHERE j.ma IS NOT NULL), '{}') AS missing_from,
             COALESCE(array_agg(DISTINCT j.mb::text) FILTER (WHERE j.mb IS NOT NULL), '{}') AS missing_to,
             count(*) FILTER (WHERE NOT j.in_a OR NOT j.in_b OR j.qa <> j.qb OR j.va IS DISTINCT FROM j.vb)::int AS count
      FROM joined j
    )
    SELECT t.total_from, t.total_to, t.missing_from, t.missing_to, t.count,
      ${subtreeIsSql(idsA, 'subtree_a')} AND ${subtreeIsSql(idsB, 'subtree_b')} AS subtree_same,
      (SELECT json_agg(json_build_object('id', c.id, 'kind', c.kind, 'qa', c.qa::text, 'qb', c.qb::text, 'va', c.va::text, 'vb', c.vb::text,
                                         'delta', c.delta::text) ORDER BY c.delta DESC, c.id)
       FROM (SELECT * FROM changed
             WHERE ${afterDelta}::numeric IS NULL OR changed.delta < ${afterDelta}::numeric
                OR (changed.delta = ${afterDelta}::numeric AND changed.id > ${afterId}::uuid)
             ORDER BY delta DESC, id LIMIT ${first + 1}) c) AS page
    FROM totals t`,
  ]);
  return rows[0]!;
}

/**
 * The change of the node's subtree between two points (checked: `from` not later than `to`), in the
 * currency (the node's base currency by default). FX_RATE_NOT_FOUND when either point lacks a rate.
 */
export function holdingsChange(prisma: Db, node: AnalyticsNode, from: TimePoint, to: TimePoint, currency?: string | null): HoldingsChangeResult {
  checkOrder(from, to);
  const reporting = reportingCurrency(node, currency);
  const points = { from, to };
  const pages = new Map<string, Promise<HoldingsChangePage>>();
  const load = (firstArg: number | null | undefined, afterArg: string | null | undefined): Promise<HoldingsChangePage> => {
    const first = pageSize(firstArg);
    const after = decodeCursor(afterArg, ['string', 'uuid']) as [string, string] | null;
    if (after && !/^\d+(\.\d+)?$/.test(after[0])) throw badInput('after', 'after is not a cursor returned by this list');
    const key = `${first}|${afterArg ?? ''}`;
    let page = pages.get(key);
    if (!page) {
      page = runPage(prisma, node.id, points, reporting, first, after).then((row) => {
        if (row.missing_from.length > 0) throw fxMissing(row.missing_from, reporting, from.asOf);
        if (row.missing_to.length > 0) throw fxMissing(row.missing_to, reporting, to.asOf);
        const exact = (v: string | null) => (v === null ? null : new Exact(v).toFixed());
        const rows: PositionChangeRow[] = (row.page ?? []).map((c) => ({
          positionId: c.id, kind: c.kind, quantityFrom: exact(c.qa), quantityTo: exact(c.qb), marketValueFrom: exact(c.va), marketValueTo: exact(c.vb),
          delta: c.delta,
        }));
        return {
          marketValueFrom: new Exact(row.total_from).toFixed(),
          marketValueTo: new Exact(row.total_to).toFixed(),
          changes: pageFrom(rows, first, row.count, after, (r) => [r.delta, r.positionId]),
        };
      });
      pages.set(key, page);
    }
    return page;
  };
  const date = (iso: string) => new Date(`${iso}T00:00:00Z`);
  return { node, from: date(from.asOf), to: date(to.asOf), currency: reporting, points, load };
}
