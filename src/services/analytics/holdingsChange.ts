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
// One date at two moments (what was restated since K) takes the recorded path
// instead (recordedPath): only the positions recorded since K are looked up at
// both moments (position_last_recorded_at_idx finds them), the others are one
// aggregate counted in both totals alike - except those whose currency has
// another rate at the later moment, which join the changed rows.
// The nodes of a level asking the same change (every fund of portfolioRoots,
// each in its base currency) share one such statement (computeHoldingsChanges):
// the positions of all their subtrees (a forest walk per point in time, as
// marketValue and exposure batch) are joined to their roots and converted into
// each root's currency; totals, counts and pages are per root (the pages by a
// window over the changed rows).
import type { Prisma as Db } from '../../db/database';
import { Exact } from '../../domain/fx';
import { badInput } from '../../errors';
import { Prisma } from '../../generated/prisma/client';
import { decodeCursor, pageFrom, pageSize, type Page } from '../pagination';
import type { KnownAt } from '../time/knownAt';
import { currenciesSql, forestSame, forestSql, fxMissing, membersSql, reportingCurrency, subtreeCte, subtreeIsSql, withForestsIds, withSubtreeIds, type AnalyticsNode, type ForestRows } from './exposure';
import { fxConvRows, fxCtes } from './fxSql';
import { heldPairSql, heldRecordedSql, heldSql, heldUnchangedSql } from './held';

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
  /** Totals and one page of changes (memoised per page; batched with the level's other nodes by the request's loader). */
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

/** A side's converted value and its currency when it has no rate (as sideSql computes them), from a row `h` shaped as heldPairSql's. */
function convertSql(side: 'a' | 'b', fx: string): Prisma.Sql {
  const [h, m, c, f, v, x] = [`in_${side}`, `mv${side}`, `c${side}`, fx, `v${side}`, `m${side}`].map((n) => Prisma.raw(n));
  return Prisma.sql`CASE WHEN h.${h} THEN round(h.${m} * ${f}.rate, 8) END AS ${v},
             CASE WHEN h.${h} AND h.${m} IS NOT NULL AND ${f}.rate IS NULL THEN h.${c} END AS ${x}`;
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
    return Prisma.sql`
      SELECT h.id, h.in_a, h.in_b, CASE WHEN h.in_a THEN h.qa END AS qa, CASE WHEN h.in_b THEN h.qb END AS qb,
             ${convertSql('a', 'fa')}, ${convertSql('b', 'fb')}
      FROM ${heldPairSql(points.from.asOf, points.to.asOf, points.from.knownAt, 'subtree_a', idsA)} h
      LEFT JOIN ${fxConvRows('fa')} AS fa (ccy, rate) ON fa.ccy = h.ca
      LEFT JOIN ${fxConvRows('fb')} AS fb (ccy, rate) ON fb.ccy = h.cb`;
  }
  return Prisma.sql`
      SELECT COALESCE(a.id, b.id) AS id, a.id IS NOT NULL AS in_a, b.id IS NOT NULL AS in_b,
             a.quantity AS qa, b.quantity AS qb, a.value AS va, b.value AS vb, a.missing AS ma, b.missing AS mb
      FROM ${sideSql('a', points.from, 'fa', idsA)} a FULL JOIN ${sideSql('b', points.to, 'fb', idsB)} b ON a.id = b.id`;
}

/**
 * One date at two moments (K1, then K2 or now) over the same subtree: a position nothing was recorded
 * about since K1 is the same at both moments, so only the positions recorded since K1 can change
 * (heldRecordedSql: looked up by key, as many as were recorded) - and, converted, those whose currency
 * has another rate at K2 than at K1 (a feed restating the date since K1: fx_moved, usually empty, when
 * its scan does not run). The others count in both totals alike: one aggregate over the subtree
 * (heldUnchangedSql: in the parallel workers, grouped by currency). The subtrees at both moments must
 * be the same ids (read before; the statement checks its own). RECORDED_PATH.enabled false: the
 * general path always (tests compare the two).
 */
export const RECORDED_PATH = { enabled: true };

