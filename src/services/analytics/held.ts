// The positions of a subtree held on a date, as known at a moment, with the
// quantity held then and the valuation in force: the input of marketValue,
// exposure and holdingsChange. A subquery (no CTE: CTE scans keep PostgreSQL
// from running the scan, joins and partial aggregates in parallel workers),
// filtered by the subtree's node ids - a parameter read just before the
// statement (subtreeIds, exposure.ts), so that the planner counts the positions
// from the column's statistics - or, without them, by an array computed once in
// the statement (an InitPlan).
//
// Every column of position read here is in position_held_xidx (keyed by node;
// migration 20261208000000): the scan of a subtree's positions is an
// index-only scan of its nodes' entries, not a scan of every fund's rows. A
// column added to these statements belongs in that index too, or the scan
// reads the table again.
//
// Known now (knownAt null), one scan of the subtree's positions, costing what
// it did before versions:
//   - a position whose latest state (the summary kept on position) began on or
//     before D is in that state on D: no version is read;
//   - only positions changed since D (a current version ending after D:
//     position_version_valid_to_xidx) look their state on D up, in a hash join;
//   - the valuation in force is the position's latest when dated on or before D,
//     else the current version valued on or before D and superseded (valid_to)
//     after it: only positions valued again since D read valuation_result, and
//     only the subtree's valuations are read (by node: valuation_result carries
//     its position's node, valuation_result_valid_to_xidx is keyed by node and
//     valid_to), so the hash joined is the subtree's, not every fund's.
// Pinned at knownAt K: a position nothing was recorded about since K
// (position.last_recorded_at <= K, kept by the triggers that record its
// versions and valuations) is on D as known now: the present path above. Only
// the positions recorded since K read the versions recorded by K and not
// superseded by then - the version covering D, and the latest valuation dated
// on or before D (one probe of (position_id, as_of_date DESC) each).
import { Prisma } from '../../generated/prisma/client';
import { knownSql, type KnownAt } from '../time/knownAt';

/**
 * Columns: id, instrument_id, node_id (the position's node), child_id (the direct child of the root it hangs
 * under), quantity, market_value, currency. The statement must define the subtree CTE (subtreeCte in exposure.ts), as of the same knownAt; with
 * `ids` (its node ids, read before: subtreeIds) the positions are filtered by those, and the statement must
 * check them (subtreeSame).
 */
export function heldSql(asOf: string, knownAt: KnownAt, withChild: boolean, subtree = 'subtree', ids: string[] | null = null): Prisma.Sql {
  return Prisma.sql`(${Prisma.join(heldBranches(asOf, knownAt, withChild, subtree, ids), ' UNION ALL ')})`;
}

/**
 * heldSql's rows as the selects whose union they are: the positions as known now (one scan), and when
 * pinned at K those recorded since K, as known at K (looked up by key). Columns as heldSql's.
 */
function heldBranches(asOf: string, knownAt: KnownAt, withChild: boolean, subtree: string, ids: string[] | null): Prisma.Sql[] {
  const child = withChild ? Prisma.sql`sc.child_id` : Prisma.sql`NULL::uuid AS child_id`;
  const childJoin = withChild
    ? Prisma.sql`JOIN unnest((SELECT array_agg(s.id ORDER BY s.id) FROM ${Prisma.raw(subtree)} s), (SELECT array_agg(s.child_id ORDER BY s.id) FROM ${Prisma.raw(subtree)} s))
        AS sc (id, child_id) ON sc.id = p.portfolio_node_id`
    : Prisma.empty;
  const present = presentSql(asOf, knownAt, child, childJoin, subtree, ids);
  if (knownAt === null) return [present];
  const k = pinnedOn(asOf, knownAt, 'pv', 'val');
  return [present, Prisma.sql`
      SELECT p.id, p.instrument_id, p.portfolio_node_id AS node_id, ${child}, ${k.quantity} AS quantity, ${k.marketValue} AS market_value, ${k.currency} AS currency
      FROM position p
      ${childJoin}
      ${k.joins}
      WHERE ${inSubtree(subtree, ids)} AND ${recordedSince(knownAt)} AND ${k.held}`];
}

