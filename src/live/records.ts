// ingestionBatchProgress and marketDataFeedIngested: each subscription listens
// to the process's LiveEvents itself (the filter is one comparison) and reads
// the row again, from the database, for each event that names it. Reads of one
// subscription run one after the other, so its values come in commit order.
import type { Caller } from '../auth/caller';
import type { Prisma as Db } from '../db/database';
import { notFound } from '../errors';
import type { FeedType, IngestionBatch, MarketDataFeed } from '../generated/prisma/client';
import { findBatchesByIds } from '../services/ingestion/queries';
import { findFeedsByIds, findFeedsCreatedSince } from '../services/marketData/feeds';
import { Channel } from './channel';
import type { LiveEvent, LiveEvents } from './events';

const FINAL = new Set(['COMPLETED', 'FAILED']);

/** Runs tasks one after the other; the first failure fails the channel. */
function serial(channel: Channel<unknown>) {
  let queue: Promise<void> = Promise.resolve();
  return (task: () => Promise<void>) => {
    queue = queue.then(() => (channel.closed ? undefined : task())).catch((error: unknown) => channel.fail(error));
  };
}

/**
 * The batch as given (read by the caller's loader), then again whenever an event names it or after a
 * resync, as the caller may see it; ends after COMPLETED or FAILED. Only changes of status or counts are
 * sent: a slow reader gets the latest state, never a stale one after it. While VALIDATING the counts
 * change after each chunk on PostgreSQL (the importer records them outside its transaction:
 * src/services/ingestion/progress.ts); on the embedded database the batch goes from VALIDATING straight
 * to its outcome (every read waits for the import's transaction there).
 */
export function batchProgress(events: LiveEvents, prisma: Db, batch: IngestionBatch, caller: Caller): Channel<IngestionBatch> {
  const channel = new Channel<IngestionBatch>(1);
  const stateOf = (b: IngestionBatch) => `${b.status}|${b.rowCount}|${b.acceptedCount}|${b.rejectedCount}`;
  let last = stateOf(batch);
  channel.push(batch);
  if (FINAL.has(batch.status)) {
    channel.end();
    return channel;
  }
  const run = serial(channel as Channel<unknown>);
  const reread = () =>
    run(async () => {
      const [now] = await findBatchesByIds(prisma, [batch.id], caller);
      if (!now) throw notFound('id', `No ingestion batch ${batch.id}`);
      if (stateOf(now) !== last) {
        last = stateOf(now);
        channel.push(now);
      }
      if (FINAL.has(now.status)) channel.end();
    });
  channel.onClose(events.subscribe((event) => {
    if (event.type === 'resync' || event.batchId === batch.id) reread();
  }));
  // A change committed between the caller's read and the listener's start has no event of its own to come.
  reread();
  return channel;
}

/** How far back a resync looks for feeds the subscriber may have missed (a feed's transaction may begin well before it commits). */
const RESYNC_LOOKBACK_MS = 60_000;
/** Feed ids remembered per subscription, so that a resync does not send a feed twice. */
const REMEMBERED = 10_000;

/** Every feed of the type (every type when null) announced from now on, read when announced. */
export function feedsIngested(events: LiveEvents, prisma: Db, feedType: FeedType | null): Channel<MarketDataFeed> {
  const channel = new Channel<MarketDataFeed>(1_000);
  const since = new Date(Date.now() - RESYNC_LOOKBACK_MS);
  const sent = new Set<string>();
  const send = (feeds: MarketDataFeed[]) => {
    for (const feed of feeds) {
      if (sent.has(feed.id)) continue;
      sent.add(feed.id);
      if (sent.size > REMEMBERED) sent.delete(sent.values().next().value as string);
      channel.push(feed);
    }
  };
  const run = serial(channel as Channel<unknown>);
  const onEvent = (event: LiveEvent) => {
    if (event.type === 'resync') {
      run(async () => send(await findFeedsCreatedSince(prisma, feedType, since)));
    } else if (event.feed && (feedType === null || event.feed.feedType === feedType)) {
      const id = event.feed.id;
      run(async () => send(await findFeedsByIds(prisma, [id])));
    }
  };
  channel.onClose(events.subscribe(onEvent));
  return channel;
}
