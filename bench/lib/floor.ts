// The floor: for each measured query, one hand-written SQL statement that
// returns the same answer, run directly with `pg` (no HTTP, no GraphQL, no
// Prisma). End-to-end time / floor time says how much the service adds on top
// of the database work a perfect implementation could not avoid.
//
// The statements compute the same data as the service (the same FX derivation
// order and rounding, the same "latest valuation on or before" rule), and the
// bench compares the answers (counts, totals) before it trusts a ratio.
import type { Pool } from 'pg';
import type { DatasetFacts } from './datasets';
import type { QueryId } from './queries';
import { historyPoints, TREE_POSITIONS_FIRST } from './queries';

export interface FloorStatement {
  sql: string;
  params: (facts: DatasetFacts, asOf: string) => unknown[];
}

/** Subtree of $1 in pre-order (siblings by name, id), with depth. */
const SUBTREE = `
  sub (id, parent_id, name, node_type, depth, sort) AS (
    SELECT n.id, n.parent_id, n.name, n.node_type, 0, ARRAY[]::text[] FROM portfolio_node n WHERE n.id = $1::uuid
    UNION ALL
    SELECT c.id, c.parent_id, c.name, c.node_type, s.depth + 1, s.sort || (c.name || chr(31) || c.id::text)
    FROM sub s JOIN portfolio_node c ON c.parent_id = s.id
  )`;

/** The feed order of the service: the latest dated, and for a date the latest recorded (it restates the earlier ones). */
const FX_ORDER = 'ORDER BY f.as_of_date DESC, f.recorded_at DESC, f.id DESC';

/**
 * The conversion rate of every currency of the feed into the reporting
 * currency ($3), as src/domain/fx.ts derives it: identity, direct, inverse
 * (rounded to 20 places), or through USD (each leg direct or inverse, the
 * product rounded to 20 places). The feed: the latest PASS or WARN FX_SPOT
 * feed dated on or before $2, known now (fxKnown for a knownAt).
 */
const FX = `
  feed AS (
    SELECT f.id FROM market_data_feed f
    WHERE f.feed_type = 'FX_SPOT' AND f.validation_status IN ('PASS', 'WARN') AND f.as_of_date <= $2::date
    ${FX_ORDER} LIMIT 1
  ),
  rates AS (SELECT pair, rate FROM fx_spot WHERE snapshot_id = (SELECT id FROM feed)),
  ccys AS (SELECT substr(pair, 1, 3) AS ccy FROM rates UNION SELECT substr(pair, 4, 3) FROM rates UNION SELECT $3::text),
  conv AS MATERIALIZED (
    SELECT c.ccy, CASE
      WHEN c.ccy = $3 THEN 1::numeric
      WHEN d.rate IS NOT NULL THEN d.rate
      WHEN r.rate IS NOT NULL THEN round(1::numeric(60, 40) / r.rate, 20)
      WHEN c.ccy <> 'USD' AND $3 <> 'USD' THEN round(COALESCE(a.rate, round(1::numeric(60, 40) / ai.rate, 20))
                                                   * COALESCE(b.rate, round(1::numeric(60, 40) / bi.rate, 20)), 20)
    END AS rate
    FROM ccys c
    LEFT JOIN rates d ON d.pair = c.ccy || $3
    LEFT JOIN rates r ON r.pair = $3 || c.ccy
    LEFT JOIN rates a ON a.pair = c.ccy || 'USD'
    LEFT JOIN rates ai ON ai.pair = 'USD' || c.ccy
    LEFT JOIN rates b ON b.pair = 'USD' || $3
    LEFT JOIN rates bi ON bi.pair = $3 || 'USD'
  )`;

/** The versions of `alias` as known at the moment in parameter `k`, or the current ones (k null). */
const known = (alias: string, k: string | null) =>
  k === null ? `${alias}.superseded_at IS NULL` : `(${alias}.recorded_at <= ${k}::timestamptz AND (${alias}.superseded_at IS NULL OR ${alias}.superseded_at > ${k}::timestamptz))`;

/** FX as the service picks the feed: the latest dated on or before $2 received by K (a later-recorded feed restates), or now (k null). */
function fxKnown(k: string | null): string {
  if (k === null) return FX;
  if (!FX.includes(FX_ORDER)) throw new Error('floor.ts: the FX statement changed; update fxKnown');
  return FX.replace(FX_ORDER, `AND f.recorded_at <= ${k}::timestamptz\n    ${FX_ORDER}`);
}