/**
 * A grouping of the held positions (heldSql's rows) computed branch by branch, then combined: `group`
 * is the grouping over one relation `h` shaped as heldSql's, its columns the `keys` then the
 * `aggregates` (each combined by its function: sums of sums, counts summed, bool_or of bool_or). One
 * branch (known now) is that grouping alone. Pinned at K, the positions as known now and those recorded
 * since K are grouped apart: over a union of the two, PostgreSQL runs the whole scan in the leader,
 * while the scan of the positions alone (the most of them) runs in parallel workers.
 */
export function groupedHeld(
  asOf: string, knownAt: KnownAt, withChild: boolean, subtree: string, ids: string[] | null,
  group: (h: Prisma.Sql) => Prisma.Sql, keys: readonly string[], aggregates: Readonly<Record<string, 'sum' | 'count' | 'bool_or'>>,
): Prisma.Sql {
  const branches = heldBranches(asOf, knownAt, withChild, subtree, ids);
  if (branches.length === 1) return group(Prisma.sql`(${branches[0]!}) h`);
  const combined = Object.entries(aggregates).map(([name, fn]) =>
    (fn === 'count' ? `sum(x.${name})::int AS ${name}` : `${fn}(x.${name}) AS ${name}`));
  const keyList = keys.map((k) => `x.${k}`).join(', ');
  return Prisma.sql`
      SELECT ${Prisma.raw(keyList)}, ${Prisma.raw(combined.join(', '))}
      FROM (${Prisma.join(branches.map((b) => Prisma.sql`(${group(Prisma.sql`(${b}) h`)})`), ' UNION ALL ')}) x
      GROUP BY ${Prisma.raw(keyList)}`;
}

// One scan of the subtree's positions: a position whose latest state began on or before D is in
// that state on D; one that changed since (state_from > D) finds its state on D in the current
// version ending after D (position_version_valid_to_xidx: only versions that ended). One scan
// keeps the whole computation below one Gather, grouped in the parallel workers. Pinned at K, only
// the positions nothing was recorded about since K.
function presentSql(asOf: string, knownAt: KnownAt, child: Prisma.Sql, childJoin: Prisma.Sql, subtree: string, ids: string[] | null): Prisma.Sql {
  const d = presentOn(asOf, 'cv', 'v', inSubtree(subtree, ids, 'vr'));
  return Prisma.sql`
      SELECT p.id, p.instrument_id, p.portfolio_node_id AS node_id, ${child}, ${d.quantity} AS quantity, ${d.marketValue} AS market_value, ${d.currency} AS currency
      FROM position p
      ${childJoin}
      ${d.joins}
      WHERE ${inSubtree(subtree, ids)} ${unchangedSince(knownAt)} AND ${d.held}`;
}

/**
 * The subtree's positions nothing was recorded about since K, held on D: what they are on D as known
 * at K, and as known at any later moment (columns as heldSql's, child_id NULL). With heldRecordedSql,
 * the two halves of a question about one date at two moments (holdingsChange from K).
 */
export function heldUnchangedSql(asOf: string, knownAt: string, subtree: string, ids: string[] | null): Prisma.Sql {
  return Prisma.sql`(${presentSql(asOf, knownAt, Prisma.sql`NULL::uuid AS child_id`, Prisma.empty, subtree, ids)})`;
}

/**
 * The subtree's positions something was recorded about since `from` (K1), each on date D as known at
 * K1 and as known at `to` (K2 later, or now): the only positions whose state on D can differ between
 * the two moments. Each is looked up by its key at K1 (the version covering D, the latest valuation on
 * or before D: one probe each), so the cost follows what was recorded since K1, not the subtree's size.
 * Columns as heldPairSql's (in_a, qa, mva, ca at K1; in_b, qb, mvb, cb at K2).
 */
