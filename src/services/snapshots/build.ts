// The content of a snapshot, read in ONE statement (so it is also one
// consistent picture: a position changed meanwhile is either wholly in or out).
//
//   up / visible  the node's root is one of the caller's funds (entitlements;
//            a walk of at most four levels up, cycle-safe); if not, the node
//            reads as missing and nothing else is read;
//   subtree  recursive walk down the tree as recorded at knownAt
//            (portfolio_node_version, parent_id index), cycle-safe; the node's
//            name, level and currency as recorded then too;
//   held     its positions held on the date as known at knownAt (the versions
//            recorded by then), with the quantity held that day and the latest
//            valuation dated on or before the date recorded by then (one
//            backward probe of (position_id, as_of_date DESC) each): the same
//            semantics as heldSql in ../analytics/held.ts, which does not carry
//            the valuation date we need; ISINs as recorded by knownAt;
//   fx_feed / fx_rates  reused from ../analytics/fxSql.ts, so the feed is
//            exactly the one the analytics convert with (fx_needed and fx_conv
//            are not referenced, hence never run).
// The rows travel as three JSON texts (node, fx, positions as compact
// arrays): one row instead of 40,000 keeps the driver's per-value decoding off
// the hot path (measured: 0.41 s as rows, 0.36 s as JSON at 41,622 positions).
// Numbers are sent as numeric::text; src/domain/snapshot.ts makes them
// canonical and sorts the positions (cheaper in JS than a sort that spills to
// disk at the default work_mem).
import type { Prisma as Db } from '../../db/database';
import type { SnapshotContent, SnapshotPosition } from '../../domain/snapshot';
import { Prisma } from '../../generated/prisma/client';
import { fxCtes } from '../analytics/fxSql';
import { knownSql } from '../time/knownAt';

interface ContentRow {
  node: string | null;
  fx: string | null;
  positions: string;
  changes: string;
  change_rows: number;
}

/**
 * The content version of a node's fund as of a read (the sum of the weights of
 * its content_change rows, which only grows) and the FX feed in force: while
 * both are unchanged, a snapshot of the node for the date has the same content.
 */
export const contentVersion = (nodeId: string): Prisma.Sql => Prisma.sql`
  (SELECT COALESCE(sum(c.weight), 0)::text FROM content_change c
   WHERE c.fund_id IS NULL OR c.fund_id = (SELECT fund_id FROM portfolio_node WHERE id = ${nodeId}::uuid))`;

/** How many content_change rows make up that version (compaction folds them into one per fund). */
export const contentRows = (nodeId: string): Prisma.Sql => Prisma.sql`
  (SELECT count(*)::int FROM content_change c
   WHERE c.fund_id IS NULL OR c.fund_id = (SELECT fund_id FROM portfolio_node WHERE id = ${nodeId}::uuid))`;

/**
 * Folds the content_change rows of the node's fund, and those for every fund,
 * into one row each with the summed weight: every fund's version (the sum) is
 * unchanged, so no probe goes stale, and reading a version stays a few rows.
 * One statement, so readers see the rows before or after it, never a part.
 * Concurrent compactions cannot double count: a row deleted by one is skipped
 * by the other, and a compaction that deleted nothing inserts nothing.
 */
export async function compactContentChanges(prisma: Db, nodeId: string): Promise<void> {
  await prisma.$executeRaw`
    WITH gone AS (
      DELETE FROM content_change c
      WHERE c.fund_id IS NULL OR c.fund_id = (SELECT fund_id FROM portfolio_node WHERE id = ${nodeId}::uuid)
      RETURNING c.fund_id, c.weight
    )
    INSERT INTO content_change (fund_id, weight)
    SELECT fund_id, sum(weight)::int FROM gone GROUP BY fund_id`;
}

export const fingerprintOf = (changes: string, feedId: string | null) => `v1:${changes}:${feedId ?? '-'}`;

type NodeTuple = [id: string, name: string, nodeType: string, baseCcy: string];
type FxTuple = [feedId: string, asOfDate: string, rates: [pair: string, rate: string][]];
type PositionTuple = [
  id: string, nodeId: string, instrumentId: string, isin: string | null, quantity: string, baseCcy: string,
  valuationDate: string | null, marketValue: string | null, currency: string | null,
];