function recordedPath(points: { from: TimePoint; to: TimePoint }, idsA: readonly string[] | null, idsB: readonly string[] | null): points is { from: { asOf: string; knownAt: string }; to: TimePoint } {
  return RECORDED_PATH.enabled && points.from.asOf === points.to.asOf && points.from.knownAt !== null && points.from.knownAt !== points.to.knownAt
    && idsA !== null && idsB !== null && idsA.length === idsB.length && idsA.every((id, i) => id === idsB[i]);
}

/**
 * The CTEs of the recorded path after the FX CTEs: joined (the rows of the positions recorded since K1
 * and of those moved by FX, shaped as joinedSql's; with root_id for a forest), kept (the others, by
 * root and currency) and kept_total. `members` joins a forest's positions to their roots (and its
 * `conv` the rates per root's currency: aliases ca, cb); a subtree has none (fxConvRows fa, fb).
 */
function recordedCtes(
  asOf: string, from: string, to: KnownAt, tree: string, ids: string[] | null,
  forest: { members: Prisma.Sql; convA: Prisma.Sql; convB: Prisma.Sql; diff: Prisma.Sql } | null,
): Prisma.Sql {
  const root = forest ? Prisma.sql`mm.root_id, ` : Prisma.empty;
  const rootKey = forest ? Prisma.sql`, mm.reporting` : Prisma.empty;
  const joins = (ccyA: string, ccyB: string) => forest
    ? Prisma.sql`JOIN ${forest.members} ON mm.id = h.node_id
      LEFT JOIN ${forest.convA} ON ca.reporting = mm.reporting AND ca.ccy = h.${Prisma.raw(ccyA)}
      LEFT JOIN ${forest.convB} ON cb.reporting = mm.reporting AND cb.ccy = h.${Prisma.raw(ccyB)}`
    : Prisma.sql`LEFT JOIN ${fxConvRows('fa')} AS ca (ccy, rate) ON ca.ccy = h.${Prisma.raw(ccyA)}
      LEFT JOIN ${fxConvRows('fb')} AS cb (ccy, rate) ON cb.ccy = h.${Prisma.raw(ccyB)}`;
  const diff = forest
    ? forest.diff
    : Prisma.sql`SELECT 1 FROM fa_conv a FULL JOIN fb_conv b ON b.ccy = a.ccy WHERE a.rate IS DISTINCT FROM b.rate`;
  const unchanged = Prisma.sql`
      SELECT ${root}h.id, h.quantity, h.market_value, h.currency, ca.rate AS ra, cb.rate AS rb${rootKey}
      FROM ${heldUnchangedSql(asOf, from, tree, ids)} h
      ${joins('currency', 'currency')}`;
  return Prisma.sql`
    fx_moved AS (${diff}),
    joined AS MATERIALIZED (
      SELECT ${root}h.id, h.in_a, h.in_b, CASE WHEN h.in_a THEN h.qa END AS qa, CASE WHEN h.in_b THEN h.qb END AS qb,
             ${convertSql('a', 'ca')}, ${convertSql('b', 'cb')}
      FROM ${heldRecordedSql(asOf, from, to, tree, ids)} h
      ${joins('ca', 'cb')}
      UNION ALL
      -- (OFFSET 0 keeps the scan below the test, so that it does not start when no rate moved.)
      SELECT * FROM (
        SELECT ${forest ? Prisma.sql`u.root_id, ` : Prisma.empty}u.id, true, true, u.quantity, u.quantity,
               round(u.market_value * u.ra, 8), CASE WHEN u.market_value IS NOT NULL AND u.ra IS NULL THEN u.currency END,
               round(u.market_value * u.rb, 8), CASE WHEN u.market_value IS NOT NULL AND u.rb IS NULL THEN u.currency END
        FROM (${unchanged}) u
        WHERE u.ra IS DISTINCT FROM u.rb
        OFFSET 0
      ) moved
      WHERE EXISTS (SELECT 1 FROM fx_moved)
    ),
    kept AS MATERIALIZED (
      SELECT ${forest ? Prisma.sql`u.root_id, ` : Prisma.empty}u.currency, bool_or(u.rb IS NULL) AS no_rate, sum(round(u.market_value * u.rb, 8)) AS value
      FROM (${unchanged}) u
      WHERE u.ra IS NOT DISTINCT FROM u.rb
      GROUP BY ${forest ? Prisma.sql`1, 2` : Prisma.sql`1`}
    ),
    kept_total AS (
      SELECT ${forest ? Prisma.sql`k.root_id, ` : Prisma.empty}COALESCE(sum(k.value) FILTER (WHERE NOT k.no_rate), 0) AS value,
             COALESCE(array_agg(k.currency::text) FILTER (WHERE k.no_rate AND k.currency IS NOT NULL), '{}') AS missing
      FROM kept k
      ${forest ? Prisma.sql`GROUP BY k.root_id` : Prisma.empty}
    ),`;
}