export function heldRecordedSql(asOf: string, from: string, to: KnownAt, subtree: string, ids: string[] | null): Prisma.Sql {
  const ka = pinnedOn(asOf, from, 'pva', 'vala');
  // Known now: the position row's own summary, and only for positions changed or valued since D the
  // version and valuation in force on D (as heldSql reads now): half the lookups.
  const kb = to === null ? presentOn(asOf, 'cvb', 'vb', inSubtree(subtree, ids, 'vr')) : pinnedOn(asOf, to, 'pvb', 'valb');
  return Prisma.sql`(
      SELECT p.id, p.portfolio_node_id AS node_id, ${ka.held} AS in_a, ${ka.quantity} AS qa, ${ka.marketValue} AS mva, ${ka.currency} AS ca,
             ${kb.held} AS in_b, ${kb.quantity} AS qb, ${kb.marketValue} AS mvb, ${kb.currency} AS cb
      FROM position p
      ${ka.joins}
      ${kb.joins}
      WHERE ${inSubtree(subtree, ids)} AND ${recordedSince(from)} AND (${ka.held} OR ${kb.held})
    )`;
}

/**
 * The subtree's positions held on either of two dates, as known at the same moment (holdingsChange
 * between two dates): one scan of the positions, each looking up its state and valuation on both
 * dates, instead of two scans joined in the leader. Columns: id, node_id (the position's node), in_a, qa, mva, ca (held on `a`, the
 * quantity, market value and currency then), in_b, qb, mvb, cb.
 */
export function heldPairSql(a: string, b: string, knownAt: KnownAt, subtree: string, ids: string[] | null): Prisma.Sql {
  const where = inSubtree(subtree, ids);
  const columns = (x: OnDate, y: OnDate) => Prisma.sql`
      p.id, p.portfolio_node_id AS node_id, ${x.held} AS in_a, ${x.quantity} AS qa, ${x.marketValue} AS mva, ${x.currency} AS ca,
      ${y.held} AS in_b, ${y.quantity} AS qb, ${y.marketValue} AS mvb, ${y.currency} AS cb`;
  const da = presentOn(a, 'cva', 'va', inSubtree(subtree, ids, 'vr'));
  const db = presentOn(b, 'cvb', 'vb', inSubtree(subtree, ids, 'vr'));
  const present = Prisma.sql`
      SELECT ${columns(da, db)}
      FROM position p
      ${da.joins}
      ${db.joins}
      WHERE ${where} ${unchangedSince(knownAt)} AND (${da.held} OR ${db.held})`;
  if (knownAt === null) return Prisma.sql`(${present})`;
  const ka = pinnedOn(a, knownAt, 'pva', 'vala');
  const kb = pinnedOn(b, knownAt, 'pvb', 'valb');
  return Prisma.sql`(${present}
      UNION ALL
      SELECT ${columns(ka, kb)}
      FROM position p
      ${ka.joins}
      ${kb.joins}
      WHERE ${where} AND ${recordedSince(knownAt)} AND (${ka.held} OR ${kb.held})
    )`;
}

/** A position on a date (presentOn, pinnedOn): whether it is held, its quantity and valuation. */
interface OnDate {
  joins: Prisma.Sql;
  held: Prisma.Sql;
  quantity: Prisma.Sql;
  marketValue: Prisma.Sql;
  currency: Prisma.Sql;
}

/** The subtree's ids as a parameter (subtreeIds, exposure.ts: planned from the column's statistics; the statement checks they are still the subtree), else walked inside the statement. */
function inSubtree(subtree: string, ids: string[] | null, alias = 'p'): Prisma.Sql {
  const column = Prisma.raw(`${alias}.portfolio_node_id`);
  return ids !== null
    ? Prisma.sql`${column} = ANY (${ids}::uuid[])`
    : Prisma.sql`${column} = ANY ((SELECT array_agg(s.id) FROM ${Prisma.raw(subtree)} s)::uuid[])`;
}

/** Pinned at K: a position nothing was recorded about since K (last_recorded_at <= K) is as known now. */
const unchangedSince = (knownAt: KnownAt): Prisma.Sql =>
  knownAt === null ? Prisma.empty : Prisma.sql`AND p.last_recorded_at <= ${knownAt}::timestamptz`;
const recordedSince = (knownAt: string): Prisma.Sql => Prisma.sql`p.last_recorded_at > ${knownAt}::timestamptz`;

/**
 * A position on date D as known now, from the position row (its latest state and valuation) and,
 * only for positions changed or valued since D, the current version ending after D (alias `cv`) and
 * the valuation in force on D (alias `v`): the joins, whether it is held, its quantity and valuation.
 */
