// GraphQL subscriptions over a real WebSocket (the graphql-ws client on `ws`)
// against a real service on a real database (PGlite, or PostgreSQL with
// TEST_DATABASE_URL), with events from the real listener (src/live/listener.ts):
// the database's own notifications of committed writes.
//
// Covered: 4403 for a missing or bad token; a subscription over HTTP refused;
// the HTTP limits (depth, aliases, cost) with HTTP's code; WS_MAX_SUBSCRIPTIONS,
// WS_MAX_PAYLOAD_BYTES and WS_MAX_CONNECTIONS; NOT_FOUND for a node or batch
// the caller may not see; first and following events of each subscription; a
// subscriber of one fund sees nothing of another; liveExposure computes once
// per argument set; every subscription lets go of the LiveEvents when its
// client completes or disconnects; after the listener reconnects (PostgreSQL)
// portfolioChanged subscribers are told to refetch; stop() closes WebSockets
// (1001) and HTTP.
//
// No wall-clock bounds: every wait ends on an event, a close or a state reached.
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import type { Client } from 'graphql-ws';
import { DEFAULT_WEBSOCKET, type AuthConfig } from '../../src/config';
import type { LiveEvents } from '../../src/live/events';
import { createLiveEvents } from '../../src/live/listener';
import { createChain, createInstrument } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { barrier as liveBarrier, connect as openConnection, counted, refusal, Stream, until, type Counted } from '../support/live';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/testDatabase';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose: typeof Jose = require('jose');

const SECRET = 'a-live-transport-test-secret-of-32-bytes-or-more';
const AUTH: AuthConfig = { mode: 'jwt', secret: SECRET, clockToleranceSec: 0 };
const MAX_SUBSCRIPTIONS = 3;

type Chain = Awaited<ReturnType<typeof createChain>>;

let t: TestDatabase;
let listener: LiveEvents;
let live: Counted;
let api: RunningService;
let a: Chain;
let b: Chain;
let instrumentId: string;
let admin: string;
/** Every client opened, disposed after each test. */
const clients: Client[] = [];

async function sign(claims: Record<string, unknown>, options: { secret?: string; exp?: number | string } = {}): Promise<string> {
  return new jose.SignJWT({ roles: ['ADMIN'], funds: ['*'], ...claims } as Jose.JWTPayload).setProtectedHeader({ alg: 'HS256' }).setSubject('live-tester')
    .setExpirationTime(options.exp ?? '1h').sign(new TextEncoder().encode(options.secret ?? SECRET));
}

/** A graphql-ws client of the service, disposed after each test. */
const connect = (service: RunningService, authorization: string | undefined, options: { lazy?: boolean } = {}) =>
  openConnection(service.url, { authorization, lazy: options.lazy, clients });

/** Every LiveEvent up to and including a marker notification sent now (notifications arrive in commit order). */
const barrier = () => liveBarrier(listener, t.db);

const http = (query: string, variables: Record<string, unknown> = {}, token = admin) => graphql(api.url, query, variables, { authorization: `Bearer ${token}` });

const OPEN = 'mutation($input: OpenPositionInput!) { openPosition(input: $input) { id } }';
const openPosition = async (nodeId: string) => {
  const res = await http(OPEN, { input: { nodeId, instrumentId, quantity: '10', baseCurrency: 'USD' } });
  expect(res.errors).toBeUndefined();
};

beforeAll(async () => {
  t = await createTestDatabase();
  listener = await createLiveEvents(t.db, onPostgres ? { kind: 'postgres', url: t.url! } : { kind: 'embedded' });
  live = counted(listener);
  a = await createChain(t.db, 'Live A');
  b = await createChain(t.db, 'Live B');
  instrumentId = (await createInstrument(t.db)).id;
  admin = await sign({});
  api = await startService(t.db, { auth: AUTH, live, websocket: { ...DEFAULT_WEBSOCKET, maxSubscriptions: MAX_SUBSCRIPTIONS } });
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  // Whatever a test opened, nothing keeps listening once its clients are gone.
  await until(() => live.active() === 0);
});

afterAll(async () => {
  await api?.stop();
  await listener?.close();
  await t?.drop();
});

const FEEDS = 'subscription { marketDataFeedIngested { id feedType } }';