/** The totals of the recorded path: the joined rows' (t, m) and the others' (k), which count at both moments alike. */
const sameAsTotals = (t: string, m: string, k: string) => Prisma.raw(`
      (COALESCE(${t}.total_from::numeric, 0) + COALESCE(${k}.value, 0))::text AS total_from,
      (COALESCE(${t}.total_to::numeric, 0) + COALESCE(${k}.value, 0))::text AS total_to,
      ARRAY(SELECT DISTINCT x FROM unnest(COALESCE(${m}.missing_from, '{}') || COALESCE(${k}.missing, '{}')) x ORDER BY x) AS missing_from,
      ARRAY(SELECT DISTINCT x FROM unnest(COALESCE(${m}.missing_to, '{}') || COALESCE(${k}.missing, '{}')) x ORDER BY x) AS missing_to`);

async function runPage(prisma: Db, nodeId: string, points: { from: TimePoint; to: TimePoint }, currency: string, first: number, after: [string, string] | null): Promise<StatementRow> {
  return withSubtreeIds(prisma, nodeId, [points.from.knownAt, points.to.knownAt], ([a, b]) =>
    pageStatement(prisma, nodeId, points, currency, first, after, a ?? null, b ?? null));
}

async function pageStatement(
  prisma: Db, nodeId: string, points: { from: TimePoint; to: TimePoint }, currency: string, first: number, after: [string, string] | null,
  idsA: string[] | null, idsB: string[] | null,
): Promise<StatementRow> {
  const [afterDelta, afterId] = after ?? [null, null];
  const fast = recordedPath(points, idsA, idsB) ? points : null;
  // The full join of the two sides runs in the leader (PostgreSQL 15 has no parallel full join); at
  // the default parallel_tuple_cost the planner then scans both sides serially. Gathering their rows
  // is cheap next to what the workers save (1M positions, largest fund, two month-ends: 2.2 s -> 1.5 s),
  // so this statement's transaction says so. It also lets the statement keep the joined rows in
  // memory: at the service's work_mem (16 MB) the full join's hash and the materialised join of a
  // 400,000-position fund went to temporary files (1M, two month-ends: 1.63 -> 1.44 s); at 64 MB
  // the statement peaks at about 160 MB, most of it the valuations' parallel hash it needs anyway.
  // The recorded path has no full join and few joined rows: it runs alone, at the service's settings
  // (on 2 cores, 100,000 positions: 150 -> 115 ms).
  const rows = await tunedForJoin(prisma, fast === null, prisma.$queryRaw<StatementRow[]>`
    WITH RECURSIVE ${subtreeCte(nodeId, points.from.knownAt, 'subtree_a')},
    ${subtreeCte(nodeId, points.to.knownAt, 'subtree_b')},
    ${fxCtes(points.from.asOf, currency, points.from.knownAt, 'fa')},
    ${fxCtes(points.to.asOf, currency, points.to.knownAt, 'fb')},
    ${fast ? recordedCtes(fast.from.asOf, fast.from.knownAt, fast.to.knownAt, 'subtree_a', idsA, null) : Prisma.sql`joined AS MATERIALIZED (${joinedSql(points, idsA, idsB)}),`}
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
    SELECT ${fast ? sameAsTotals('t', 't', 'kt') : Prisma.sql`t.total_from, t.total_to, t.missing_from, t.missing_to`}, t.count,
      ${subtreeIsSql(idsA, 'subtree_a')} AND ${subtreeIsSql(idsB, 'subtree_b')} AS subtree_same,
      (SELECT json_agg(json_build_object('id', c.id, 'kind', c.kind, 'qa', c.qa::text, 'qb', c.qb::text, 'va', c.va::text, 'vb', c.vb::text,
                                         'delta', c.delta::text) ORDER BY c.delta DESC, c.id)
       FROM (SELECT * FROM changed
             WHERE ${afterDelta}::numeric IS NULL OR changed.delta < ${afterDelta}::numeric
                OR (changed.delta = ${afterDelta}::numeric AND changed.id > ${afterId}::uuid)
             ORDER BY delta DESC, id LIMIT ${first + 1}) c) AS page
    FROM totals t ${fast ? Prisma.sql`, kept_total kt` : Prisma.empty}`);
  return rows[0]!;
}

