// ingestMarketData: validate a payload, store the feed with its checks and its
// lineage, and apply a usable feed, all in one transaction.
//   - Content addressing: the key is (feed type, as-of date, source, SHA-256 of
//     the RFC 8785 JSON of the payload as received). Numeric strings are NOT
//     rewritten before hashing ("1.0850" and "1.085" are two payloads), so the
//     stored hash can always be recomputed from the stored payload.
//   - The feed is inserted with ON CONFLICT DO NOTHING on that key and read
//     back: of concurrent identical requests one stores the feed, the others
//     wait for it on the unique index and return it, writing nothing.
//   - PASS or WARN: FX_SPOT rates become fx_spot rows (the feed is the FX
//     snapshot of its date, until a later-recorded feed for the same date
//     restates it); RATING entries are recorded in rating_history (another
//     symbol for a recorded entity, agency and date is a correction).
//     FAIL: the feed and its lineage are stored, nothing else.
import type { Prisma } from '../../db/database';
import type { MarketDataFeed, Prisma as PrismaNamespace } from '../../generated/prisma/client';
import { Prisma as PrismaRuntime } from '../../generated/prisma/client';
import type { QualityThresholds } from '../../domain/quality/check';
import { writeRatings } from '../reference/ratings';
import { retryingSerialization } from '../time/retry';
import { isoDate } from '../inputs';
import { evaluateFeed, type Evaluation } from './evaluate';
import { normaliseMarketDataInput, type FeedInput, type MarketDataFields } from './ingestInput';
import { qualityThresholds } from './thresholds';

type Tx = PrismaNamespace.TransactionClient;

export interface IngestResult {
  feed: MarketDataFeed;
  /** False when the same payload was already stored: nothing was written. */
  created: boolean;
}

export interface IngestOptions {
  /** Defaults to the environment's (./thresholds.ts). */
  thresholds?: QualityThresholds;
  /** 'YYYY-MM-DD'; defaults to today's UTC date. */
  today?: string;
}

// A 10,000-entry feed is one transaction; waiting for a connection behind
// concurrent ingests (PGlite has exactly one) must not time out early.
const TRANSACTION = { maxWait: 30_000, timeout: 120_000 };

const json = (value: unknown): PrismaNamespace.InputJsonValue | typeof PrismaRuntime.JsonNull =>
  value === null ? PrismaRuntime.JsonNull : (value as PrismaNamespace.InputJsonValue);

function findStoredFeed(db: Tx, feed: FeedInput): Promise<MarketDataFeed | null> {
  const { feedType, asOfDate, source, payloadHash } = feed;
  return db.marketDataFeed.findUnique({ where: { feedType_asOfDate_source_payloadHash: { feedType, asOfDate, source, payloadHash } } });
}

/** The new feed row, or null when an identical one exists (stored before or concurrently). */
async function insertFeed(tx: Tx, feed: FeedInput, outcome: Evaluation): Promise<MarketDataFeed | null> {
  const [created] = await tx.marketDataFeed.createManyAndReturn({
    data: [{
      feedType: feed.feedType,
      asOfDate: feed.asOfDate,
      source: feed.source,
      payloadJson: json(feed.payload),
      payloadHash: feed.payloadHash,
      validationStatus: outcome.status,
      validationJson: outcome.checks as unknown as PrismaNamespace.InputJsonValue,
    }],
    skipDuplicates: true,
  });
  return created ?? null;
}

/** The FX snapshot of a usable FX_SPOT feed: one fx_spot row per pair, in one statement. */
async function writeFxRates(tx: Tx, feedId: string, outcome: Evaluation): Promise<void> {
  if (outcome.fxRates.length === 0) return;
  const pairs = outcome.fxRates.map((r) => r.pair);
  const rates = outcome.fxRates.map((r) => r.rate);
  await tx.$executeRaw`
    INSERT INTO fx_spot (pair, snapshot_id, rate)
    SELECT u.pair, ${feedId}::uuid, u.rate FROM unnest(${pairs}::text[], ${rates}::numeric[]) AS u(pair, rate)`;
}

async function storeFeed(tx: Tx, feed: FeedInput, outcome: Evaluation): Promise<IngestResult> {
  const created = await insertFeed(tx, feed, outcome);
  if (!created) {
    const stored = await findStoredFeed(tx, feed);
    if (!stored) throw new Error('market_data_feed: the conflicting row is not visible after ON CONFLICT DO NOTHING');
    return { feed: stored, created: false };
  }
  await tx.dataLineage.create({
    data: {
      feedId: created.id,
      sourceSystem: feed.lineage.sourceSystem,
      transformationChain: feed.lineage.transformationChain,
      qualityChecks: outcome.checks as unknown as PrismaNamespace.InputJsonValue,
      metadataJson: feed.lineage.metadata as PrismaNamespace.InputJsonObject,
    },
  });
  if (outcome.status !== 'FAIL' && feed.feedType === 'FX_SPOT') await writeFxRates(tx, created.id, outcome);
  if (outcome.status !== 'FAIL' && feed.feedType === 'RATING') await writeRatings(tx, outcome.ratings, feed.asOf);
  return { feed: created, created: true };
}

/** Validates and stores a market-data feed (see MarketDataInput and Mutation.ingestMarketData in schema.graphql). */
export async function ingestMarketData(prisma: Prisma, input: MarketDataFields, options: IngestOptions = {}): Promise<IngestResult> {
  const feed = normaliseMarketDataInput(input);
  // The common re-send costs one read and no transaction.
  const existing = await findStoredFeed(prisma, feed);
  if (existing) return { feed: existing, created: false };
  const thresholds = options.thresholds ?? qualityThresholds();
  const today = options.today ?? isoDate(new Date());
  return retryingSerialization(() => prisma.$transaction(async (tx) => {
    const outcome = await evaluateFeed(tx, feed, thresholds, today);
    return storeFeed(tx, feed, outcome);
  }, TRANSACTION));
}