describe('the connection', () => {
  it.each([
    ['no token', async () => undefined],
    ['a token that is not a bearer token', async () => 'Basic bGl2ZTp0ZXN0'],
    ['garbage', async () => 'Bearer not.a.jwt'],
    ['a token of another secret', async () => `Bearer ${await sign({}, { secret: 'another-secret-that-is-also-at-least-32-bytes' })}`],
    ['an expired token', async () => `Bearer ${await sign({}, { exp: Math.floor(Date.now() / 1000) - 60 })}`],
  ])('is closed with 4403 before any subscription runs for %s', async (_what, authorization) => {
    const { client, closed } = connect(api, await authorization());
    const stream = new Stream(client, FEEDS);
    const close = await closed;
    expect(close.code).toBe(4403);
    expect(close.reason).toMatch(/^Forbidden/);
    expect((await stream.ended).error).toMatchObject({ code: 4403 });
    expect(live.active()).toBe(0);
  });

  it('serves a valid token, and refuses a query or mutation over WebSocket with BAD_REQUEST', async () => {
    const { client } = connect(api, `Bearer ${admin}`);
    const [error] = await refusal(new Stream(client, '{ portfolioRoots { id } }'));
    expect(error!.extensions?.code).toBe('BAD_REQUEST');
    expect(error!.message).toMatch(/POST \/graphql/);
  });

  it('refuses a subscription sent over HTTP POST', async () => {
    const res = await http('subscription($n: ID!) { portfolioChanged(nodeId: $n) { kinds } }', { n: a.fund.id });
    expect(res.status).toBe(400);
    expect(res.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors![0]!.message).toMatch(/WebSocket/);
  });
});

