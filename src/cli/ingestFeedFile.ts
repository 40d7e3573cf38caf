// Import of a market-data file (fx, ratings, curve, spreads) for `npm run ingest` (being implemented).
import type { Database } from '../db/database';

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

export async function importFeedFile(_db: Database, _kind: FeedFileKind, _path: string, _options: FeedFileOptions): Promise<FeedFileResult> {
  throw new Error('importFeedFile is not implemented yet');
}
