// liveExposure after a passing database failure (PostgreSQL: a second session
// holds a lock while the service's statements time out): the error is sent,
// but not kept as the group's answer. The group computes again by itself (with
// backoff, no write needed), and a subscriber joining meanwhile gets a value,
// never the stale error. Without the retry, the first subscriber would wait for
// a value until the next write, and the second would get the error at once.
//
// No wall-clock upper bounds: every wait ends on an event.
import { createClient, type Client } from 'graphql-ws';
import type { FormattedExecutionResult } from 'graphql';
import { Client as PgClient } from 'pg';
import WebSocket from 'ws';
import { openDatabase, type Database } from '../../src/db/database';
import type { LiveEvents } from '../../src/live/events';
import { createLiveEvents } from '../../src/live/listener';
import { createChain } from '../support/factories';
import { startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

type ExecutionResult = FormattedExecutionResult<Record<string, any>, unknown>;

let t: TestDatabase;
let db: Database;
let live: LiveEvents;
let api: RunningService;
let fundId: string;
const clients: Client[] = [];

/** One subscription's results, read one at a time. */
class Stream {
  private readonly queue: ExecutionResult[] = [];
  private waiter: ((result: ExecutionResult) => void) | null = null;

  constructor(client: Client, query: string, variables: Record<string, unknown>) {
    client.subscribe({ query, variables }, {
      next: (result) => {
        const waiter = this.waiter;
        this.waiter = null;
        if (waiter) waiter(result as ExecutionResult);
        else this.queue.push(result as ExecutionResult);
      },
      error: () => undefined,
      complete: () => undefined,
    });
  }

  next(): Promise<ExecutionResult> {
    const queued = this.queue.shift();
    return queued ? Promise.resolve(queued) : new Promise((resolve) => (this.waiter = resolve));
  }
}

function connect(): Client {
  const client = createClient({ url: `${api.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
  clients.push(client);
  return client;
}

const EXPOSURE = 'subscription($n: ID!) { liveExposure(nodeId: $n, dimension: ASSET_CLASS) { total unvaluedPositionCount } }';

beforeAll(async () => {
  t = await createTestDatabase();
  fundId = (await createChain(t.db, 'Live retry')).fund.id;
  // The service's own database, with statements that give up after 300 ms.
  db = await openDatabase({
    kind: 'postgres', url: t.url!, poolMax: 3, connectTimeoutMs: 5_000, statementTimeoutMs: 300, idleTimeoutMs: 10_000, jit: false,
  });
  live = await createLiveEvents(db, { kind: 'postgres', url: t.url! });
  api = await startService(db, { live });
});
afterAll(async () => {
  for (const client of clients) await client.dispose();
  await api?.stop();
  await live?.close();
  await db?.close();
  await t?.drop();
});

it('retries a computation that failed for a database time-out, and never hands the failure to a subscriber joining later', async () => {
  const first = new Stream(connect(), EXPOSURE, { n: fundId });
  const before = await first.next();
  expect(before.errors).toBeUndefined();
  const exposures = api.service.live!.exposures;
  const computed = exposures.computations;

  // Another session locks the node table; a firm-wide change makes the group compute, and its statements time out.
  const locker = new PgClient({ connectionString: t.url! });
  await locker.connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE portfolio_node IN ACCESS EXCLUSIVE MODE');
    const notifier = new PgClient({ connectionString: t.url! });
    await notifier.connect();
    await notifier.query(`SELECT pg_notify('pds_live', json_build_object('k', 'REFERENCE_DATA', 'f', json_build_array(), 'n', NULL)::text)`);
    await notifier.end();
    const failed = await first.next();
    expect(failed.errors?.[0]?.message).toMatch(/did not answer in time|unavailable/i);
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end();
  }

  // Nothing is written from here on. A subscriber joining gets a value (the failure is not the group's answer)...
  const second = new Stream(connect(), EXPOSURE, { n: fundId });
  const joined = await second.next();
  expect(joined.errors).toBeUndefined();
  expect(joined.data!.liveExposure).toEqual(before.data!.liveExposure);
  // ...and the first subscriber, told of the failure, gets the value again without any write.
  const recovered = await first.next();
  expect(recovered.errors).toBeUndefined();
  expect(recovered.data!.liveExposure).toEqual(before.data!.liveExposure);
  expect(exposures.computations - computed).toBeGreaterThanOrEqual(2);
});