describe('limits', () => {
  const nested = (field: string, levels: number) => `${`${field} { `.repeat(levels)}id${' }'.repeat(levels)}`;
  const aliases = (n: number) => Array.from({ length: n }, (_v, i) => `a${i}: id`).join(' ');
  const costly = 'descendants { positions(first: 500) { edges { node { history { quantity } } } } }';

  it.each([
    ['too deep', `node { ${nested('parent', 16)} }`, nested('parent', 16)],
    ['too many aliases', `node { ${aliases(31)} }`, aliases(31)],
    ['too expensive', `node { ${costly} }`, costly],
  ])('refuses a subscription %s with QUERY_TOO_COMPLEX, as HTTP refuses the query', async (_what, subscriptionSelection, querySelection) => {
    const overHttp = await http(`query($n: ID!) { portfolioNode(id: $n) { ${querySelection} } }`, { n: a.fund.id });
    expect(overHttp.errors![0]!.extensions!.code).toBe('QUERY_TOO_COMPLEX');
    const { client } = connect(api, `Bearer ${admin}`);
    const stream = new Stream(client, `subscription($n: ID!) { portfolioChanged(nodeId: $n) { ${subscriptionSelection} } }`, { n: a.fund.id });
    const [error] = await refusal(stream);
    expect(error!.extensions?.code).toBe('QUERY_TOO_COMPLEX');
  });

  it(`refuses subscription ${MAX_SUBSCRIPTIONS + 1} on a connection (WS_MAX_SUBSCRIPTIONS), and takes one again once another ends`, async () => {
    const { client } = connect(api, `Bearer ${admin}`);
    const open = Array.from({ length: MAX_SUBSCRIPTIONS }, () => new Stream(client, FEEDS));
    const [error] = await refusal(new Stream(client, FEEDS));
    expect(error!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', limit: 'WS_MAX_SUBSCRIPTIONS' });
    await until(() => live.active() === MAX_SUBSCRIPTIONS);
    open[0]!.stop();
    await until(() => live.active() === MAX_SUBSCRIPTIONS - 1);
    open.push(new Stream(client, FEEDS));
    await until(() => live.active() === MAX_SUBSCRIPTIONS);
  });

  it('closes the socket with 1009 on a message over WS_MAX_PAYLOAD_BYTES', async () => {
    // graphql-ws's ws adapter reports the refused message on the console; kept out of the test output.
    const consoleError = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const { client, closed } = connect(api, `Bearer ${admin}`);
      const stream = new Stream(client, `${FEEDS}${' '.repeat(DEFAULT_WEBSOCKET.maxPayloadBytes)}`);
      expect((await closed).code).toBe(1009);
      expect((await stream.ended).error).toMatchObject({ code: 1009 });
    } finally {
      consoleError.mockRestore();
    }
  });

  it('closes a connection over WS_MAX_CONNECTIONS with 1013', async () => {
    const small = await startService(t.db, { auth: AUTH, live, websocket: { ...DEFAULT_WEBSOCKET, maxConnections: 1 } });
    try {
      const first = connect(small, `Bearer ${admin}`, { lazy: false });
      await first.connected;
      const second = connect(small, `Bearer ${admin}`, { lazy: false });
      expect((await second.closed).code).toBe(1013);
    } finally {
      for (const client of clients.splice(0)) await client.dispose();
      await small.stop();
    }
  });
});

describe('access', () => {
  const NODE = 'subscription($n: ID!) { portfolioChanged(nodeId: $n) { kinds } }';
  const EXPOSURE = 'subscription($n: ID!) { liveExposure(nodeId: $n, dimension: ASSET_CLASS) { total } }';
  const BATCH = 'subscription($id: ID!) { ingestionBatchProgress(id: $id) { status } }';

  const firstError = async (token: string, query: string, variables: Record<string, unknown>) => {
    const { client } = connect(api, `Bearer ${token}`);
    const stream = new Stream(client, query, variables);
    const result = await stream.next();
    expect(result.data ?? null).toBeNull();
    expect(await stream.ended).toEqual({});
    return result.errors![0]!;
  };

  it('answers NOT_FOUND for a node that does not exist or that the caller may not see', async () => {
    const viewerOfA = await sign({ roles: ['VIEWER'], funds: [a.fund.id] });
    expect((await firstError(admin, NODE, { n: crypto.randomUUID() })).extensions).toMatchObject({ code: 'NOT_FOUND', field: 'nodeId' });
    expect((await firstError(admin, NODE, { n: 'not-an-id' })).extensions?.code).toBe('NOT_FOUND');
    expect((await firstError(viewerOfA, NODE, { n: b.desk.id })).extensions?.code).toBe('NOT_FOUND');
    expect((await firstError(viewerOfA, EXPOSURE, { n: b.fund.id })).extensions?.code).toBe('NOT_FOUND');
    const batch = await t.db.prisma.ingestionBatch.create({ data: { batchType: 'POSITION_UPLOAD', sourceSystem: 'live-b', status: 'COMPLETED', fundIds: [b.fund.id] } });
    expect((await firstError(viewerOfA, BATCH, { id: batch.id })).extensions?.code).toBe('NOT_FOUND');
    expect(live.active()).toBe(0);
  });

  it('answers FORBIDDEN to a caller without a role', async () => {
    expect((await firstError(await sign({ roles: [] }), NODE, { n: a.fund.id })).extensions?.code).toBe('FORBIDDEN');
  });
});

describe('events', () => {
  const BATCH = 'subscription($id: ID!) { ingestionBatchProgress(id: $id) { id status rowCount acceptedCount } }';

  it('ingestionBatchProgress: a finished batch is sent once, then the subscription completes', async () => {
    const batch = await t.db.prisma.ingestionBatch.create({
      data: { batchType: 'POSITION_UPLOAD', sourceSystem: 'live-done', status: 'COMPLETED', rowCount: 3, acceptedCount: 3, fundIds: [a.fund.id] },
    });
    const { client } = connect(api, `Bearer ${admin}`);
    const stream = new Stream(client, BATCH, { id: batch.id });
    expect((await stream.data()).ingestionBatchProgress).toEqual({ id: batch.id, status: 'COMPLETED', rowCount: 3, acceptedCount: 3 });
    expect(await stream.ended).toEqual({});
  });

  it('ingestionBatchProgress: the batch now, then each change written by any database client, until COMPLETED', async () => {
    const batch = await t.db.prisma.ingestionBatch.create({ data: { batchType: 'POSITION_UPLOAD', sourceSystem: 'live-running', status: 'VALIDATING' } });
    const { client } = connect(api, `Bearer ${admin}`);
    const stream = new Stream(client, BATCH, { id: batch.id });
    expect((await stream.data()).ingestionBatchProgress).toMatchObject({ status: 'VALIDATING', rowCount: 0 });
    await t.db.sql.query(`UPDATE ingestion_batch SET row_count = 5000, accepted_count = 5000 WHERE id = $1`, [batch.id]);
    expect((await stream.data()).ingestionBatchProgress).toMatchObject({ status: 'VALIDATING', rowCount: 5000, acceptedCount: 5000 });
    await t.db.sql.query(`UPDATE ingestion_batch SET status = 'COMPLETED', completed_at = now() WHERE id = $1`, [batch.id]);
    expect((await stream.data()).ingestionBatchProgress).toMatchObject({ status: 'COMPLETED', rowCount: 5000 });
    expect(await stream.ended).toEqual({});
  });

  it('portfolioChanged: a subscriber of one fund gets its writes and nothing of another fund', async () => {
    const QUERY = 'subscription($n: ID!) { portfolioChanged(nodeId: $n) { node { id name } kinds committedAt } }';
    const { client } = connect(api, `Bearer ${admin}`);
    const ofA = new Stream(client, QUERY, { n: a.fund.id });
    const ofBDesk = new Stream(client, QUERY, { n: b.desk.id });
    await until(() => api.service.live!.portfolio.size === 2);
    // B first, then A: were A's subscriber told of B's write, that would be its first event.
    await openPosition(b.book.id);
    const created = await http('mutation($input: CreatePortfolioNodeInput!) { createPortfolioNode(input: $input) { id } }', {
      input: { name: 'Live A Book 2', nodeType: 'BOOK', parentId: a.desk.id, baseCurrency: 'USD' },
    });
    expect(created.errors).toBeUndefined();
    const toB = (await ofBDesk.data()).portfolioChanged;
    expect(toB.node).toEqual({ id: b.desk.id, name: 'Live B Desk' });
    expect(toB.kinds).toContain('POSITIONS');
    expect(Number.isNaN(Date.parse(toB.committedAt))).toBe(false);
    const toA = (await ofA.data()).portfolioChanged;
    expect(toA.node.id).toBe(a.fund.id);
    expect(toA.kinds).toEqual(['STRUCTURE']);
  });

  it('marketDataFeedIngested: every stored feed of the type asked for, read when announced', async () => {
    const INGEST = 'mutation($input: MarketDataInput!) { ingestMarketData(input: $input) { id } }';
    const ingest = async (feedType: string, payload: unknown) => {
      const res = await http(INGEST, { input: { feedType, asOfDate: new Date().toISOString().slice(0, 10), source: `live-${feedType}`, payload, lineage: { sourceSystem: 'live', transformationChain: [] } } });
      expect(res.errors).toBeUndefined();
      return res.data!.ingestMarketData.id as string;
    };
    const { client } = connect(api, `Bearer ${admin}`);
    const fx = new Stream(client, 'subscription { marketDataFeedIngested(feedType: FX_SPOT) { id feedType source } }');
    const every = new Stream(client, 'subscription { marketDataFeedIngested { id feedType } }');
    await until(() => live.active() === 2);
    const curve = await ingest('YIELD_CURVE', { currency: 'EUR', points: [{ tenor: '1Y', rate: '0.03', discountFactor: '0.97' }, { tenor: '2Y', rate: '0.031', discountFactor: '0.94' }] });
    const rates = await ingest('FX_SPOT', { rates: [{ pair: 'EURUSD', rate: '1.0850' }] });
    expect((await every.data()).marketDataFeedIngested).toEqual({ id: curve, feedType: 'YIELD_CURVE' });
    expect((await every.data()).marketDataFeedIngested).toEqual({ id: rates, feedType: 'FX_SPOT' });
    expect((await fx.data()).marketDataFeedIngested).toEqual({ id: rates, feedType: 'FX_SPOT', source: 'live-FX_SPOT' });
  });

  it('liveExposure: the exposure now, then after a write to its fund; one computation per argument set, not per subscriber', async () => {
    const EXPOSURE = 'subscription($n: ID!, $top: Int) { liveExposure(nodeId: $n, dimension: ASSET_CLASS, top: $top) { total unvaluedPositionCount buckets { key } } }';
    const { client } = connect(api, `Bearer ${admin}`);
    const exposures = api.service.live!.exposures;
    const same = [new Stream(client, EXPOSURE, { n: a.fund.id }), new Stream(client, EXPOSURE, { n: a.fund.id })];
    const other = new Stream(client, EXPOSURE, { n: a.fund.id, top: 1 });
    const first = await Promise.all([...same, other].map((s) => s.data()));
    const unvalued = first[0]!.liveExposure.unvaluedPositionCount as number;
    for (const data of first) expect(data.liveExposure.unvaluedPositionCount).toBe(unvalued);
    expect(exposures.groupCount).toBe(2);
    await barrier(); // earlier tests' events are all in
    const before = exposures.computations;
    await openPosition(a.book.id); // an unvalued position: the exposure changes
    const next = await Promise.all([...same, other].map((s) => s.data()));
    for (const data of next) expect(data.liveExposure.unvaluedPositionCount).toBe(unvalued + 1);
    expect(exposures.computations - before).toBe(2);
  });

  it('lets go of the LiveEvents when a client completes a subscription or disconnects, while no event comes', async () => {
    const batch = await t.db.prisma.ingestionBatch.create({ data: { batchType: 'POSITION_UPLOAD', sourceSystem: 'live-leak', status: 'STARTED' } });
    const subscribe = (client: Client) => [
      new Stream(client, 'subscription($n: ID!) { portfolioChanged(nodeId: $n) { kinds } }', { n: a.book.id }),
      new Stream(client, 'subscription($n: ID!) { liveExposure(nodeId: $n, dimension: CURRENCY) { total } }', { n: a.desk.id }),
      new Stream(client, BATCH, { id: batch.id }),
    ];
    const hub = api.service.live!;
    const completing = connect(api, `Bearer ${admin}`);
    const streams = subscribe(completing.client);
    await Promise.all(streams.slice(1).map((s) => s.next())); // liveExposure and the batch send at once
    await until(() => hub.portfolio.size === 1 && live.active() === 3);
    for (const stream of streams) stream.stop();
    await until(() => live.active() === 0 && hub.portfolio.size === 0 && hub.exposures.groupCount === 0);

    const leaving = connect(api, `Bearer ${admin}`);
    subscribe(leaving.client);
    await until(() => hub.portfolio.size === 1 && hub.exposures.groupCount === 1 && live.active() === 3);
    await leaving.client.dispose();
    await until(() => live.active() === 0 && hub.portfolio.size === 0 && hub.exposures.groupCount === 0);
  });
});

// PostgreSQL only: PGlite's listener shares the process's one connection and cannot lose it.
if (onPostgres) {
  describe('a lost listening connection', () => {
    it('portfolioChanged subscribers are told to refetch everything once the listener listens again', async () => {
      const { client } = connect(api, `Bearer ${admin}`);
      const stream = new Stream(client, 'subscription($n: ID!) { portfolioChanged(nodeId: $n) { node { id } kinds } }', { n: a.book.id });
      await until(() => api.service.live!.portfolio.size === 1);
      const resynced = new Promise<void>((resolve) => {
        const off = listener.subscribe((event) => {
          if (event.type === 'resync') {
            off();
            resolve();
          }
        });
      });
      await t.db.sql.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'portfolio-data-service-live' AND datname = current_database()`);
      await resynced;
      const change = (await stream.data()).portfolioChanged;
      expect(change.node.id).toBe(a.book.id);
      expect([...change.kinds].sort()).toEqual(['MARKET_DATA', 'POSITIONS', 'REFERENCE_DATA', 'SNAPSHOTS', 'STRUCTURE', 'VALUATIONS']);
    });
  });
}

describe('stop()', () => {
  it('closes the WebSockets (1001) and HTTP together, and every subscription lets go', async () => {
    const other = await startService(t.db, { auth: AUTH, live });
    const { client, closed } = connect(other, `Bearer ${admin}`);
    const stream = new Stream(client, 'subscription($n: ID!) { portfolioChanged(nodeId: $n) { kinds } }', { n: a.fund.id });
    await until(() => other.service.live!.portfolio.size === 1);
    await other.stop();
    expect((await closed).code).toBe(1001);
    expect((await stream.ended).error).toMatchObject({ code: 1001 });
    await expect(fetch(`${other.url}/livez`)).rejects.toThrow();
    await until(() => other.service.live!.portfolio.size === 0 && live.active() === 0);
  });
});
