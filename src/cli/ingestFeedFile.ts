// Import of a market-data file (fx, ratings, curve, spreads) for `npm run ingest`.
// The file becomes a payload (src/services/marketData/feedFile.ts) and goes
// through ingestMarketData, the same service as the API: same checks, same
// content addressing, lineage source system "cli".
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { Database } from '../db/database';
import { badInput } from '../errors';
import { FEED_TYPE_OF_KIND, parseFeedFile } from '../services/marketData/feedFile';
import { ingestMarketData } from '../services/marketData/ingest';
import { ENTRY_KEY } from '../services/marketData/ingestInput';

export type FeedFileKind = 'fx' | 'ratings' | 'curve' | 'spreads';

export interface FeedFileOptions {
  /** As-of date of the feed (YYYY-MM-DD); defaults to the file's own or today. */
  asOf?: string;
  /** Source name stored with the feed; defaults to the file name. */
  source?: string;
}

export interface FeedFileResult {
  feedId: string;
  status: 'PASS' | 'WARN' | 'FAIL';
  created: boolean;
  summary: string;
}

// Payloads are bounded at 5 MB of JSON by the service; a CSV file is more
// compact than its JSON, so the file bound is larger, but a bound all the same.
const MAX_FILE_BYTES = 20 * 1024 * 1024;

async function readFeedFile(path: string): Promise<Buffer> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw badInput('file', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (size > MAX_FILE_BYTES) throw badInput('file', `${path} is larger than ${MAX_FILE_BYTES / 1024 / 1024} MB`);
  return readFile(path);
}

function asOfDate(text: string): Date {
  const date = new Date(`${text}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== text) {
    throw badInput('asOf', `asOf must be a calendar date such as 2024-06-28, got "${text.slice(0, 20)}"`);
  }
  return date;
}

export async function importFeedFile(db: Database, kind: FeedFileKind, path: string, options: FeedFileOptions): Promise<FeedFileResult> {
  const feedType = FEED_TYPE_OF_KIND[kind];
  if (!feedType) throw badInput('kind', `kind must be one of ${Object.keys(FEED_TYPE_OF_KIND).join(', ')}`);
  const bytes = await readFeedFile(path);
  const name = basename(path);
  const parsed = parseFeedFile(kind, name, bytes.toString('utf8'), ENTRY_KEY[feedType]);
  const asOf = options.asOf ?? parsed.asOfDate ?? new Date().toISOString().slice(0, 10);
  const source = options.source ?? parsed.source ?? name;
  const { feed, created } = await ingestMarketData(db.prisma, {
    feedType,
    asOfDate: asOfDate(asOf),
    source,
    payload: parsed.payload,
    lineage: {
      sourceSystem: 'cli',
      transformationChain: [`read ${name}`, `parse ${parsed.format}`, 'ingestMarketData'],
      metadata: { file: resolve(path), bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), kind, rows: parsed.rows },
    },
  });
  // Ingestion always decides a status; PENDING is only the column's default.
  const status = feed.validationStatus === 'PENDING' ? 'FAIL' : feed.validationStatus;
  const failing = (Array.isArray(feed.validationJson) ? (feed.validationJson as { name: string; status: string }[]) : [])
    .filter((c) => c.status !== 'PASS').map((c) => `${c.name} ${c.status}`);
  const summary = `${feedType} feed ${feed.id} as of ${asOf} from "${source}": ${status}`
    + (failing.length > 0 ? ` (${failing.join(', ')})` : '')
    + (created ? `, ${parsed.rows} rows stored` : ', already stored (nothing written)');
  return { feedId: feed.id, status, created, summary };
}