/**
 * The statement alone, or (`tuned`: a full join of two sides, many joined rows) in a transaction that
 * first lets the planner gather the sides' rows from parallel workers and keeps the joined rows in
 * memory (parallel_tuple_cost 0.01, work_mem at least 64 MB; a larger DB_WORK_MEM_MB stays; see
 * pageStatement).
 */
async function tunedForJoin<T>(prisma: Db, tuned: boolean, statement: Prisma.PrismaPromise<T>): Promise<T> {
  if (!tuned) return statement;
  const [, rows] = await prisma.$transaction([
    prisma.$queryRaw`SELECT set_config('parallel_tuple_cost', '0.01', true),
      set_config('work_mem', (GREATEST(pg_size_bytes(current_setting('work_mem')), 64 * 1024 * 1024) / 1024)::text || 'kB', true)`,
    statement,
  ]);
  return rows;
}

/** One page of one node's change: what the per-request loader batches (computeHoldingsChanges). */
export interface ChangePageRequest {
  node: AnalyticsNode;
  points: { from: TimePoint; to: TimePoint };
  /** The reporting currency settled (the node's base currency unless asked). */
  reporting: string;
  first: number;
  /** The cursor as sent (the batch key) and decoded. */
  afterArg: string | null;
  after: [string, string] | null;
}

/** What a batch of requests shares: one statement. */
export const changeGroup = (r: ChangePageRequest): string =>
  JSON.stringify([r.points.from.asOf, r.points.from.knownAt, r.points.to.asOf, r.points.to.knownAt, r.first, r.afterArg]);

function toPage(row: Omit<StatementRow, 'subtree_same'>, r: ChangePageRequest): HoldingsChangePage {
  if (row.missing_from.length > 0) throw fxMissing(row.missing_from, r.reporting, r.points.from.asOf);
  if (row.missing_to.length > 0) throw fxMissing(row.missing_to, r.reporting, r.points.to.asOf);
  const exact = (v: string | null) => (v === null ? null : new Exact(v).toFixed());
  const rows: PositionChangeRow[] = (row.page ?? []).map((c) => ({
    positionId: c.id, kind: c.kind, quantityFrom: exact(c.qa), quantityTo: exact(c.qb), marketValueFrom: exact(c.va), marketValueTo: exact(c.vb),
    delta: c.delta,
  }));
  return {
    marketValueFrom: new Exact(row.total_from).toFixed(),
    marketValueTo: new Exact(row.total_to).toFixed(),
    changes: pageFrom(rows, r.first, row.count, r.after, (x) => [x.delta, x.positionId]),
  };
}

/** One node's page in its own statement (the one-node form the batched one is tested against). */
export async function computeHoldingsChange(prisma: Db, r: ChangePageRequest): Promise<HoldingsChangePage> {
  return toPage(await runPage(prisma, r.node.id, r.points, r.reporting, r.first, r.after), r);
}

/**
 * The pages of many nodes asking the same change (same points, page and cursor; changeGroup), in one
 * statement: one entry per request, its page or the error its own computation would raise. A batch
 * of one node runs the one-node statement.
 */
