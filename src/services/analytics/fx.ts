// Query.fxRate: the latest PASS or WARN FX_SPOT feed on or before the date
// (received by knownAt, when given; the latest received for a date wins), and
// the rate derived from its rates by the rules of src/domain/fx.ts.
import type { Prisma as Db } from '../../db/database';
import { deriveRate, Exact, type FxRateResult } from '../../domain/fx';
import { DomainError } from '../../errors';
import { isoDate } from '../inputs';
import type { KnownAt } from '../time/knownAt';

export async function findFxRate(prisma: Db, base: string, quote: string, asOfDate: Date, knownAt: KnownAt = null): Promise<FxRateResult> {
  const asOf = isoDate(asOfDate);
  const [from, to] = [base.trim().toUpperCase(), quote.trim().toUpperCase()];
  if (from === to) return { base: from, quote: to, rate: '1', asOfDate, derivation: 'IDENTITY', feedId: null };
  const feed = await prisma.marketDataFeed.findFirst({
    where: {
      feedType: 'FX_SPOT', validationStatus: { in: ['PASS', 'WARN'] }, asOfDate: { lte: asOfDate },
      ...(knownAt === null ? {} : { recordedAt: { lte: new Date(knownAt) } }),
    },
    // A later-recorded feed for the same date restates the earlier one.
    orderBy: [{ asOfDate: 'desc' }, { recordedAt: 'desc' }, { id: 'desc' }],
    include: { rates: true },
  });
  const rates = new Map((feed?.rates ?? []).map((r) => [r.pair, new Exact(r.rate.toFixed())]));
  const derived = deriveRate(rates, from, to);
  if (!feed || !derived) {
    throw new DomainError('FX_RATE_NOT_FOUND', `No FX rate ${from}${to} as of ${asOf}: ${feed ? `the FX_SPOT feed of ${isoDate(feed.asOfDate)} does not provide it (directly, inverted or through USD)` : 'no PASS or WARN FX_SPOT feed on or before that date'}`, undefined, { pairs: [`${from}${to}`] });
  }
  return { base: from, quote: to, rate: derived.rate.toFixed(), asOfDate: feed.asOfDate, derivation: derived.derivation, feedId: feed.id };
}
