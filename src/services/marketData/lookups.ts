// What the quality checks need from the database: the entities named by a
// payload, the previous usable feed of a type, and the ratings already
// recorded on a date. Each is one statement whatever the payload's size
// (identifiers travel as arrays, not as thousands of bind parameters).
import type { Prisma as PrismaNamespace } from '../../generated/prisma/client';
import { refKey, type EntityMatches, type EntityRef } from '../../domain/quality/entityRef';
import type { PreviousFxFeed } from '../../domain/quality/fxSpot';
import type { RatingRow } from '../../domain/quality/rating';
import { isoDate } from '../inputs';

type Tx = PrismaNamespace.TransactionClient;

interface EntityIdRow {
  id: string;
  lei: string | null;
  isin: string | null;
  ticker: string | null;
}

/** For every reference, the ids of the entities it names (isin and ticker are not unique, so possibly several). */
export async function findEntityMatches(tx: Tx, refs: readonly EntityRef[]): Promise<EntityMatches> {
  const of = (kind: EntityRef['kind']) => [...new Set(refs.filter((r) => r.kind === kind).map((r) => r.value))];
  const [leis, isins, tickers, ids] = [of('lei'), of('isin'), of('ticker'), of('id')];
  const rows = refs.length === 0 ? [] : await tx.$queryRaw<EntityIdRow[]>`
    SELECT id::text AS id, lei::text AS lei, isin::text AS isin, ticker
    FROM reference_data
    WHERE lei = ANY (${leis}::bpchar[]) OR isin = ANY (${isins}::bpchar[])
       OR ticker = ANY (${tickers}::text[]) OR id = ANY (${ids}::uuid[])`;
  const matches = new Map<string, string[]>();
  const add = (kind: EntityRef['kind'], value: string | null, id: string) => {
    if (value === null) return;
    const key = refKey({ kind, value });
    matches.set(key, [...(matches.get(key) ?? []), id]);
  };
  for (const row of rows) {
    add('lei', row.lei, row.id);
    add('isin', row.isin, row.id);
    add('ticker', row.ticker, row.id);
    add('id', row.id, row.id);
  }
  return matches;
}

const USABLE = ['PASS', 'WARN'] as const;
const NEWEST: PrismaNamespace.MarketDataFeedOrderByWithRelationInput[] = [{ asOfDate: 'desc' }, { createdAt: 'desc' }, { id: 'desc' }];

/** The latest PASS or WARN FX_SPOT feed dated before `asOfDate`, with its rates. */
export async function previousFxFeed(tx: Tx, asOfDate: Date): Promise<PreviousFxFeed | null> {
  const feed = await tx.marketDataFeed.findFirst({
    where: { feedType: 'FX_SPOT', validationStatus: { in: [...USABLE] }, asOfDate: { lt: asOfDate } },
    orderBy: NEWEST,
    include: { rates: true },
  });
  if (!feed) return null;
  return { id: feed.id, asOfDate: isoDate(feed.asOfDate), rates: new Map(feed.rates.map((r) => [r.pair, r.rate.toFixed()])) };
}

/** The latest PASS or WARN CREDIT_SPREAD feed dated before `asOfDate` (its payload is read by the caller). */
export async function previousSpreadFeed(tx: Tx, asOfDate: Date): Promise<{ id: string; asOfDate: string; payload: unknown } | null> {
  const feed = await tx.marketDataFeed.findFirst({
    where: { feedType: 'CREDIT_SPREAD', validationStatus: { in: [...USABLE] }, asOfDate: { lt: asOfDate } },
    orderBy: NEWEST,
    select: { id: true, asOfDate: true, payloadJson: true },
  });
  return feed ? { id: feed.id, asOfDate: isoDate(feed.asOfDate), payload: feed.payloadJson } : null;
}

/** The ratings recorded on a date for any agency of the given entities. */
export function findRatingsOnDate(tx: Tx, entityIds: readonly string[], asOf: string): Promise<RatingRow[]> {
  if (entityIds.length === 0) return Promise.resolve([]);
  return tx.$queryRaw<RatingRow[]>`
    SELECT entity_id::text AS "entityId", agency::text AS agency, rating
    FROM rating_history
    WHERE entity_id = ANY (${[...new Set(entityIds)]}::uuid[]) AND as_of_date = ${asOf}::date AND superseded_at IS NULL`;
}
