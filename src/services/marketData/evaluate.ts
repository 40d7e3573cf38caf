// Runs the quality checks of a feed: the pure rules of src/domain/quality fed
// with what they need from the database (previous feeds, entities, recorded
// ratings). Runs inside the ingest transaction, so what it reads is what the
// writes that follow are based on.
import type { Prisma as PrismaNamespace } from '../../generated/prisma/client';
import { asOfDateChecks } from '../../domain/quality/asOfDate';
import { worstStatus, type CheckStatus, type QualityCheck, type QualityThresholds } from '../../domain/quality/check';
import { resolveEntities } from '../../domain/quality/entityRef';
import { readSpreadPayload, spreadChecks, spreadsByKey } from '../../domain/quality/creditSpread';
import { fxChecks, readFxPayload, type FxEntry } from '../../domain/quality/fxSpot';
import { ratingChecks, readRatingPayload, type RatingRow } from '../../domain/quality/rating';
import { yieldCurveChecks } from '../../domain/quality/yieldCurve';
import type { FeedInput } from './ingestInput';
import { findEntityMatches, findRatingsOnDate, previousFxFeed, previousSpreadFeed } from './lookups';

type Tx = PrismaNamespace.TransactionClient;

export interface Evaluation {
  status: CheckStatus;
  checks: QualityCheck[];
  /** FX_SPOT: the rates that become the FX snapshot when the feed is usable. */
  fxRates: FxEntry[];
  /** RATING: the ratings to append when the feed is usable. */
  ratings: RatingRow[];
}

type TypedOutcome = Pick<Evaluation, 'checks'> & Partial<Pick<Evaluation, 'fxRates' | 'ratings'>>;

async function evaluateFx(tx: Tx, feed: FeedInput, t: QualityThresholds): Promise<TypedOutcome> {
  const read = readFxPayload(feed.payload);
  const previous = read.rates.length > 0 ? await previousFxFeed(tx, feed.asOfDate) : null;
  return { checks: fxChecks(read, previous, t), fxRates: read.rates };
}

async function evaluateRatings(tx: Tx, feed: FeedInput): Promise<TypedOutcome> {
  const read = readRatingPayload(feed.payload);
  const matches = await findEntityMatches(tx, read.entries.map((e) => e.ref));
  const entityIds = resolveEntities('rating', read.entries, matches).resolved.map((e) => e.entityId);
  const recorded = await findRatingsOnDate(tx, entityIds, feed.asOf);
  const outcome = ratingChecks(read, matches, recorded, feed.asOf);
  return { checks: outcome.checks, ratings: outcome.toRecord };
}

async function evaluateSpreads(tx: Tx, feed: FeedInput, t: QualityThresholds): Promise<TypedOutcome> {
  const read = readSpreadPayload(feed.payload);
  const stored = read.entries.length > 0 ? await previousSpreadFeed(tx, feed.asOfDate) : null;
  const storedRead = stored ? readSpreadPayload(stored.payload) : null;
  // One look-up for both feeds: the previous feed's entities are matched by today's reference data.
  const matches = await findEntityMatches(tx, [...read.entries, ...(storedRead?.entries ?? [])].map((e) => e.ref));
  const previous = stored && storedRead ? { id: stored.id, asOfDate: stored.asOfDate, spreads: spreadsByKey(storedRead.entries, matches) } : null;
  return { checks: spreadChecks(read, matches, previous, t) };
}

function evaluateByType(tx: Tx, feed: FeedInput, t: QualityThresholds): Promise<TypedOutcome> {
  switch (feed.feedType) {
    case 'FX_SPOT': return evaluateFx(tx, feed, t);
    case 'RATING': return evaluateRatings(tx, feed);
    case 'CREDIT_SPREAD': return evaluateSpreads(tx, feed, t);
    case 'YIELD_CURVE': return Promise.resolve({ checks: yieldCurveChecks(feed.payload) });
  }
}

/** Every check of the feed (the as-of date checks first) and the status they give it. */
export async function evaluateFeed(tx: Tx, feed: FeedInput, thresholds: QualityThresholds, today: string): Promise<Evaluation> {
  const typed = await evaluateByType(tx, feed, thresholds);
  const checks = [...asOfDateChecks(feed.asOf, today, thresholds.staleDays), ...typed.checks];
  return { status: worstStatus(checks), checks, fxRates: typed.fxRates ?? [], ratings: typed.ratings ?? [] };
}