type Held = 'lateral' | 'validTo' | 'latest';

/**
 * A position's state on $2 as known now, as the service reads it (src/services/analytics/held.ts, heldSql
 * for knownAt null): a position whose latest state (the summary kept on position) began on or before $2 is
 * in that state on $2; one that changed since ($2 < state_from) is in the state of its current version
 * covering $2 (position_version_valid_to_xidx: such a version ends after $2), or not held when none does.
 * Held on $2: in state ACTIVE then.
 */
const STATE_ON = `LEFT JOIN (
      SELECT pv.position_id, pv.status FROM position_version pv
      WHERE pv.superseded_at IS NULL AND pv.valid_to > $2::date AND pv.valid_from <= $2::date
    ) cv ON cv.position_id = p.id AND p.state_from > $2::date`;
const HELD_ON = `((p.state_from <= $2::date AND p.status = 'ACTIVE') OR cv.status = 'ACTIVE')`;

/** The current valuations (not superseded) in force on $2 by valid_to: ended after $2 (`withOpen`: or still open). */
const validToValuations = (withOpen: boolean) => `(
      ${withOpen ? `SELECT vr.position_id, vr.market_value, vr.currency FROM valuation_result vr
      WHERE vr.valid_to IS NULL AND vr.superseded_at IS NULL AND vr.as_of_date <= $2::date
      UNION ALL
      ` : ''}SELECT vr.position_id, vr.market_value, vr.currency FROM valuation_result vr
      WHERE vr.valid_to > $2::date AND vr.superseded_at IS NULL AND vr.as_of_date <= $2::date
    )`;

/**
 * The positions of the subtree held on $2 (known now) with their valuation in force on $2 (the current
 * version dated latest on or before it), converted and rounded. `lateral`: the current position version
 * covering $2 and one backward index probe of the current valuations per position (valuedKnown(null), as
 * the `history` floors read the present); `validTo`: the state from the summary on position, the
 * valuation by the set-based join on valuation_result.valid_to (the as-of layout migration) through its
 * two partial covering indexes; `latest`: the state as in `validTo`, the valuation kept on the position
 * (migration position_latest_valuation) when dated on or before $2, else the one in force by valid_to.
 */
function valued(held: Held): string {
  if (held === 'lateral') return valuedKnown(null);
  const heldSql = held === 'latest'
    ? `SELECT p.id, p.instrument_id,
             CASE WHEN p.latest_as_of <= $2::date THEN p.latest_market_value ELSE v.market_value END AS market_value,
             CASE WHEN p.latest_as_of <= $2::date THEN p.latest_currency ELSE v.currency END AS currency
      FROM sub s JOIN position p ON p.portfolio_node_id = s.id
      ${STATE_ON}
      LEFT JOIN ${validToValuations(false)} v ON v.position_id = p.id AND p.latest_as_of > $2::date
      WHERE ${HELD_ON}`
    : `SELECT p.id, p.instrument_id, v.market_value, v.currency
      FROM sub s JOIN position p ON p.portfolio_node_id = s.id
      ${STATE_ON}
      LEFT JOIN ${validToValuations(true)} v ON v.position_id = p.id
      WHERE ${HELD_ON}`;
  return `
  held AS (
    ${heldSql}
  ),
  valued AS (
    SELECT h.id, h.instrument_id, round(h.market_value * c.rate, 8) AS amount
    FROM held h JOIN conv c ON c.ccy = h.currency
  )`;
}

const SUBTREE_IDS = `
  sub (id) AS (
    SELECT $1::uuid
    UNION ALL
    SELECT c.id FROM sub s JOIN portfolio_node c ON c.parent_id = s.id
  )`;

const fundAsOfJpy = (facts: DatasetFacts, asOf: string) => [facts.fund.id, asOf, 'JPY'];

/** Ultimate parents by a recursive walk over the issuers (any schema). */
const ULTIMATE_CHAIN = `,
  chain (issuer_id, id, parent_id) AS (
    SELECT r.id, r.id, r.parent_entity_id FROM reference_data r WHERE r.entity_type = 'ISSUER'
    UNION ALL
    SELECT c.issuer_id, p.id, p.parent_entity_id FROM chain c JOIN reference_data p ON p.id = c.parent_id
  ),
  ultimate AS (SELECT issuer_id, id AS ultimate_id FROM chain WHERE parent_id IS NULL)`;

