// Portfolio snapshot payloads: what a snapshot holds, in one canonical form,
// and its content hash. Pure; the rows come from src/services/snapshots/build.ts.
//
// Payload, version 1 (stored as payload_json; payload_hash = SHA-256 hex of its
// RFC 8785 canonical JSON):
//   {
//     "version": 1,
//     "node": { "id", "name", "nodeType", "baseCurrency" },
//     "positions": [                       // ACTIVE positions of the node and all its descendants, by id
//       { "id", "nodeId", "instrumentId", "isin" (or null), "quantity", "baseCurrency",
//         "valuation": { "asOfDate", "marketValue", "currency" } or null }   // latest on or before the as-of date
//     ],
//     "fx": { "feedId", "asOfDate", "rates": [{ "pair", "rate" }] (by pair) } or null
//                                          // the latest PASS or WARN FX_SPOT feed on or before the as-of date
//   }
// Invariants that make the hash a function of the content alone:
// - every number of the content is a canonical decimal string ("1.0", "1.00"
//   and "1" are all "1"; "-0" is "0"), never a JSON number;
// - ids are lower-case UUIDs, dates YYYY-MM-DD, currencies upper case;
// - lists are sorted (positions by id, rates by pair), and RFC 8785 sorts keys.
// The requested as-of date is deliberately NOT part of the payload: it decides
// which valuations and which FX feed are picked (and is stored in the
// as_of_date column), but two dates that pick the same content give the same
// payload, so the node's content is stored once. The flip side: content that
// comes back after a change (A, then B, then A again) returns the first A
// snapshot with its earlier as_of_date, so snapshotAsOf on a later date shows B.
import { canonicalJson, sha256Hex } from './contentHash';
import { canonicalDecimal } from './decimal';

export const SNAPSHOT_PAYLOAD_VERSION = 1;

export type SnapshotNode = { id: string; name: string; nodeType: string; baseCurrency: string };
export type SnapshotValuation = { asOfDate: string; marketValue: string; currency: string };
export type SnapshotPosition = {
  id: string;
  nodeId: string;
  instrumentId: string;
  isin: string | null;
  quantity: string;
  baseCurrency: string;
  valuation: SnapshotValuation | null;
};
export type SnapshotFxRate = { pair: string; rate: string };
export type SnapshotFx = { feedId: string; asOfDate: string; rates: SnapshotFxRate[] };

export type SnapshotPayload = {
  version: typeof SNAPSHOT_PAYLOAD_VERSION;
  node: SnapshotNode;
  positions: SnapshotPosition[];
  fx: SnapshotFx | null;
};

/** What the database read returns, before normalisation (numbers as the database writes them). */
export type SnapshotContent = Omit<SnapshotPayload, 'version'>;

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function decimal(text: string, what: string): string {
  const canonical = canonicalDecimal(text);
  if (canonical === null) throw new TypeError(`${what} is not a plain decimal: ${JSON.stringify(text.slice(0, 70))}`);
  return canonical;
}

function date(text: string, what: string): string {
  if (!DATE.test(text)) throw new TypeError(`${what} is not a YYYY-MM-DD date: ${JSON.stringify(text.slice(0, 30))}`);
  return text;
}

const code = (text: string) => text.trim().toUpperCase();
const byKey = <T>(key: (item: T) => string) => (a: T, b: T) => {
  const [x, y] = [key(a), key(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};

// Every object below is written with its keys in RFC 8785 order (UTF-16 code
// units), and the payload holds only strings, null and the integer version:
// for such a value JSON.stringify already writes the canonical form (RFC 8785
// serialises strings exactly as JSON.stringify does), about ten times faster
// than a generic canonicaliser on 40,000 positions. test/unit/snapshot.test.ts
// checks the equality against canonicalize on generated payloads.
function position(p: SnapshotPosition): SnapshotPosition {
  const v = p.valuation;
  return {
    baseCurrency: code(p.baseCurrency),
    id: p.id.toLowerCase(),
    instrumentId: p.instrumentId.toLowerCase(),
    isin: p.isin === null ? null : p.isin.trim(),
    nodeId: p.nodeId.toLowerCase(),
    quantity: decimal(p.quantity, `quantity of position ${p.id}`),
    valuation: v && {
      asOfDate: date(v.asOfDate, `valuation date of position ${p.id}`),
      currency: code(v.currency),
      marketValue: decimal(v.marketValue, `market value of position ${p.id}`),
    },
  };
}

function fx(f: SnapshotFx | null): SnapshotFx | null {
  if (f === null) return null;
  return {
    asOfDate: date(f.asOfDate, 'FX feed date'),
    feedId: f.feedId.toLowerCase(),
    rates: f.rates.map((r) => ({ pair: code(r.pair), rate: decimal(r.rate, `FX rate ${r.pair}`) })).sort(byKey((r) => r.pair)),
  };
}

/** The canonical payload of some content: normalised values, sorted lists. Throws TypeError on malformed numbers or dates. */
export function snapshotPayload(content: SnapshotContent): SnapshotPayload {
  const { node } = content;
  return {
    fx: fx(content.fx),
    node: { baseCurrency: code(node.baseCurrency), id: node.id.toLowerCase(), name: node.name, nodeType: node.nodeType },
    positions: content.positions.map(position).sort(byKey((p) => p.id)),
    version: SNAPSHOT_PAYLOAD_VERSION,
  };
}

/** RFC 8785 canonical JSON of a payload built by snapshotPayload (see above why JSON.stringify is exact here). */
export const canonicalPayloadJson = (payload: SnapshotPayload): string => JSON.stringify(payload);

export interface HashedPayload {
  /** RFC 8785 canonical JSON of the payload (what is stored and hashed). */
  canonical: string;
  /** SHA-256 of `canonical`, lower-case hex. */
  hash: string;
}

export function hashSnapshotPayload(payload: SnapshotPayload): HashedPayload {
  const canonical = canonicalPayloadJson(payload);
  return { canonical, hash: sha256Hex(canonical) };
}

/** The content hash of any JSON value, e.g. a payload read back: SHA-256 of its RFC 8785 form. */
export const payloadHashOf = (value: unknown): string => sha256Hex(canonicalJson(value));
