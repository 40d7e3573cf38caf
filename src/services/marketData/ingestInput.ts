// Normalisation of an ingestMarketData input before any I/O. What is wrong
// with the request itself (a blank source, an oversized or unstorable
// payload) is BAD_USER_INPUT; what is wrong with the data in the payload is a
// quality check of a stored feed instead (see ../../domain/quality).
import type { FeedType } from '../../generated/prisma/client';
import { canonicalJson, sha256Hex } from '../../domain/contentHash';
import { jsonValueProblem } from '../../domain/jsonSafety';
import { badInput } from '../../errors';
import { isoDate, jsonObject, requiredText } from '../inputs';

/** What a caller sends (the GraphQL MarketDataInput has this shape). */
export interface MarketDataFields {
  feedType: FeedType;
  asOfDate: Date;
  source: string;
  payload: unknown;
  lineage: LineageFields;
}

export interface LineageFields {
  sourceSystem: string;
  transformationChain: readonly string[];
  metadata?: Record<string, unknown> | null;
}

/** A normalised input: the feed's unique key, its payload and hash, and its lineage. */
export interface FeedInput {
  feedType: FeedType;
  /** 'YYYY-MM-DD'. */
  asOf: string;
  /** The same date at UTC midnight, as Prisma writes @db.Date columns. */
  asOfDate: Date;
  source: string;
  payload: unknown;
  payloadHash: string;
  lineage: { sourceSystem: string; transformationChain: string[]; metadata: Record<string, unknown> };
}

export const FEED_TYPES: readonly FeedType[] = ['YIELD_CURVE', 'CREDIT_SPREAD', 'FX_SPOT', 'RATING'];
export const MAX_PAYLOAD_BYTES = 5 * 1024 * 1024;
export const MAX_ENTRIES = 10_000;
export const MAX_PAYLOAD_DEPTH = 32;
const MAX_CHAIN_STEPS = 100;

/** The array of a feed type's payload that holds its entries. */
export const ENTRY_KEY: Record<FeedType, string> = { FX_SPOT: 'rates', RATING: 'ratings', YIELD_CURVE: 'points', CREDIT_SPREAD: 'spreads' };

/** RFC 8785 text; JSON like 1e400 parses to Infinity, which has none. */
function canonicalText(payload: unknown, field: string): string {
  try {
    return canonicalJson(payload);
  } catch {
    throw badInput(field, `${field} contains a number out of JSON's range (such as 1e400)`);
  }
}

function checkPayload(feedType: FeedType, payload: unknown): string {
  const field = 'input.payload';
  if (payload === undefined) throw badInput(field, `${field} is required`);
  const problem = jsonValueProblem(payload, MAX_PAYLOAD_DEPTH);
  if (problem) throw badInput(field, `${field} ${problem}`);
  const entries = typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>)[ENTRY_KEY[feedType]] : undefined;
  if (Array.isArray(entries) && entries.length > MAX_ENTRIES) {
    throw badInput(`${field}.${ENTRY_KEY[feedType]}`, `${field}.${ENTRY_KEY[feedType]} has ${entries.length} entries; at most ${MAX_ENTRIES} are accepted per feed`);
  }
  const canonical = canonicalText(payload, field);
  if (Buffer.byteLength(canonical, 'utf8') > MAX_PAYLOAD_BYTES) throw badInput(field, `${field} is larger than ${MAX_PAYLOAD_BYTES / 1024 / 1024} MB of JSON`);
  return canonical;
}

function normaliseLineage(lineage: LineageFields | null | undefined): FeedInput['lineage'] {
  if (!lineage) throw badInput('input.lineage', 'input.lineage is required');
  const steps = lineage.transformationChain ?? [];
  if (!Array.isArray(steps)) throw badInput('input.lineage.transformationChain', 'input.lineage.transformationChain must be a list of steps');
  if (steps.length > MAX_CHAIN_STEPS) throw badInput('input.lineage.transformationChain', `input.lineage.transformationChain has more than ${MAX_CHAIN_STEPS} steps`);
  return {
    sourceSystem: requiredText(lineage.sourceSystem, 'input.lineage.sourceSystem', 200),
    transformationChain: steps.map((step, i) => requiredText(step, `input.lineage.transformationChain[${i}]`, 500)),
    metadata: jsonObject(lineage.metadata, 'input.lineage.metadata'),
  };
}

export function normaliseMarketDataInput(input: MarketDataFields): FeedInput {
  if (!FEED_TYPES.includes(input.feedType)) throw badInput('input.feedType', `input.feedType must be one of ${FEED_TYPES.join(', ')}`);
  if (!(input.asOfDate instanceof Date) || Number.isNaN(input.asOfDate.getTime())) throw badInput('input.asOfDate', 'input.asOfDate must be a calendar date');
  const asOf = isoDate(input.asOfDate);
  const source = requiredText(input.source, 'input.source', 200);
  const lineage = normaliseLineage(input.lineage);
  const canonical = checkPayload(input.feedType, input.payload);
  return {
    feedType: input.feedType,
    asOf,
    asOfDate: new Date(`${asOf}T00:00:00Z`),
    source,
    payload: input.payload,
    payloadHash: sha256Hex(canonical),
    lineage,
  };
}
