// Writes a chunk of resolved rows set-based: one INSERT ... SELECT FROM
// unnest(...) for the positions (each row opens a new ACTIVE position:
// uploads add holdings, they never merge) and one for their valuations.
// Position ids are made here so the valuations can name them without a
// round trip: time-ordered UUIDs (version 7), so that a large upload appends
// to the right of the indexes keyed by position id (the position's, its
// versions' and its valuations') instead of touching pages all over them.
import { v7 as uuidv7 } from 'uuid';
import type { SqlSession } from '../../db/sql';
import { bulkInsert } from '../seed/load';
import type { ResolvedRow } from './types';

const POSITION_COLUMNS = [
  ['id', 'uuid'], ['portfolio_node_id', 'uuid'], ['instrument_id', 'uuid'], ['quantity', 'numeric'], ['base_ccy', 'text'],
  ['status', 'text', 'position_status'], ['opened_on', 'date'], ['state_from', 'date'],
  // The latest valuation kept on the position: written here with the position, so that the
  // valuations' trigger, recomputing it, finds nothing to change (no second write of the row).
  ['latest_as_of', 'date'], ['latest_market_value', 'numeric'], ['latest_currency', 'text'],
] as const;

// The transaction's recording stamp, taken once per statement (an InitPlan) rather than by the
// columns' default row by row: recording_stamp() is a PL/pgSQL call, about 1.5 us a row.
const STAMP = '(SELECT recording_stamp())';

// Each row opens a new position: its valuation is the position's first (nothing to correct), with
// the position's node (the composite key checks it).
const INSERT_VALUATIONS = `
  INSERT INTO valuation_result (position_id, portfolio_node_id, as_of_date, market_value, currency, recorded_at)
  SELECT u.*, ${STAMP} FROM unnest($1::uuid[], $2::uuid[], $3::date[], $4::numeric[], $5::text[]) AS u`;

export interface WriteCounts {
  positions: number;
  valuations: number;
}

export async function writeRows(tx: SqlSession, rows: readonly ResolvedRow[]): Promise<WriteCounts> {
  if (rows.length === 0) return { positions: 0, valuations: 0 };
  const ids = rows.map(() => uuidv7());
  const positions = rows.map((r, i) => ({
    id: ids[i], portfolio_node_id: r.nodeId, instrument_id: r.instrumentId, quantity: r.quantity, base_ccy: r.baseCcy, status: 'ACTIVE',
    opened_on: r.tradeDate, state_from: r.tradeDate,
    latest_as_of: r.valuation?.asOfDate ?? null,
    latest_market_value: r.valuation?.marketValue ?? null,
    latest_currency: r.valuation ? r.baseCcy : null,
  }));
  await bulkInsert(tx, 'position', POSITION_COLUMNS, positions, rows.length, [['last_recorded_at', STAMP]]);
  const valued = rows.flatMap((r, i) => (r.valuation ? [{ id: ids[i]!, nodeId: r.nodeId, ...r.valuation, currency: r.baseCcy }] : []));
  if (valued.length > 0) {
    await tx.query(INSERT_VALUATIONS, [
      valued.map((v) => v.id), valued.map((v) => v.nodeId), valued.map((v) => v.asOfDate), valued.map((v) => v.marketValue), valued.map((v) => v.currency),
    ]);
  }
  return { positions: rows.length, valuations: valued.length };
}
