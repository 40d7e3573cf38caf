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

interface VersionView {
  validFrom: string;
  validTo: string | null;
  quantity: string;
  status: string;
  recordedAt: string;
  supersededAt: string | null;
}

interface ValuationView {
  asOfDate: string;
  marketValue: string;
  currency: string;
  recordedAt: string;
  supersededAt: string | null;
}

/** A moment to the millisecond (ISO), whatever its text: '...T10:00:00Z' and '...T10:00:00.000Z' compare equal. */
const moment = (value: string | null | undefined) => (value === null || value === undefined ? '-' : new Date(value).toISOString());

const versionDigest = (v: VersionView) =>
  `${v.validFrom}..${v.validTo ?? '-'}:${normDecimal(v.quantity)}/${v.status}@${moment(v.recordedAt)}..${moment(v.supersededAt)}`;
const valuationDigest = (v: ValuationView) =>
  `${v.asOfDate}:${normDecimal(v.marketValue)} ${v.currency.trim()}@${moment(v.recordedAt)}..${moment(v.supersededAt)}`;

/**
 * The digest of a GraphQL answer of our service (or of the naive server, which has the same shape);
 * null for queries whose answer is not compared (holdingsChange, snapshots: no floor).
 */
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
    case 'exposureGeography':
    case 'exposureIssuerPast':
    case 'exposureIssuerKnownAt': {
      const e = node?.exposure as { total: string; unvaluedPositionCount: number; buckets: { key: string; marketValue: string; positionCount: number }[] };
      return `${normDecimal(e.total)}|${e.unvaluedPositionCount}|${e.buckets.map((b) => `${b.key}=${normDecimal(b.marketValue)}/${b.positionCount}`).join(',')}`;
    }
    case 'marketValue':
    case 'marketValuePast':
    case 'marketValueKnownAt':
      return normDecimal((node?.marketValue as { amount: string }).amount);
    case 'rating':
    case 'ratingKnownAt': {
      const r = (data.referenceEntity as Json | undefined)?.rating as { rating: string; asOfDate: string } | null;
      return r ? `${r.rating}@${r.asOfDate}` : 'none';
    }
    case 'fxRate':
    case 'fxRateKnownAt': {
      const r = data.fxRate as { rate: string; asOfDate: string };
      return `${normDecimal(r.rate)}@${r.asOfDate}`;
    }
    case 'positionHistory': {
      const versions = (data.position as { history: VersionView[] } | null)?.history ?? [];
      return versions.map(versionDigest).join(',');
    }
    case 'positionHolding': {
      const h = (data.position as { holding: { quantity: string; status: string } | null } | null)?.holding ?? null;
      return h ? `${normDecimal(h.quantity)}/${h.status}` : 'none';
    }
    case 'valuationVersions': {
      const versions = (data.position as { valuationVersions: ValuationView[] } | null)?.valuationVersions ?? [];
      return versions.map(valuationDigest).join(',');
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
    case 'exposureGeography':
    case 'exposureIssuerPast':
    case 'exposureIssuerKnownAt': {
      const total = rows[0]?.total ?? '0';
      const unvalued = rows[0]?.unvalued ?? 0;
      return `${normDecimal(total)}|${String(unvalued)}|${rows.map((r) => `${r.key === null ? 'NONE' : String(r.key)}=${normDecimal(r.value)}/${String(r.n)}`).join(',')}`;
    }
    case 'marketValue':
    case 'marketValuePast':
    case 'marketValueKnownAt':
      return normDecimal(rows[0]?.amount);
    case 'rating':
    case 'ratingKnownAt':
      return rows[0]?.rating ? `${String(rows[0].rating)}@${String(rows[0].as_of_date)}` : 'none';
    case 'fxRate':
    case 'fxRateKnownAt':
      return `${normDecimal(rows[0]?.rate)}@${String(rows[0]?.as_of)}`;
    case 'positionHistory':
      return rows.map((r) => versionDigest({
        validFrom: String(r.valid_from), validTo: r.valid_to === null ? null : String(r.valid_to), quantity: String(r.quantity), status: String(r.status),
        recordedAt: String(r.recorded_at), supersededAt: r.superseded_at === null ? null : String(r.superseded_at),
      })).join(',');
    case 'positionHolding': {
      // The API shows a holding only while ACTIVE on that date.
      const r = rows[0];
      return r && r.status === 'ACTIVE' ? `${normDecimal(r.quantity)}/${String(r.status)}` : 'none';
    }
    case 'valuationVersions':
      return rows.map((r) => valuationDigest({
        asOfDate: String(r.as_of_date), marketValue: String(r.market_value), currency: String(r.currency),
        recordedAt: String(r.recorded_at), supersededAt: r.superseded_at === null ? null : String(r.superseded_at),
      })).join(',');
    case 'page500':
      return `${String(rows[0]?.total ?? 0)}|${rows.slice(0, 500).map((r) => `${String(r.id)}/${String(r.name)}/${r.issuer_name === null ? '' : String(r.issuer_name)}`).join(',')}`;
    default:
      return null;
  }
}
