// The positions of a subtree held on a date, as known at a moment, with the
// quantity held then and the valuation in force: the input of marketValue,
// exposure and holdingsChange. A subquery (no CTE: CTE scans keep PostgreSQL
// from running the scan, joins and partial aggregates in parallel workers),
// filtered by the subtree's node ids - a parameter read just before the
// statement (subtreeIds, exposure.ts), so that the planner counts the positions
// from the column's statistics - or, without them, by an array computed once in
// the statement (an InitPlan).
//
// Known now (knownAt null), one scan of the subtree's positions, costing what
// it did before versions:
//   - a position whose latest state (the summary kept on position) began on or
//     before D is in that state on D: no version is read;
//   - only positions changed since D (a current version ending after D:
//     position_version_valid_to_xidx) look their state on D up, in a hash join;
//   - the valuation in force is the position's latest when dated on or before D,
//     else the current version valued on or before D and superseded (valid_to)
//     after it: only positions valued again since D read valuation_result.
// Pinned at knownAt K: a position nothing was recorded about since K
// (position.last_recorded_at <= K, kept by the triggers that record its
// versions and valuations) is on D as known now: the present path above. Only
// the positions recorded since K read the versions recorded by K and not
// superseded by then - the version covering D, and the latest valuation dated
// on or before D (one probe of (position_id, as_of_date DESC) each).
import { Prisma } from '../../generated/prisma/client';
import { knownSql, type KnownAt } from '../time/knownAt';

/**
 * Columns: id, instrument_id, child_id (the direct child of the root it hangs under), quantity, market_value,
 * currency. The statement must define the subtree CTE (subtreeCte in exposure.ts), as of the same knownAt; with
 * `ids` (its node ids, read before: subtreeIds) the positions are filtered by those, and the statement must
 * check them (subtreeSame).
 */
export function heldSql(asOf: string, knownAt: KnownAt, withChild: boolean, subtree = 'subtree', ids: string[] | null = null): Prisma.Sql {
  const tree = Prisma.raw(subtree);
  const child = withChild ? Prisma.sql`sc.child_id` : Prisma.sql`NULL::uuid AS child_id`;
  const childJoin = withChild
    ? Prisma.sql`JOIN unnest((SELECT array_agg(s.id ORDER BY s.id) FROM ${tree} s), (SELECT array_agg(s.child_id ORDER BY s.id) FROM ${tree} s))
        AS sc (id, child_id) ON sc.id = p.portfolio_node_id`
    : Prisma.empty;
  // The subtree's ids as a parameter (subtreeIds, exposure.ts: planned from the column's statistics;
  // the statement checks they are still the subtree), else walked inside the statement.
  const inSubtree = ids !== null
    ? Prisma.sql`p.portfolio_node_id = ANY (${ids}::uuid[])`
    : Prisma.sql`p.portfolio_node_id = ANY ((SELECT array_agg(s.id) FROM ${tree} s)::uuid[])`;
  const valuation = Prisma.sql`
      CASE WHEN p.latest_as_of <= ${asOf}::date THEN p.latest_market_value ELSE v.market_value END AS market_value,
      CASE WHEN p.latest_as_of <= ${asOf}::date THEN p.latest_currency ELSE v.currency END AS currency`;
  const valuedSince = Prisma.sql`
    LEFT JOIN (
      SELECT vr.position_id, vr.market_value, vr.currency FROM valuation_result vr
      WHERE vr.superseded_at IS NULL AND vr.valid_to > ${asOf}::date AND vr.as_of_date <= ${asOf}::date
    ) v ON v.position_id = p.id AND p.latest_as_of > ${asOf}::date`;
  // Pinned at K: a position nothing was recorded about since K (last_recorded_at <= K) is as known
  // now; only the others read their versions (the second part below).
  const unchangedSince = knownAt === null ? Prisma.empty : Prisma.sql`AND p.last_recorded_at <= ${knownAt}::timestamptz`;
  // One scan of the subtree's positions: a position whose latest state began on or before D is in
  // that state on D; one that changed since (state_from > D) finds its state on D in the current
  // version ending after D (position_version_valid_to_xidx: only versions that ended). One scan
  // keeps the whole computation below one Gather, grouped in the parallel workers.
  const present = Prisma.sql`
      SELECT p.id, p.instrument_id, ${child}, COALESCE(cv.quantity, p.quantity) AS quantity, ${valuation}
      FROM position p
      ${childJoin}
      LEFT JOIN (
        SELECT cv.position_id, cv.quantity FROM position_version cv
        WHERE cv.superseded_at IS NULL AND cv.valid_to > ${asOf}::date AND cv.valid_from <= ${asOf}::date AND cv.status = 'ACTIVE'
      ) cv ON cv.position_id = p.id AND p.state_from > ${asOf}::date
      ${valuedSince}
      WHERE ${inSubtree} ${unchangedSince}
        AND ((p.state_from <= ${asOf}::date AND p.status = 'ACTIVE') OR cv.position_id IS NOT NULL)`;
  if (knownAt === null) return Prisma.sql`(${present})`;
  return Prisma.sql`(${present}
      UNION ALL
      SELECT p.id, p.instrument_id, ${child}, pv.quantity, val.market_value, val.currency
      FROM position p
      ${childJoin}
      JOIN position_version pv ON pv.position_id = p.id AND ${knownSql('pv', knownAt)}
        AND pv.valid_from <= ${asOf}::date AND (pv.valid_to IS NULL OR pv.valid_to > ${asOf}::date) AND pv.status = 'ACTIVE'
      LEFT JOIN LATERAL (
        SELECT vr.market_value, vr.currency FROM valuation_result vr
        WHERE vr.position_id = p.id AND vr.as_of_date <= ${asOf}::date AND ${knownSql('vr', knownAt)}
        ORDER BY vr.as_of_date DESC LIMIT 1
      ) val ON true
      WHERE ${inSubtree} AND p.last_recorded_at > ${knownAt}::timestamptz
    )`;
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