function presentOn(asOf: string, cv: string, v: string, nodes: Prisma.Sql): OnDate {
  const [c, w] = [Prisma.raw(cv), Prisma.raw(v)];
  return {
    joins: Prisma.sql`
      LEFT JOIN (
        SELECT x.position_id, x.quantity FROM position_version x
        WHERE x.superseded_at IS NULL AND x.valid_to > ${asOf}::date AND x.valid_from <= ${asOf}::date AND x.status = 'ACTIVE'
      ) ${c} ON ${c}.position_id = p.id AND p.state_from > ${asOf}::date
      LEFT JOIN (
        SELECT vr.position_id, vr.market_value, vr.currency FROM valuation_result vr
        WHERE vr.superseded_at IS NULL AND vr.valid_to > ${asOf}::date AND vr.as_of_date <= ${asOf}::date AND ${nodes}
      ) ${w} ON ${w}.position_id = p.id AND p.latest_as_of > ${asOf}::date`,
    held: Prisma.sql`((p.state_from <= ${asOf}::date AND p.status = 'ACTIVE') OR ${c}.position_id IS NOT NULL)`,
    quantity: Prisma.sql`COALESCE(${c}.quantity, p.quantity)`,
    marketValue: Prisma.sql`CASE WHEN p.latest_as_of <= ${asOf}::date THEN p.latest_market_value ELSE ${w}.market_value END`,
    currency: Prisma.sql`CASE WHEN p.latest_as_of <= ${asOf}::date THEN p.latest_currency ELSE ${w}.currency END`,
  };
}

/**
 * A position recorded since K, on date D as known at K: the version recorded by K and not superseded
 * by then that covers D (alias `pv`; no two overlap), and the latest valuation dated on or before D
 * as known at K (alias `val`: one probe of (position_id, as_of_date DESC)).
 */
function pinnedOn(asOf: string, knownAt: KnownAt, pv: string, val: string): OnDate {
  const [x, y] = [Prisma.raw(pv), Prisma.raw(val)];
  return {
    joins: Prisma.sql`
      LEFT JOIN LATERAL (
        SELECT ${x}.position_id, ${x}.quantity FROM position_version ${x}
        WHERE ${x}.position_id = p.id AND ${knownSql(pv, knownAt)}
          AND ${x}.valid_from <= ${asOf}::date AND (${x}.valid_to IS NULL OR ${x}.valid_to > ${asOf}::date) AND ${x}.status = 'ACTIVE'
        LIMIT 1
      ) ${x} ON true
      LEFT JOIN LATERAL (
        SELECT vr.market_value, vr.currency FROM valuation_result vr
        WHERE vr.position_id = p.id AND vr.as_of_date <= ${asOf}::date AND ${knownSql('vr', knownAt)}
        ORDER BY vr.as_of_date DESC LIMIT 1
      ) ${y} ON ${x}.position_id IS NOT NULL`,
    held: Prisma.sql`(${x}.position_id IS NOT NULL)`,
    quantity: Prisma.sql`${x}.quantity`,
    marketValue: Prisma.sql`${y}.market_value`,
    currency: Prisma.sql`${y}.currency`,
  };
}

/** Instruments' grouping attributes (id, issuer_id, asset_class) as known at K: the table itself for now. */
export function instrumentsSql(knownAt: KnownAt): Prisma.Sql {
  if (knownAt === null) return Prisma.sql`instrument`;
  return Prisma.sql`(SELECT iv.instrument_id AS id, iv.issuer_id, iv.asset_class FROM instrument_version iv WHERE ${knownSql('iv', knownAt)})`;
}

/** Issuers' grouping attributes (id, ultimate_parent_id, sector_id, geography_id) as known at K. */
export function issuersSql(knownAt: KnownAt): Prisma.Sql {
  if (knownAt === null) return Prisma.sql`reference_data`;
  return Prisma.sql`(SELECT rv.entity_id AS id, rv.ultimate_parent_id, rv.sector_id, rv.geography_id FROM reference_data_version rv WHERE ${knownSql('rv', knownAt)})`;
}