function exposureBy(held: Held, key: string, extraCtes = '', extraJoin = ''): string {
  return `
  WITH RECURSIVE ${SUBTREE_IDS}, ${fxKnown(null)}, ${valued(held)}${extraCtes},
  buckets AS (
    SELECT ${key} AS key, sum(v.amount) AS value, count(*)::int AS n
    FROM valued v JOIN instrument i ON i.id = v.instrument_id LEFT JOIN reference_data iss ON iss.id = i.issuer_id ${extraJoin}
    GROUP BY 1
  )
  SELECT b.key::text, lbl.name AS label, b.value::text, b.n,
         sum(b.value) OVER ()::text AS total,
         (SELECT count(*)::int FROM held WHERE market_value IS NULL) AS unvalued
  FROM buckets b LEFT JOIN reference_data lbl ON lbl.id = b.key
  ORDER BY b.value DESC, b.key`;
}

/**
 * The parallel shape (the service's heldSql for knownAt null): the subtree's positions held on $2
 * as a subquery (no CTE scan), state and valuation as in valued('latest'), with the
 * subtree's ids and the conversion rates as arrays computed once (InitPlans), so that
 * PostgreSQL scans, joins and partially aggregates the positions in parallel workers.
 * `split`: the same positions in two disjoint parts - in their latest state since $2 or earlier
 * (filtered in the position scan itself), changed since (from their current version covering $2) -
 * instead of one scan that joins every position to the versions that ended after $2.
 */
function heldParallel(split: boolean): string {
  const inSubtree = 'p.portfolio_node_id = ANY ((SELECT array_agg(id) FROM sub)::uuid[])';
  const value = `CASE WHEN p.latest_as_of <= $2::date THEN p.latest_market_value ELSE v.market_value END AS market_value,
           CASE WHEN p.latest_as_of <= $2::date THEN p.latest_currency ELSE v.currency END AS currency`;
  const valuedSince = `LEFT JOIN ${validToValuations(false)} v ON v.position_id = p.id AND p.latest_as_of > $2::date`;
  const held = split
    ? `SELECT p.instrument_id, ${value}
    FROM position p
    ${valuedSince}
    WHERE ${inSubtree} AND p.status = 'ACTIVE' AND p.state_from <= $2::date
    UNION ALL
    SELECT p.instrument_id, ${value}
    FROM position_version cv JOIN position p ON p.id = cv.position_id AND p.state_from > $2::date
    ${valuedSince}
    WHERE cv.superseded_at IS NULL AND cv.valid_to > $2::date AND cv.valid_from <= $2::date AND cv.status = 'ACTIVE' AND ${inSubtree}`
    : `SELECT p.instrument_id, ${value}
    FROM position p
    ${STATE_ON}
    ${valuedSince}
    WHERE ${inSubtree} AND ${HELD_ON}`;
  return `(
    ${held}
  ) h
  LEFT JOIN unnest((SELECT array_agg(ccy ORDER BY ccy) FROM conv), (SELECT array_agg(rate ORDER BY ccy) FROM conv)) AS c (ccy, rate) ON c.ccy = h.currency`;
}

function exposureParallel(key: string, split = false): string {
  return `
  WITH RECURSIVE ${SUBTREE_IDS}, ${fxKnown(null)},
  grouped AS MATERIALIZED (
    SELECT ${key} AS key, h.market_value IS NULL AS unvalued, sum(round(h.market_value * c.rate, 8)) AS value, count(*)::int AS n
    FROM ${heldParallel(split)}
    JOIN instrument i ON i.id = h.instrument_id LEFT JOIN reference_data iss ON iss.id = i.issuer_id
    GROUP BY 1, 2
  ),
  buckets AS (SELECT key, value, n FROM grouped WHERE NOT unvalued)
  SELECT b.key::text, lbl.name AS label, b.value::text, b.n,
         sum(b.value) OVER ()::text AS total,
         (SELECT COALESCE(sum(n), 0)::int FROM grouped WHERE unvalued) AS unvalued
  FROM buckets b LEFT JOIN reference_data lbl ON lbl.id = b.key
  ORDER BY b.value DESC, b.key`;
}