function contentStatement(nodeId: string, asOf: string, funds: readonly string[] | null, knownAt: string): Prisma.Sql {
  const scope = funds === null ? null : [...funds];
  return Prisma.sql`
    WITH RECURSIVE up (id, parent_id, path) AS (
      SELECT n.id, n.parent_id, ARRAY[n.id] FROM portfolio_node n WHERE n.id = ${nodeId}::uuid
      UNION ALL
      SELECT p.id, p.parent_id, u.path || p.id FROM up u JOIN portfolio_node p ON p.id = u.parent_id
      WHERE p.id <> ALL (u.path)
    ),
    visible AS (
      SELECT ${scope}::uuid[] IS NULL OR EXISTS (SELECT 1 FROM up WHERE up.parent_id IS NULL AND up.id = ANY (${scope}::uuid[])) AS ok
    ),
    subtree (id, path) AS (
      SELECT n.node_id, ARRAY[n.node_id] FROM portfolio_node_version n
      WHERE n.node_id = ${nodeId}::uuid AND ${knownSql('n', knownAt)} AND (SELECT ok FROM visible)
      UNION ALL
      SELECT c.node_id, s.path || c.node_id FROM subtree s JOIN portfolio_node_version c ON c.parent_id = s.id AND ${knownSql('c', knownAt)}
      WHERE c.node_id <> ALL (s.path)
    ),
    held AS (
      SELECT p.id, p.portfolio_node_id, p.instrument_id, pv.quantity, p.base_ccy, v.as_of_date, v.market_value, v.currency
      FROM subtree s
      JOIN position p ON p.portfolio_node_id = s.id
      JOIN position_version pv ON pv.position_id = p.id AND ${knownSql('pv', knownAt)} AND pv.status = 'ACTIVE'
        AND pv.valid_from <= ${asOf}::date AND (pv.valid_to IS NULL OR pv.valid_to > ${asOf}::date)
      LEFT JOIN LATERAL (
        SELECT vr.as_of_date, vr.market_value, vr.currency FROM valuation_result vr
        WHERE vr.position_id = p.id AND vr.as_of_date <= ${asOf}::date AND ${knownSql('vr', knownAt)}
        ORDER BY vr.as_of_date DESC LIMIT 1
      ) v ON true
    ),
    ${fxCtes(asOf, 'USD', knownAt)}
    SELECT
      (SELECT json_build_array(n.node_id, n.name, n.node_type, n.base_ccy)::text
       FROM portfolio_node_version n WHERE n.node_id = ${nodeId}::uuid AND ${knownSql('n', knownAt)} AND (SELECT ok FROM visible)) AS node,
      (SELECT json_build_array(f.id, to_char(f.as_of_date, 'YYYY-MM-DD'),
                (SELECT COALESCE(json_agg(json_build_array(r.pair, r.rate::text) ORDER BY r.pair), '[]'::json) FROM fx_rates r))::text
       FROM fx_feed f) AS fx,
      (SELECT COALESCE(json_agg(json_build_array(
                h.id, h.portfolio_node_id, h.instrument_id, i.isin, h.quantity::text, h.base_ccy,
                to_char(h.as_of_date, 'YYYY-MM-DD'), h.market_value::text, h.currency)), '[]'::json)::text
       FROM held h JOIN instrument_version i ON i.instrument_id = h.instrument_id AND ${knownSql('i', knownAt)}) AS positions,
      ${contentVersion(nodeId)} AS changes,
      ${contentRows(nodeId)} AS change_rows`;
}

function toPosition([id, nodeId, instrumentId, isin, quantity, baseCcy, valuationDate, marketValue, currency]: PositionTuple): SnapshotPosition {
  const valuation = valuationDate !== null && marketValue !== null && currency !== null
    ? { asOfDate: valuationDate, marketValue, currency }
    : null;
  return { id, nodeId, instrumentId, isin, quantity, baseCurrency: baseCcy, valuation };
}

/**
 * The node's snapshot content as of `asOf` ('YYYY-MM-DD') as known at `knownAt` (a settled moment,
 * src/services/time/knownAt.ts); null when the node does not exist or is not under one of `funds`
 * (null: every fund).
 */
export async function readSnapshotContent(
  prisma: Db,
  nodeId: string,
  asOf: string,
  funds: readonly string[] | null,
  knownAt: string,
): Promise<{ content: SnapshotContent; fingerprint: string; changeRows: number } | null> {
  const [row] = await prisma.$queryRaw<ContentRow[]>(contentStatement(nodeId, asOf, funds, knownAt));
  if (!row || row.node === null) return null;
  const [id, name, nodeType, baseCurrency] = JSON.parse(row.node) as NodeTuple;
  const fxTuple = row.fx === null ? null : (JSON.parse(row.fx) as FxTuple);
  const content: SnapshotContent = {
    node: { id, name, nodeType, baseCurrency },
    positions: (JSON.parse(row.positions) as PositionTuple[]).map(toPosition),
    fx: fxTuple && { feedId: fxTuple[0], asOfDate: fxTuple[1], rates: fxTuple[2].map(([pair, rate]) => ({ pair, rate })) },
  };
  // Read in the same statement as the content: the version describes exactly this picture.
  return { content, fingerprint: fingerprintOf(row.changes, fxTuple?.[0] ?? null), changeRows: row.change_rows };
}
