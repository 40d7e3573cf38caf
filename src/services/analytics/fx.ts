// Query.fxRate: the latest PASS or WARN FX_SPOT feed on or before the date
// (received by knownAt, when given; the latest received for a date wins), and
// the rate derived from its rates by the rules of src/domain/fx.ts. The feeds
// of every (date, knownAt) a request asks are read in one statement, with
// their rates (findFxFeedsAt, batched by the request's fxFeedAt loader).
import type { Prisma as Db } from '../../db/database';
import { deriveRate, Exact, type FxRateResult } from '../../domain/fx';
import { DomainError } from '../../errors';
import type { MarketDataFeed } from '../../generated/prisma/client';
import { isoDate } from '../inputs';
import { FEED_COLUMNS } from '../marketData/feeds';
import type { KnownAt } from '../time/knownAt';

/** A date, as known at a moment (null: now). */
export interface FxFeedKey {
  asOf: string;
  knownAt: KnownAt;
}

/** The FX feed in force on a date, and its rates (pair -> rate). */
export interface FxFeedAt {
  feed: MarketDataFeed;
  rates: ReadonlyMap<string, Exact>;
}

export const fxFeedKey = (k: FxFeedKey): string => `${k.asOf}|${k.knownAt ?? ''}`;

/**
 * For each key, the feed in force (null when there is none) with its rates: one statement whatever the
 * number of keys (a row per key from unnest ... WITH ORDINALITY; the feed by one probe of
 * (feed_type, as_of_date DESC), its rates by snapshot_id). Feeds in the shape Prisma reads them.
 */
export async function findFxFeedsAt(prisma: Db, keys: readonly FxFeedKey[]): Promise<(FxFeedAt | null)[]> {
  if (keys.length === 0) return [];
  const rows = await prisma.$queryRaw<(MarketDataFeed & { found: boolean; rates: { pair: string; rate: string }[] | null })[]>`
    SELECT f.id IS NOT NULL AS found, ${FEED_COLUMNS},
           (SELECT json_agg(json_build_object('pair', x.pair, 'rate', x.rate::text)) FROM fx_spot x WHERE x.snapshot_id = f.id) AS rates
    FROM unnest(${keys.map((k) => k.asOf)}::date[], ${keys.map((k) => k.knownAt)}::timestamptz[]) WITH ORDINALITY AS k (as_of, known_at, n)
    LEFT JOIN LATERAL (
      SELECT * FROM market_data_feed f
      WHERE f.feed_type = 'FX_SPOT' AND f.validation_status IN ('PASS', 'WARN') AND f.as_of_date <= k.as_of
        AND (k.known_at IS NULL OR f.recorded_at <= k.known_at)
      -- A later-recorded feed for the same date restates the earlier one.
      ORDER BY f.as_of_date DESC, f.recorded_at DESC, f.id DESC
      LIMIT 1
    ) f ON true
    ORDER BY k.n`;
  return rows.map(({ found, rates, ...feed }) => (found
    ? { feed: feed as MarketDataFeed, rates: new Map((rates ?? []).map((r) => [r.pair, new Exact(r.rate)])) }
    : null));
}

/**
 * The rate base -> quote as of the date (as known at knownAt). `feedAt` reads the feed in force (the
 * request's loader, which batches every fxRate of the request); alone, its own statement.
 */
export async function findFxRate(
  prisma: Db, base: string, quote: string, asOfDate: Date, knownAt: KnownAt = null,
  feedAt: (key: FxFeedKey) => Promise<FxFeedAt | null> = async (key) => (await findFxFeedsAt(prisma, [key]))[0] ?? null,
): Promise<FxRateResult> {
  const asOf = isoDate(asOfDate);
  const [from, to] = [base.trim().toUpperCase(), quote.trim().toUpperCase()];
  if (from === to) return { base: from, quote: to, rate: '1', asOfDate, derivation: 'IDENTITY', feedId: null };
  const found = await feedAt({ asOf, knownAt });
  const derived = found ? deriveRate(found.rates, from, to) : null;
  if (!found || !derived) {
    throw new DomainError('FX_RATE_NOT_FOUND', `No FX rate ${from}${to} as of ${asOf}: ${found ? `the FX_SPOT feed of ${isoDate(found.feed.asOfDate)} does not provide it (directly, inverted or through USD)` : 'no PASS or WARN FX_SPOT feed on or before that date'}`, undefined, { pairs: [`${from}${to}`] });
  }
  return { base: from, quote: to, rate: derived.rate.toFixed(), asOfDate: found.feed.asOfDate, derivation: derived.derivation, feedId: found.feed.id };
}