const VALID_TO = 'valuation_result.valid_to';
const LATEST = 'position.latest_as_of';
const ULTIMATE = 'reference_data.ultimate_parent_id';
const COUNTS = 'node_position_count.delta';
/** The summary of a position's latest state as known now (two-clock migration). */
const STATE = 'position.state_from';

/** One floor statement; `requires` names the columns (table.column) it needs. */
export interface FloorVariant extends FloorStatement {
  name: string;
  requires?: string[];
}

const one = (statement: FloorStatement): FloorVariant[] => [{ name: 'one statement', ...statement }];

// ------------------------------------------------------------------ the two clocks (group `history`)
//
// Floors of the two-clock reads whose answer one plain statement gives: the versions as known at K
// (recorded by K, not superseded by then; "known now": the current versions) of positions
// (position_version), valuations, ratings, FX feeds (recorded_at), the hierarchy
// (portfolio_node_version) and issuers' and instruments' grouping attributes (*_version). holdingsChange
// has no floor (two points, a full outer join and a keyset page: not "easy").

/** The subtree of $1 as known at K ($4) or now. */
const subtreeKnown = (k: string | null) => k === null
  ? SUBTREE_IDS
  : `
  sub (id) AS (
    SELECT n.node_id FROM portfolio_node_version n WHERE n.node_id = $1::uuid AND ${known('n', k)}
    UNION ALL
    SELECT c.node_id FROM sub s JOIN portfolio_node_version c ON c.parent_id = s.id AND ${known('c', k)}
  )`;

/** Positions of the subtree held (ACTIVE) on $2 as known at K, with their valuation in force then, converted. */
const valuedKnown = (k: string | null) => `
  held AS (
    SELECT p.id, p.instrument_id, val.market_value, val.currency
    FROM sub s JOIN position p ON p.portfolio_node_id = s.id
    JOIN position_version pv ON pv.position_id = p.id AND ${known('pv', k)}
      AND pv.valid_from <= $2::date AND (pv.valid_to IS NULL OR pv.valid_to > $2::date) AND pv.status = 'ACTIVE'
    LEFT JOIN LATERAL (
      SELECT vr.market_value, vr.currency FROM valuation_result vr
      WHERE vr.position_id = p.id AND vr.as_of_date <= $2::date AND ${known('vr', k)}
      ORDER BY vr.as_of_date DESC LIMIT 1
    ) val ON true
  ),
  valued AS (
    SELECT h.id, h.instrument_id, round(h.market_value * c.rate, 8) AS amount
    FROM held h JOIN conv c ON c.ccy = h.currency
  )`;

const marketValueKnown = (k: string | null) =>
  `WITH RECURSIVE ${subtreeKnown(k)}, ${fxKnown(k)}, ${valuedKnown(k)} SELECT COALESCE(sum(amount), 0)::text AS amount FROM valued`;

/** exposure ISSUER look-through: instruments' issuers and issuers' ultimate parents as recorded at K. */
function exposureIssuerKnown(k: string | null): string {
  const instruments = k === null ? 'instrument' : `(SELECT iv.instrument_id AS id, iv.issuer_id FROM instrument_version iv WHERE ${known('iv', k)})`;
  const issuers = k === null ? 'reference_data' : `(SELECT rv.entity_id AS id, rv.ultimate_parent_id FROM reference_data_version rv WHERE ${known('rv', k)})`;
  return `
  WITH RECURSIVE ${subtreeKnown(k)}, ${fxKnown(k)}, ${valuedKnown(k)},
  buckets AS (
    SELECT COALESCE(iss.ultimate_parent_id, i.issuer_id) AS key, sum(v.amount) AS value, count(*)::int AS n
    FROM valued v JOIN ${instruments} i ON i.id = v.instrument_id LEFT JOIN ${issuers} iss ON iss.id = i.issuer_id
    GROUP BY 1
  )
  SELECT b.key::text, b.value::text, b.n, sum(b.value) OVER ()::text AS total,
         (SELECT count(*)::int FROM held WHERE market_value IS NULL) AS unvalued
  FROM buckets b ORDER BY b.value DESC, b.key::text`;
}

