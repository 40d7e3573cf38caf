// The FX part of the analytics statements, as CTEs to compose into them. It
// mirrors src/domain/fx.ts exactly (same order of derivations, same rounding):
//   fx_feed   the latest PASS or WARN FX_SPOT feed on or before the as-of date
//             received by knownAt (ties: the later-recorded feed restates the
//             earlier) - one probe of (feed_type, as_of_date DESC);
//   fx_rates  that feed's rates (primary key (pair, snapshot_id) / snapshot_id index);
//   fx_needed every currency the feed names, and the reporting currency;
//   fx_conv   for each of them, its rate into the reporting currency, NULL when
//             the feed cannot provide it (a held currency absent from fx_conv has
//             no rate either).
// Divisions run at 40 decimal places before rounding to 20, so PostgreSQL and
// decimal.js round the same digits.
import { Prisma } from '../../generated/prisma/client';
import type { KnownAt } from '../time/knownAt';

/**
 * The CTEs, named `${prefix}_feed`, `${prefix}_rates`, `${prefix}_needed`, `${prefix}_conv` (prefix "fx"
 * unless a statement needs two sets, as holdingsChange does for its two points in time).
 */
export function fxCtes(asOf: string, reporting: string, knownAt: KnownAt = null, prefix = 'fx'): Prisma.Sql {
  const inv = (rate: Prisma.Sql) => Prisma.sql`round(1::numeric(60, 40) / ${rate}, 20)`;
  const [feed, rates, needed, conv] = ['feed', 'rates', 'needed', 'conv'].map((n) => Prisma.raw(`${prefix}_${n}`)) as [Prisma.Sql, Prisma.Sql, Prisma.Sql, Prisma.Sql];
  return Prisma.sql`
    ${feed} AS (
      SELECT f.id, f.as_of_date FROM market_data_feed f
      WHERE f.feed_type = 'FX_SPOT' AND f.validation_status IN ('PASS', 'WARN') AND f.as_of_date <= ${asOf}::date
        ${knownAt === null ? Prisma.empty : Prisma.sql`AND f.recorded_at <= ${knownAt}::timestamptz`}
      ORDER BY f.as_of_date DESC, f.recorded_at DESC, f.id DESC
      LIMIT 1
    ),
    ${rates} AS (SELECT x.pair, x.rate FROM fx_spot x WHERE x.snapshot_id = (SELECT id FROM ${feed})),
    -- Every currency the feed names, and the reporting currency: a rate for each (or NULL).
    ${needed} AS (
      SELECT substr(x.pair, 1, 3)::char(3) AS ccy FROM ${rates} x
      UNION SELECT substr(x.pair, 4, 3)::char(3) FROM ${rates} x
      UNION SELECT ${reporting}::char(3)
    ),
    ${conv} AS (
      SELECT n.ccy,
        CASE
          WHEN n.ccy = ${reporting} THEN 1::numeric
          WHEN d.rate IS NOT NULL THEN d.rate
          WHEN r.rate IS NOT NULL THEN ${inv(Prisma.sql`r.rate`)}
          WHEN n.ccy <> 'USD' AND ${reporting} <> 'USD' THEN round(
            COALESCE(a.rate, ${inv(Prisma.sql`ai.rate`)}) * COALESCE(b.rate, ${inv(Prisma.sql`bi.rate`)}), 20)
        END AS rate
      FROM ${needed} n
      LEFT JOIN ${rates} d ON d.pair = n.ccy || ${reporting}
      LEFT JOIN ${rates} r ON r.pair = ${reporting} || n.ccy
      LEFT JOIN ${rates} a ON a.pair = n.ccy || 'USD'
      LEFT JOIN ${rates} ai ON ai.pair = 'USD' || n.ccy
      LEFT JOIN ${rates} b ON b.pair = 'USD' || ${reporting}
      LEFT JOIN ${rates} bi ON bi.pair = ${reporting} || 'USD'
    )`;
}

/** `${prefix}_conv` as a relation (ccy, rate) built from two arrays computed once, which parallel workers may join. */
export const fxConvRows = (prefix = 'fx'): Prisma.Sql => {
  const conv = Prisma.raw(`${prefix}_conv`);
  return Prisma.sql`unnest((SELECT array_agg(f.ccy ORDER BY f.ccy) FROM ${conv} f), (SELECT array_agg(f.rate ORDER BY f.ccy) FROM ${conv} f))`;
};
