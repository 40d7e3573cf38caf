// Looks up the nodes and instruments a chunk of checked rows names: one
// statement for the nodes and one for the instruments per chunk, and only for
// keys not seen in earlier chunks of the same batch (a file of a million rows
// usually names a few thousand instruments). Runs inside the batch's
// transaction, so what it finds cannot vanish before the rows are written
// (the foreign keys would stop that anyway).
import type { SqlSession } from '../../db/sql';
import { quoted } from './validateRows';
import type { CheckedRow, InstrumentKey, InstrumentRef, RejectedRow, ResolvedRow, RowError } from './types';

interface NodeRef {
  type: string;
  name: string;
  /** The FUND at the root of the node's tree (null if the tree is broken). */
  fundId: string | null;
}

/** Lookups already made in this batch; null means "looked up, not found". Cleared when it grows too big. */
export class RefCache {
  readonly nodes = new Map<string, NodeRef | null>();
  /** The funds of the (visible) nodes the batch's rows named: who may see the batch. Never cleared. */
  readonly touchedFunds = new Set<string>();
  readonly instruments: Record<InstrumentKey, Map<string, string | null>> = {
    instrumentId: new Map(), isin: new Map(), cusip: new Map(), ticker: new Map(),
  };

  /** funds: the FUND ids the caller may see (null: all); nodes of other funds are NOT_FOUND. */
  constructor(
    readonly funds: ReadonlySet<string> | null = null,
    readonly maxEntries = 200_000,
  ) {}

  trim(): void {
    const size = this.nodes.size + Object.values(this.instruments).reduce((n, m) => n + m.size, 0);
    if (size <= this.maxEntries) return;
    this.nodes.clear();
    for (const map of Object.values(this.instruments)) map.clear();
  }
}

interface NodeRow {
  id: string;
  node_type: string;
  name: string;
  fund_id: string | null;
}

// The nodes with their FUND (kept by the database in portfolio_node.fund_id).
const NODES_WITH_FUND = `
  SELECT n.id::text AS id, n.node_type::text AS node_type, n.name, n.fund_id::text AS fund_id
  FROM portfolio_node n WHERE n.id = ANY($1::uuid[])`;

interface InstrumentRow {
  id: string;
  isin: string | null;
  cusip: string | null;
  ticker: string | null;
}

/** What a row names: its node id and instrument, where well-formed. */
type Refs = Pick<RejectedRow, 'nodeId' | 'instrument'>;

async function loadNodes(tx: SqlSession, rows: readonly Refs[], cache: RefCache): Promise<void> {
  const ids = rows.map((r) => r.nodeId).filter((id): id is string => id !== null && !cache.nodes.has(id));
  const missing = [...new Set(ids)];
  if (missing.length === 0) return;
  const found = await tx.query<NodeRow>(NODES_WITH_FUND, [missing]);
  for (const id of missing) cache.nodes.set(id, null);
  for (const n of found) cache.nodes.set(n.id, { type: n.node_type, name: n.name, fundId: n.fund_id });
}

async function loadInstruments(tx: SqlSession, rows: readonly Refs[], cache: RefCache): Promise<void> {
  const wanted: Record<InstrumentKey, Set<string>> = { instrumentId: new Set(), isin: new Set(), cusip: new Set(), ticker: new Set() };
  for (const { instrument } of rows) {
    if (instrument && !cache.instruments[instrument.by].has(instrument.value)) wanted[instrument.by].add(instrument.value);
  }
  const lists = (Object.keys(wanted) as InstrumentKey[]).map((k) => [...wanted[k]]);
  if (lists.every((list) => list.length === 0)) return;
  const found = await tx.query<InstrumentRow>(
    `SELECT id::text AS id, isin, cusip, ticker FROM instrument
     WHERE id = ANY($1::uuid[]) OR isin = ANY($2::text[]) OR cusip = ANY($3::text[]) OR ticker = ANY($4::text[])`,
    lists,
  );
  (Object.keys(wanted) as InstrumentKey[]).forEach((k) => wanted[k].forEach((v) => cache.instruments[k].set(v, null)));
  for (const i of found) {
    cache.instruments.instrumentId.set(i.id, i.id);
    if (i.isin) cache.instruments.isin.set(i.isin, i.id);
    if (i.cusip) cache.instruments.cusip.set(i.cusip, i.id);
    if (i.ticker) cache.instruments.ticker.set(i.ticker, i.id);
  }
}

function nodeError(row: number, nodeId: string, cache: RefCache): RowError | null {
  const node = cache.nodes.get(nodeId);
  // A node of a fund the caller may not see is reported as missing, as the API does for every read.
  if (!node || (cache.funds !== null && (node.fundId === null || !cache.funds.has(node.fundId)))) {
    return { row, field: 'nodeId', code: 'NOT_FOUND', message: `No portfolio node with id ${quoted(nodeId)}` };
  }
  if (node.fundId) cache.touchedFunds.add(node.fundId);
  if (node.type === 'BOOK' || node.type === 'STRATEGY') return null;
  return {
    row, field: 'nodeId', code: 'HIERARCHY_VIOLATION',
    message: `Positions are held by BOOK and STRATEGY nodes, not by a ${node.type} (${quoted(node.name)})`,
  };
}

function instrumentError(row: number, { by, value }: InstrumentRef, cache: RefCache): RowError | null {
  if (cache.instruments[by].get(value)) return null;
  const what = by === 'instrumentId' ? 'id' : by === 'ticker' ? 'ticker' : by.toUpperCase();
  return { row, field: by, code: 'NOT_FOUND', message: `No instrument with ${what} ${quoted(value)}` };
}

/** The lookup errors of a row (its node first), in field order after any errors it already has. */
function lookupErrors(row: number, refs: Refs, cache: RefCache): RowError[] {
  const node = refs.nodeId === null ? null : nodeError(row, refs.nodeId, cache);
  const instrument = refs.instrument === null ? null : instrumentError(row, refs.instrument, cache);
  return [node, instrument].filter((e): e is RowError => e !== null);
}

/**
 * The checked rows whose node and instrument exist and fit, and the errors of
 * every rejected row, in row order: rows with field errors also get the
 * lookup errors of whatever they named well-formed.
 */
export async function resolveChunk(
  tx: SqlSession,
  checked: readonly CheckedRow[],
  fieldRejected: readonly RejectedRow[],
  cache: RefCache,
): Promise<{ resolved: ResolvedRow[]; rejected: RowError[][] }> {
  cache.trim();
  const all: Refs[] = [...checked, ...fieldRejected];
  await loadNodes(tx, all, cache);
  await loadInstruments(tx, all, cache);
  const resolved: ResolvedRow[] = [];
  const rejected: { row: number; errors: RowError[] }[] = fieldRejected.map((r) => ({
    row: r.row, errors: [...r.errors, ...lookupErrors(r.row, r, cache)],
  }));
  for (const row of checked) {
    const errors = lookupErrors(row.row, row, cache);
    if (errors.length > 0) {
      rejected.push({ row: row.row, errors });
      continue;
    }
    const { row: n, nodeId, quantity, baseCcy, valuation, tradeDate } = row;
    resolved.push({ row: n, nodeId, instrumentId: cache.instruments[row.instrument.by].get(row.instrument.value)!, quantity, baseCcy, valuation, tradeDate });
  }
  return { resolved, rejected: rejected.sort((a, b) => a.row - b.row).map((r) => r.errors) };
}