const pastJpy = (f: DatasetFacts, asOf: string) => [f.fund.id, historyPoints(f, asOf).past, 'JPY'];
const latestJpyKnownAt = (f: DatasetFacts, asOf: string) => [f.fund.id, asOf, 'JPY', historyPoints(f, asOf).knownAt];
/** Timestamps as the API shows them: ISO, to the millisecond. */
const iso = (expr: string) => `to_char(date_trunc('milliseconds', ${expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The floors of the `history` group (QueryId -> variants). */
const HISTORY_FLOOR: Partial<Record<QueryId, FloorVariant[]>> = {
  exposureIssuerPast: [{ name: 'current versions + lateral probes', sql: exposureIssuerKnown(null), params: pastJpy }],
  marketValuePast: [{ name: 'current versions + lateral probes', sql: marketValueKnown(null), params: pastJpy }],
  exposureIssuerKnownAt: [{ name: 'versions known at K + lateral probes', sql: exposureIssuerKnown('$4'), params: latestJpyKnownAt }],
  marketValueKnownAt: [{ name: 'versions known at K + lateral probes', sql: marketValueKnown('$4'), params: latestJpyKnownAt }],
  positionHistory: one({
    sql: `SELECT to_char(v.valid_from, 'YYYY-MM-DD') AS valid_from, to_char(v.valid_to, 'YYYY-MM-DD') AS valid_to, v.quantity::text, v.status::text,
             ${iso('v.recorded_at')} AS recorded_at, ${iso('v.superseded_at')} AS superseded_at
      FROM position_version v WHERE v.position_id = $1::uuid AND v.superseded_at IS NULL ORDER BY v.valid_from`,
    params: (f, asOf) => [historyPoints(f, asOf).positionId],
  }),
  positionHolding: one({
    sql: `SELECT v.quantity::text, v.status::text FROM position_version v
      WHERE v.position_id = $1::uuid AND ${known('v', '$3')} AND v.valid_from <= $2::date AND (v.valid_to IS NULL OR v.valid_to > $2::date)`,
    params: (f, asOf) => {
      const p = historyPoints(f, asOf);
      return [p.positionId, p.latest, p.knownAt];
    },
  }),
  valuationVersions: one({
    sql: `SELECT to_char(v.as_of_date, 'YYYY-MM-DD') AS as_of_date, v.market_value::text, v.currency::text,
             ${iso('v.recorded_at')} AS recorded_at, ${iso('v.superseded_at')} AS superseded_at
      FROM valuation_result v WHERE v.position_id = $1::uuid AND v.as_of_date = $2::date ORDER BY v.recorded_at DESC, v.id`,
    params: (f, asOf) => {
      const p = historyPoints(f, asOf);
      return [p.positionId, p.valuationDate];
    },
  }),
  ratingKnownAt: one({
    sql: `SELECT r.id::text, r.name, h.agency::text, h.rating, to_char(h.as_of_date, 'YYYY-MM-DD') AS as_of_date
      FROM reference_data r LEFT JOIN LATERAL (
        SELECT agency, rating, as_of_date FROM rating_history rh
        WHERE rh.entity_id = r.id AND rh.agency = 'SP' AND rh.as_of_date <= $2::date AND ${known('rh', '$3')} ORDER BY rh.as_of_date DESC LIMIT 1
      ) h ON true WHERE r.id = $1::uuid`,
    params: (f, asOf) => {
      const p = historyPoints(f, asOf);
      return [p.issuerId, p.latest, p.knownAt];
    },
  }),
  fxRateKnownAt: one({
    // $4 (K) becomes $2 after $2 (the date) became $1.
    sql: `WITH ${fxKnown('$4').replace(/\$3/g, "'JPY'").replace(/\$2/g, '$1').replace(/\$4/g, '$2')}
      SELECT c.rate::text, (SELECT to_char(f.as_of_date, 'YYYY-MM-DD') FROM market_data_feed f WHERE f.id = (SELECT id FROM feed)) AS as_of
      FROM conv c WHERE c.ccy = 'EUR'`,
    params: (f, asOf) => [asOf, historyPoints(f, asOf).knownAt],
  }),
};

/** The floor of each query: the fastest of its variants that the schema supports. */
export const FLOOR: Partial<Record<QueryId, FloorVariant[]>> = {
  tree: [
    {
      name: 'counting positions',
      sql: `WITH RECURSIVE ${SUBTREE}
      SELECT s.id::text, s.parent_id::text, s.name, s.node_type::text, s.depth,
             (SELECT count(*)::int FROM position p WHERE p.portfolio_node_id = s.id) AS position_count
      FROM sub s ORDER BY s.sort`,
      params: (f) => [f.fund.id],
    },
    {
      name: 'counts kept per node',
      sql: `WITH RECURSIVE ${SUBTREE}
      SELECT s.id::text, s.parent_id::text, s.name, s.node_type::text, s.depth,
             (SELECT COALESCE(sum(c.delta), 0)::int FROM node_position_count c WHERE c.portfolio_node_id = s.id) AS position_count
      FROM sub s ORDER BY s.sort`,
      params: (f) => [f.fund.id],
      requires: [COUNTS],
    },
  ],
  treePositions: one({
    sql: `WITH RECURSIVE ${SUBTREE}
      SELECT s.id::text, s.parent_id::text, s.name, s.node_type::text, s.depth,
             (SELECT count(*)::int FROM position p WHERE p.portfolio_node_id = s.id) AS position_count,
             (SELECT COALESCE(json_agg(json_build_object('id', p.id, 'instrument', json_build_object('id', i.id, 'name', i.name)) ORDER BY p.id), '[]')
              -- OFFSET 0 keeps the node's positions a subquery of their own (an index scan by node, then a
              -- top-N sort): without it the planner walks the whole primary key in id order looking for the
              -- node's rows, which takes seconds at 1,000,000 positions (PostGraphile's statement does that).
              FROM (SELECT q.id, q.instrument_id FROM (SELECT p.id, p.instrument_id FROM position p WHERE p.portfolio_node_id = s.id OFFSET 0) q
                    ORDER BY q.id LIMIT $2) p
              JOIN instrument i ON i.id = p.instrument_id) AS positions
      FROM sub s ORDER BY s.sort`,
    params: (f) => [f.fund.id, TREE_POSITIONS_FIRST],
  }),
  exposureIssuer: [
    { name: 'current versions + lateral probes + recursive look-through', sql: exposureBy('lateral', 'u.ultimate_id', ULTIMATE_CHAIN, 'LEFT JOIN ultimate u ON u.issuer_id = i.issuer_id'), params: fundAsOfJpy },
    { name: 'valid_to join + ultimate_parent_id', sql: exposureBy('validTo', 'COALESCE(iss.ultimate_parent_id, i.issuer_id)'), params: fundAsOfJpy, requires: [STATE, VALID_TO, ULTIMATE] },
    { name: 'latest on position + ultimate_parent_id', sql: exposureBy('latest', 'COALESCE(iss.ultimate_parent_id, i.issuer_id)'), params: fundAsOfJpy, requires: [STATE, LATEST, ULTIMATE] },
    { name: 'parallel, latest on position + ultimate_parent_id', sql: exposureParallel('COALESCE(iss.ultimate_parent_id, i.issuer_id)'), params: fundAsOfJpy, requires: [STATE, LATEST, ULTIMATE] },
    { name: 'parallel split, latest on position + ultimate_parent_id', sql: exposureParallel('COALESCE(iss.ultimate_parent_id, i.issuer_id)', true), params: fundAsOfJpy, requires: [STATE, LATEST, ULTIMATE] },
  ],
  exposureSector: [
    { name: 'current versions + lateral probes', sql: exposureBy('lateral', 'iss.sector_id'), params: fundAsOfJpy },
    { name: 'valid_to join', sql: exposureBy('validTo', 'iss.sector_id'), params: fundAsOfJpy, requires: [STATE, VALID_TO] },
    { name: 'latest on position', sql: exposureBy('latest', 'iss.sector_id'), params: fundAsOfJpy, requires: [STATE, LATEST] },
    { name: 'parallel, latest on position', sql: exposureParallel('iss.sector_id'), params: fundAsOfJpy, requires: [STATE, LATEST] },
    { name: 'parallel split, latest on position', sql: exposureParallel('iss.sector_id', true), params: fundAsOfJpy, requires: [STATE, LATEST] },
  ],
  exposureGeography: [
    { name: 'current versions + lateral probes', sql: exposureBy('lateral', 'iss.geography_id'), params: fundAsOfJpy },
    { name: 'valid_to join', sql: exposureBy('validTo', 'iss.geography_id'), params: fundAsOfJpy, requires: [STATE, VALID_TO] },
    { name: 'latest on position', sql: exposureBy('latest', 'iss.geography_id'), params: fundAsOfJpy, requires: [STATE, LATEST] },
    { name: 'parallel, latest on position', sql: exposureParallel('iss.geography_id'), params: fundAsOfJpy, requires: [STATE, LATEST] },
    { name: 'parallel split, latest on position', sql: exposureParallel('iss.geography_id', true), params: fundAsOfJpy, requires: [STATE, LATEST] },
  ],
  marketValue: [
    { name: 'current versions + lateral probes', sql: `WITH RECURSIVE ${SUBTREE_IDS}, ${fxKnown(null)}, ${valued('lateral')} SELECT COALESCE(sum(amount), 0)::text AS amount FROM valued`, params: fundAsOfJpy },
    { name: 'valid_to join', sql: `WITH RECURSIVE ${SUBTREE_IDS}, ${fxKnown(null)}, ${valued('validTo')} SELECT COALESCE(sum(amount), 0)::text AS amount FROM valued`, params: fundAsOfJpy, requires: [STATE, VALID_TO] },
    { name: 'latest on position', sql: `WITH RECURSIVE ${SUBTREE_IDS}, ${fxKnown(null)}, ${valued('latest')} SELECT COALESCE(sum(amount), 0)::text AS amount FROM valued`, params: fundAsOfJpy, requires: [STATE, LATEST] },
    { name: 'parallel, latest on position', sql: `WITH RECURSIVE ${SUBTREE_IDS}, ${fxKnown(null)} SELECT COALESCE(sum(round(h.market_value * c.rate, 8)), 0)::text AS amount FROM ${heldParallel(false)}`, params: fundAsOfJpy, requires: [STATE, LATEST] },
    { name: 'parallel split, latest on position', sql: `WITH RECURSIVE ${SUBTREE_IDS}, ${fxKnown(null)} SELECT COALESCE(sum(round(h.market_value * c.rate, 8)), 0)::text AS amount FROM ${heldParallel(true)}`, params: fundAsOfJpy, requires: [STATE, LATEST] },
  ],
  rating: one({
    sql: `SELECT r.id::text, r.name, h.agency::text, h.rating, h.as_of_date::text
      FROM reference_data r LEFT JOIN LATERAL (
        SELECT agency, rating, as_of_date FROM rating_history rh
        WHERE rh.entity_id = r.id AND rh.agency = 'SP' AND rh.as_of_date <= $2::date AND ${known('rh', null)} ORDER BY rh.as_of_date DESC LIMIT 1
      ) h ON true WHERE r.id = $1::uuid`,
    params: (f, asOf) => [f.ratedIssuer.id, asOf],
  }),
  fxRate: one({
    sql: `WITH ${fxKnown(null).replace(/\$3/g, "'JPY'").replace(/\$2/g, '$1')}
      SELECT c.rate::text, (SELECT f.as_of_date::text FROM market_data_feed f WHERE f.id = (SELECT id FROM feed)) AS as_of
      FROM conv c WHERE c.ccy = 'EUR'`,
    params: (_f, asOf) => [asOf],
  }),
  page500: one({
    sql: `WITH RECURSIVE ${SUBTREE_IDS},
      scoped AS (SELECT p.* FROM sub s JOIN position p ON p.portfolio_node_id = s.id)
      SELECT (SELECT count(*)::int FROM scoped) AS total, pg.id::text, pg.quantity::text, pg.status::text, pg.base_ccy,
             i.id::text AS instrument_id, i.name, i.isin, i.asset_class::text, i.currency, iss.id::text AS issuer_id, iss.name AS issuer_name, iss.lei
      FROM (SELECT * FROM scoped ORDER BY id LIMIT 501) pg
      JOIN instrument i ON i.id = pg.instrument_id LEFT JOIN reference_data iss ON iss.id = i.issuer_id
      ORDER BY pg.id`,
    params: (f) => [f.fund.id],
  }),
  ...HISTORY_FLOOR,
};

/** The columns of the public schema, as table.column, to pick the floor variants the schema supports. */
export async function schemaColumns(pool: Pool): Promise<Set<string>> {
  const { rows } = await pool.query<{ c: string }>(
    `SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE table_schema = 'public'`,
  );
  return new Set(rows.map((r) => r.c));
}

export function floorVariants(id: QueryId, columns: Set<string>): FloorVariant[] {
  return (FLOOR[id] ?? []).filter((v) => (v.requires ?? []).every((c) => columns.has(c)));
}