export async function computeHoldingsChanges(prisma: Db, requests: readonly ChangePageRequest[]): Promise<(HoldingsChangePage | Error)[]> {
  const settle = async (page: () => Promise<HoldingsChangePage>) => {
    try {
      return await page();
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  };
  // A node asked in two currencies (two aliases): the statement has one row per root, so each
  // repetition of a node goes to another statement.
  const round = new Map<string, number>();
  const rounds: number[][] = [];
  requests.forEach((r, i) => {
    const k = round.get(r.node.id) ?? 0;
    round.set(r.node.id, k + 1);
    (rounds[k] ??= []).push(i);
  });
  if (rounds.length > 1) {
    const out: (HoldingsChangePage | Error)[] = new Array(requests.length);
    for (const indices of rounds) {
      const pages = await computeHoldingsChanges(prisma, indices.map((i) => requests[i]!));
      indices.forEach((index, j) => {
        out[index] = pages[j]!;
      });
    }
    return out;
  }
  const roots = requests.map((r): [string, string] => [r.node.id, r.reporting]);
  if (roots.length === 1) {
    const one = await settle(() => computeHoldingsChange(prisma, requests[0]!));
    return requests.map(() => one);
  }
  const { points, first, after } = requests[0]!;
  const rootIds = roots.map(([id]) => id);
  const found = await withForestsIds(prisma, rootIds, [points.from.knownAt, points.to.knownAt],
    ([a, b]) => manyStatement(prisma, roots, points, first, after, a ?? null, b ?? null));
  return Promise.all(requests.map((r) => settle(async () => {
    const row = found.get(r.node.id);
    // Not in the result: not a node (deleted since it was read); nothing held at either point.
    return toPage(row ?? { total_from: '0', total_to: '0', missing_from: [], missing_to: [], count: 0, page: null }, r);
  })));
}

async function manyStatement(
  prisma: Db, roots: readonly [string, string][], points: { from: TimePoint; to: TimePoint }, first: number, after: [string, string] | null,
  forestA: ForestRows | null, forestB: ForestRows | null,
): Promise<(StatementRow & { node_id: string; forest_same: boolean })[]> {
  const rootIds = roots.map(([id]) => id);
  const reportingOf = new Map(roots);
  const oneMoment = points.from.knownAt === points.to.knownAt;
  // recordedPath for a forest: the same nodes under the same roots at both moments.
  const membersOf = (f: ForestRows) => f.members.map((m) => `${m.rootId}|${m.id}|${m.childId ?? ''}`).sort().join(',');
  const fast = forestA && forestB && recordedPath(points, forestA.ids, forestB.ids) && membersOf(forestA) === membersOf(forestB) ? points : null;
  const curA = currenciesSql(points.from.asOf, roots.map(([, r]) => r), points.from.knownAt, 'fa', 'ca');
  const curB = currenciesSql(points.to.asOf, roots.map(([, r]) => r), points.to.knownAt, 'fb', 'cb');
  const [afterDelta, afterId] = after ?? [null, null];
  // As known at one moment: one scan looks each position up on both dates (heldPairSql); at two, each
  // side over the forest as it stood then, fully joined by root and position.
  const joined = oneMoment
    ? Prisma.sql`
      SELECT mm.root_id, h.id, h.in_a, h.in_b, CASE WHEN h.in_a THEN h.qa END AS qa, CASE WHEN h.in_b THEN h.qb END AS qb,
             CASE WHEN h.in_a THEN round(h.mva * ca.rate, 8) END AS va,
             CASE WHEN h.in_a AND h.mva IS NOT NULL AND ca.rate IS NULL THEN h.ca END AS ma,
             CASE WHEN h.in_b THEN round(h.mvb * cb.rate, 8) END AS vb,
             CASE WHEN h.in_b AND h.mvb IS NOT NULL AND cb.rate IS NULL THEN h.cb END AS mb
      FROM ${heldPairSql(points.from.asOf, points.to.asOf, points.from.knownAt, 'forest_a', forestA?.ids ?? null)} h
      JOIN ${membersSql(forestA, reportingOf, 'forest_a')} ON mm.id = h.node_id
      LEFT JOIN ${curA.conv} ON ca.reporting = mm.reporting AND ca.ccy = h.ca
      LEFT JOIN ${curB.conv} ON cb.reporting = mm.reporting AND cb.ccy = h.cb`
    : Prisma.sql`
      SELECT COALESCE(a.root_id, b.root_id) AS root_id, COALESCE(a.id, b.id) AS id, a.id IS NOT NULL AS in_a, b.id IS NOT NULL AS in_b,
             a.quantity AS qa, b.quantity AS qb, a.value AS va, b.value AS vb, a.missing AS ma, b.missing AS mb
      FROM (
        SELECT mm.root_id, h.id, h.quantity, round(h.market_value * ca.rate, 8) AS value,
               CASE WHEN h.market_value IS NOT NULL AND ca.rate IS NULL THEN h.currency END AS missing
        FROM ${heldSql(points.from.asOf, points.from.knownAt, false, 'forest_a', forestA?.ids ?? null)} h
        JOIN ${membersSql(forestA, reportingOf, 'forest_a')} ON mm.id = h.node_id
        LEFT JOIN ${curA.conv} ON ca.reporting = mm.reporting AND ca.ccy = h.currency
      ) a FULL JOIN (
        SELECT mm.root_id, h.id, h.quantity, round(h.market_value * cb.rate, 8) AS value,
               CASE WHEN h.market_value IS NOT NULL AND cb.rate IS NULL THEN h.currency END AS missing
        FROM ${heldSql(points.to.asOf, points.to.knownAt, false, 'forest_b', forestB?.ids ?? null)} h
        JOIN ${membersSql(forestB, reportingOf, 'forest_b')} ON mm.id = h.node_id
        LEFT JOIN ${curB.conv} ON cb.reporting = mm.reporting AND cb.ccy = h.currency
      ) b ON a.root_id = b.root_id AND a.id = b.id`;
  const forests = oneMoment
    ? forestSql(rootIds, points.from.knownAt, 'forest_a')
    : Prisma.sql`${forestSql(rootIds, points.from.knownAt, 'forest_a')}, ${forestSql(rootIds, points.to.knownAt, 'forest_b')}`;
  const same = oneMoment
    ? forestSame(forestA?.ids ?? null, 'forest_a')
    : Prisma.sql`${forestSame(forestA?.ids ?? null, 'forest_a')} AND ${forestSame(forestB?.ids ?? null, 'forest_b')}`;
  // As pageStatement (tuned for the full join and the materialised rows, unless on the recorded path).
  return tunedForJoin(prisma, fast === null, prisma.$queryRaw<(StatementRow & { node_id: string; forest_same: boolean })[]>`
    WITH RECURSIVE ${forests},
    ${curA.ctes},
    ${curB.ctes},
    ${fast
      ? recordedCtes(fast.from.asOf, fast.from.knownAt, fast.to.knownAt, 'forest_a', forestA?.ids ?? null, {
        members: membersSql(forestA, reportingOf, 'forest_a'), convA: curA.conv, convB: curB.conv,
        diff: Prisma.sql`SELECT 1 FROM fa_conv_all a FULL JOIN fb_conv_all b ON b.reporting = a.reporting AND b.ccy = a.ccy WHERE a.rate IS DISTINCT FROM b.rate`,
      })
      : Prisma.sql`joined AS MATERIALIZED (${joined}),`}
    changed AS (
      SELECT j.root_id, j.id, j.qa, j.qb, j.va, j.vb,
             CASE WHEN NOT j.in_a THEN 'OPENED' WHEN NOT j.in_b THEN 'CLOSED' WHEN j.qa <> j.qb THEN 'QUANTITY' ELSE 'VALUE' END AS kind,
             abs(COALESCE(j.vb, 0) - COALESCE(j.va, 0)) AS delta
      FROM joined j
      WHERE NOT j.in_a OR NOT j.in_b OR j.qa <> j.qb OR j.va IS DISTINCT FROM j.vb
    ),
    -- Grouped by root in a hash table (no DISTINCT aggregate, which would sort every row by root);
    -- the currencies without a rate (few rows, usually none) apart.
    totals AS (
      SELECT j.root_id,
             COALESCE(sum(j.va) FILTER (WHERE j.in_a AND j.ma IS NULL), 0)::text AS total_from,
             COALESCE(sum(j.vb) FILTER (WHERE j.in_b AND j.mb IS NULL), 0)::text AS total_to,
             count(*) FILTER (WHERE NOT j.in_a OR NOT j.in_b OR j.qa <> j.qb OR j.va IS DISTINCT FROM j.vb)::int AS count
      FROM joined j
      GROUP BY j.root_id
    ),
    missing AS (
      SELECT j.root_id,
             COALESCE(array_agg(DISTINCT j.ma::text) FILTER (WHERE j.ma IS NOT NULL), '{}') AS missing_from,
             COALESCE(array_agg(DISTINCT j.mb::text) FILTER (WHERE j.mb IS NOT NULL), '{}') AS missing_to
      FROM joined j
      WHERE j.ma IS NOT NULL OR j.mb IS NOT NULL
      GROUP BY j.root_id
    ),
    after AS (
      SELECT c.* FROM changed c
      WHERE ${afterDelta}::numeric IS NULL OR c.delta < ${afterDelta}::numeric
         OR (c.delta = ${afterDelta}::numeric AND c.id > ${afterId}::uuid)
    ),
    paged AS (${pagedSql(rootIds, first)})
    SELECT rr.id::text AS node_id,
      ${fast ? sameAsTotals('t', 'm', 'kt') : Prisma.sql`COALESCE(t.total_from, '0') AS total_from, COALESCE(t.total_to, '0') AS total_to,
      COALESCE(m.missing_from, '{}') AS missing_from, COALESCE(m.missing_to, '{}') AS missing_to`}, COALESCE(t.count, 0) AS count,
      ${same} AS forest_same, p.page
    FROM unnest(${rootIds}::uuid[]) AS rr (id)
    LEFT JOIN totals t ON t.root_id = rr.id
    LEFT JOIN missing m ON m.root_id = rr.id
    LEFT JOIN paged p ON p.root_id = rr.id
    ${fast ? Prisma.sql`LEFT JOIN kept_total kt ON kt.root_id = rr.id` : Prisma.empty}`);
}

/**
 * Roots up to which each root's page is its own top-N (a scan of the changed rows per root, each
 * keeping its first + 1 largest in a heap); beyond, one sort of all changed rows by root and delta,
 * numbered per root (a window), costs less than a scan per root.
 */
export const PAGE_SCAN_ROOTS = { limit: 8 };

/** The relation paged (root_id, page) over `after` (the changed rows past the cursor). */
function pagedSql(rootIds: readonly string[], first: number): Prisma.Sql {
  const json = (r: string) => Prisma.raw(`json_agg(json_build_object('id', ${r}.id, 'kind', ${r}.kind, 'qa', ${r}.qa::text, 'qb', ${r}.qb::text,
             'va', ${r}.va::text, 'vb', ${r}.vb::text, 'delta', ${r}.delta::text) ORDER BY ${r}.delta DESC, ${r}.id)`);
  if (rootIds.length <= PAGE_SCAN_ROOTS.limit) {
    return Prisma.sql`
      SELECT rr.id AS root_id, (SELECT ${json('x')} FROM (SELECT * FROM after a WHERE a.root_id = rr.id ORDER BY a.delta DESC, a.id LIMIT ${first + 1}) x) AS page
      FROM unnest(${rootIds as string[]}::uuid[]) AS rr (id)`;
  }
  return Prisma.sql`
      SELECT r.root_id, ${json('r')} AS page
      FROM (SELECT a.*, row_number() OVER (PARTITION BY a.root_id ORDER BY a.delta DESC, a.id) AS rn FROM after a) r
      WHERE r.rn <= ${first + 1}
      GROUP BY r.root_id`;
}

/**
 * The change of the node's subtree between two points (checked: `from` not later than `to`), in the
 * currency (the node's base currency by default). FX_RATE_NOT_FOUND when either point lacks a rate.
 * Pages come from `pages` (the request's batching loader), else each from its own statement.
 */
export function holdingsChange(
  prisma: Db, node: AnalyticsNode, from: TimePoint, to: TimePoint, currency?: string | null,
  pages: (request: ChangePageRequest) => Promise<HoldingsChangePage> = (r) => computeHoldingsChange(prisma, r),
): HoldingsChangeResult {
  checkOrder(from, to);
  const reporting = reportingCurrency(node, currency);
  const points = { from, to };
  const asked = new Map<string, Promise<HoldingsChangePage>>();
  const load = (firstArg: number | null | undefined, afterArg: string | null | undefined): Promise<HoldingsChangePage> => {
    const first = pageSize(firstArg);
    const after = decodeCursor(afterArg, ['string', 'uuid']) as [string, string] | null;
    if (after && !/^\d+(\.\d+)?$/.test(after[0])) throw badInput('after', 'after is not a cursor returned by this list');
    const key = `${first}|${afterArg ?? ''}`;
    let page = asked.get(key);
    if (!page) {
      page = pages({ node, points, reporting, first, afterArg: afterArg ?? null, after });
      asked.set(key, page);
    }
    return page;
  };
  const date = (iso: string) => new Date(`${iso}T00:00:00Z`);
  return { node, from: date(from.asOf), to: date(to.asOf), currency: reporting, points, load };
}
