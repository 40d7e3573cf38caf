// Digests of the answers, so that a ratio is only reported between systems
// that returned the same thing: the tree in pre-order with counts (and the
// position ids and instrument names), exposure totals and buckets, and so on.
import type { QueryId } from './queries';

type Json = Record<string, unknown>;

/** Exact decimal text without insignificant zeros: "1.500" and "1.5" compare equal. */
export function normDecimal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  let s = String(value).trim();
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  if (s === '-0') s = '0';
  return s;
}

interface TreeNodeView {
  id: string;
  count: number;
  positions: string[] | null;
}

function walkOurs(node: Json, out: TreeNodeView[], withPositions: boolean): void {
  const conn = node.positions as { totalCount: number; edges?: { node: { id: string; instrument: { name: string } } }[] };
  out.push({ id: String(node.id), count: conn.totalCount, positions: withPositions ? (conn.edges ?? []).map((e) => `${e.node.id}/${e.node.instrument.name}`) : null });
  for (const child of (node.children as Json[] | undefined) ?? []) walkOurs(child, out, withPositions);
}

function walkPostGraphile(node: Json, out: TreeNodeView[], withPositions: boolean): void {
  const conn = node.positionsByPortfolioNodeId as { totalCount: number; nodes?: { id: string; instrumentByInstrumentId: { name: string } }[] };
  out.push({ id: String(node.id), count: conn.totalCount, positions: withPositions ? (conn.nodes ?? []).map((p) => `${p.id}/${p.instrumentByInstrumentId.name}`) : null });
  const children = node.portfolioNodesByParentId as { nodes: Json[] } | undefined;
  for (const child of children?.nodes ?? []) walkPostGraphile(child, out, withPositions);
}

const treeDigest = (nodes: TreeNodeView[]) => nodes.map((n) => `${n.id}:${n.count}${n.positions ? `[${n.positions.join(',')}]` : ''}`).join('|');

/** The digest of a GraphQL answer of our service (or of the naive server, which has the same shape). */
export function oursDigest(id: QueryId, data: Json): string | null {
  const node = data.portfolioNode as Json | undefined;
  switch (id) {
    case 'tree':
    case 'treePositions': {
      const out: TreeNodeView[] = [];
      if (node) walkOurs(node, out, id === 'treePositions');
      return treeDigest(out);
    }
    case 'exposureIssuer':
    case 'exposureSector':
    case 'exposureGeography': {
      const e = node?.exposure as { total: string; unvaluedPositionCount: number; buckets: { key: string; marketValue: string; positionCount: number }[] };
      return `${normDecimal(e.total)}|${e.unvaluedPositionCount}|${e.buckets.map((b) => `${b.key}=${normDecimal(b.marketValue)}/${b.positionCount}`).join(',')}`;
    }
    case 'marketValue':
      return normDecimal((node?.marketValue as { amount: string }).amount);
    case 'rating': {
      const r = (data.referenceEntity as Json | undefined)?.rating as { rating: string; asOfDate: string } | null;
      return r ? `${r.rating}@${r.asOfDate}` : 'none';
    }
    case 'fxRate': {
      const r = data.fxRate as { rate: string; asOfDate: string };
      return `${normDecimal(r.rate)}@${r.asOfDate}`;
    }
    case 'page500': {
      const c = node?.positions as { totalCount: number; edges: { node: { id: string; instrument: { name: string; issuer: { name: string } | null } } }[] };
      return `${c.totalCount}|${c.edges.map((e) => `${e.node.id}/${e.node.instrument.name}/${e.node.instrument.issuer?.name ?? ''}`).join(',')}`;
    }
    default:
      return null;
  }
}

export function postgraphileDigest(id: QueryId, data: Json): string | null {
  if (id !== 'tree' && id !== 'treePositions') return null;
  const out: TreeNodeView[] = [];
  const node = data.portfolioNodeById as Json | undefined;
  if (node) walkPostGraphile(node, out, id === 'treePositions');
  return treeDigest(out);
}

/** The digest of the floor statement's rows. */
export function floorDigest(id: QueryId, rows: Json[]): string | null {
  switch (id) {
    case 'tree':
    case 'treePositions':
      return treeDigest(rows.map((r) => ({
        id: String(r.id),
        count: Number(r.position_count),
        positions: id === 'treePositions' ? (r.positions as { id: string; instrument: { name: string } }[]).map((p) => `${p.id}/${p.instrument.name}`) : null,
      })));
    case 'exposureIssuer':
    case 'exposureSector':
    case 'exposureGeography': {
      const total = rows[0]?.total ?? '0';
      const unvalued = rows[0]?.unvalued ?? 0;
      return `${normDecimal(total)}|${String(unvalued)}|${rows.map((r) => `${r.key === null ? 'NONE' : String(r.key)}=${normDecimal(r.value)}/${String(r.n)}`).join(',')}`;
    }
    case 'marketValue':
      return normDecimal(rows[0]?.amount);
    case 'rating':
      return rows[0]?.rating ? `${String(rows[0].rating)}@${String(rows[0].as_of_date)}` : 'none';
    case 'fxRate':
      return `${normDecimal(rows[0]?.rate)}@${String(rows[0]?.as_of)}`;
    case 'page500':
      return `${String(rows[0]?.total ?? 0)}|${rows.slice(0, 500).map((r) => `${String(r.id)}/${String(r.name)}/${r.issuer_name === null ? '' : String(r.issuer_name)}`).join(',')}`;
    default:
      return null;
  }
}
