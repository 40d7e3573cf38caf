// Point 9: a slow or hung database. A loopback TCP proxy sits between one
// service's pool and a private cluster; a second service talks to the same
// cluster directly. Statement, query and connection timeouts fire at their
// settings (not later), the slow service keeps answering (/livez before any database-bound request,
// /readyz 503 within its bound, GraphQL with a clear error), the healthy one
// stays fast, and the pool recovers when the network does.
import { databaseFailure, openDatabase, type Database } from '../../src/db/database';
import { graphql, startService, type RunningService } from '../support/http';
import { createPgCluster, type PgCluster } from '../support/pgCluster';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy';
import { ok, postgresConfig, readyz, seededDatabase, sleep, timed } from './helpers';

const STATEMENT_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 1_000;
/** The pool's client-side query_timeout: statement timeout + min(5 s, statement timeout). */
const QUERY_TIMEOUT_MS = 2 * STATEMENT_TIMEOUT_MS;
/** Scheduling slack on a busy 2-core machine. */
const MARGIN_MS = 1_000;
/**
 * The healthy service's reads never wait for the slow database: any coupling (a shared pool, a
 * blocked event loop) would show up as waits of a query timeout or more.
 */
const HEALTHY_BOUND_MS = QUERY_TIMEOUT_MS;

let cluster: PgCluster;
let proxy: TcpProxy;
let url: string;
let proxiedUrl: string;
let slowDb: Database;
let slow: RunningService;
let healthyDb: Database;
let healthy: RunningService;

beforeAll(async () => {
  cluster = await createPgCluster();
  url = await seededDatabase(cluster, 'slow');
  proxy = await startTcpProxy({ port: cluster.port });
  const proxied = new URL(url);
  proxied.port = String(proxy.port);
  proxiedUrl = proxied.toString();
  const settings = { connectTimeoutMs: CONNECT_TIMEOUT_MS, statementTimeoutMs: STATEMENT_TIMEOUT_MS };
  slowDb = await openDatabase(postgresConfig(proxiedUrl, { poolMax: 4, ...settings }));
  slow = await startService(slowDb);
  healthyDb = await openDatabase(postgresConfig(url, { poolMax: 4, ...settings }));
  healthy = await startService(healthyDb);
}, 60_000);

afterEach(() => proxy?.setMode('pass'));

afterAll(async () => {
  await slow?.stop();
  await healthy?.stop();
  proxy?.setMode('refuse'); // connections left stalled would hold pool.end()
  await slowDb?.close();
  await healthyDb?.close();
  await proxy?.close();
  await cluster?.destroy();
});

const TREE = '{ portfolioRoots { id name children { id name children { id } } } }';
const read = (service: RunningService) => timed(() => graphql(service.url, TREE));

/** Reads on the healthy service, back to back, until stopped; returns their timings. */
function healthyReads() {
  const times: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await read(healthy);
      expect(ok(r)).toBe(true);
      times.push(r.ms);
    }
  })();
  return async () => {
    running = false;
    await loop;
    return times;
  };
}

it('cancels a statement that runs longer than DB_STATEMENT_TIMEOUT_MS, and the pool serves on', async () => {
  await slowDb.prisma.$queryRaw`SELECT 1`; // connected and warm: only the statement is timed
  const sleepy = await timed(() => slowDb.prisma.$queryRaw`SELECT pg_sleep(10)`);
  expect(databaseFailure(sleepy.error)).toBe('timeout');
  expect(sleepy.ms).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - 50);
  expect(sleepy.ms).toBeLessThan(STATEMENT_TIMEOUT_MS + MARGIN_MS);
  expect(ok(await read(slow))).toBe(true);
});

it('with a network slower than the query timeout, fails requests at the timeout with a clear error and recovers', async () => {
  // Below the timeout a slow network is only slow.
  proxy.setMode({ delayMs: 150 });
  const slowButFine = await read(slow);
  expect(ok(slowButFine)).toBe(true);
  expect(slowButFine.ms).toBeGreaterThanOrEqual(300);

  proxy.setMode({ delayMs: 3_000 });
  const stopHealthy = healthyReads();
  const [answers, live, ready] = await Promise.all([
    Promise.all(Array.from({ length: 6 }, () => read(slow))),
    timed(() => fetch(`${slow.url}/livez`)),
    timed(() => readyz(slow.url)),
  ]);
  const healthyTimes = await stopHealthy();

  for (const answer of answers) {
    expect(answer.value?.errors?.[0]?.message).toBe('The database did not answer in time; retry shortly');
    expect(answer.value?.status).toBe(503);
    // Six requests on a pool of four: the last two wait for a client, then time out themselves.
    expect(answer.ms).toBeLessThan(QUERY_TIMEOUT_MS + CONNECT_TIMEOUT_MS + MARGIN_MS);
  }
  expect(live.value?.status).toBe(200);
  expectLivezNotWaiting(live.ms, answers);
  expect(ready.value).toBe(503);
  expect(ready.ms).toBeLessThan(2_000 + MARGIN_MS);
  expect(healthyTimes.length).toBeGreaterThan(5);
  expect(Math.max(...healthyTimes)).toBeLessThan(HEALTHY_BOUND_MS);
  console.log(`delay 3 s: slow service answers ${answers.map((a) => a.ms).join(', ')} ms; /readyz ${ready.ms} ms; healthy service max ${Math.max(...healthyTimes)} ms over ${healthyTimes.length} reads`);

  proxy.setMode('pass');
  await expectRecovery();
});

it('when the server hangs, new connections fail after DB_CONNECT_TIMEOUT_MS, open ones at the query timeout, and the pool recovers', async () => {
  proxy.setMode('stall');
  // A pool with no connection yet: only the connect timeout can end the wait.
  const fresh = await openDatabase(postgresConfig(proxiedUrl, { connectTimeoutMs: CONNECT_TIMEOUT_MS, statementTimeoutMs: STATEMENT_TIMEOUT_MS }));
  try {
    const connect = await timed(() => fresh.sql.query('SELECT 1'));
    expect(databaseFailure(connect.error)).toBe('timeout');
    expect(connect.ms).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 50);
    expect(connect.ms).toBeLessThan(CONNECT_TIMEOUT_MS + MARGIN_MS);
  } finally {
    await fresh.close();
  }

  // The service's pool holds open connections that now hang, and makes new ones that hang too.
  const stopHealthy = healthyReads();
  const [answers, live, ready] = await Promise.all([
    Promise.all(Array.from({ length: 8 }, () => read(slow))),
    timed(() => fetch(`${slow.url}/livez`)),
    timed(() => readyz(slow.url)),
  ]);
  const healthyTimes = await stopHealthy();
  for (const answer of answers) {
    expect(answer.value?.errors?.[0]?.message).toBe('The database did not answer in time; retry shortly');
    expect(answer.ms).toBeLessThan(QUERY_TIMEOUT_MS + CONNECT_TIMEOUT_MS + MARGIN_MS);
  }
  expect(live.value?.status).toBe(200);
  expectLivezNotWaiting(live.ms, answers);
  expect(ready.value).toBe(503);
  expect(ready.ms).toBeLessThan(2_000 + MARGIN_MS);
  expect(Math.max(...healthyTimes)).toBeLessThan(HEALTHY_BOUND_MS);
  console.log(`stall: slow service answers ${answers.map((a) => a.ms).join(', ')} ms; /readyz ${ready.ms} ms; healthy service max ${Math.max(...healthyTimes)} ms over ${healthyTimes.length} reads`);

  // A second wave finds no stuck clients left in the pool: the same bound holds.
  const second = await Promise.all(Array.from({ length: 4 }, () => read(slow)));
  for (const answer of second) expect(answer.ms).toBeLessThan(QUERY_TIMEOUT_MS + CONNECT_TIMEOUT_MS + MARGIN_MS);

  proxy.setMode('pass');
  await expectRecovery();
});

it('when the server refuses connections, fails at once with "unavailable" and recovers', async () => {
  proxy.setMode('refuse');
  const answers = await Promise.all(Array.from({ length: 4 }, () => read(slow)));
  for (const answer of answers) {
    expect(answer.value?.errors?.[0]?.message).toBe('The database is unavailable; retry shortly');
    expect(answer.ms).toBeLessThan(MARGIN_MS);
  }
  proxy.setMode('pass');
  await expectRecovery();
});

/**
 * /livez does not wait for the database: sent together with requests that do, it answers before every
 * one of them, and before the earliest database timeout (a /livez that waited for the database could
 * not answer before that timeout fired). No wall-clock bound of its own: on a busy 2-core machine an
 * answer of a few hundred milliseconds is scheduling, not a regression.
 */
function expectLivezNotWaiting(liveMs: number, databaseBound: { ms: number }[]): void {
  expect(liveMs).toBeLessThan(Math.min(...databaseBound.map((a) => a.ms)));
  expect(liveMs).toBeLessThan(Math.min(STATEMENT_TIMEOUT_MS, CONNECT_TIMEOUT_MS));
}

/** After the network heals, reads on the same service succeed again within a few seconds, and /readyz says 200. */
async function expectRecovery(): Promise<void> {
  const healedAt = Date.now();
  let last = await read(slow);
  while (!ok(last) && Date.now() - healedAt < 10_000) {
    await sleep(100);
    last = await read(slow);
  }
  expect(ok(last)).toBe(true);
  expect(Date.now() - healedAt).toBeLessThan(5_000);
  // Every client of the pool works again, not just one.
  const wave = await Promise.all(Array.from({ length: 8 }, () => read(slow)));
  for (const answer of wave) expect(ok(answer)).toBe(true);
  expect(await readyz(slow.url)).toBe(200);
}

it('a transaction waits for a pooled connection as long as DB_CONNECT_TIMEOUT_MS, then fails as a timeout', async () => {
  // One connection, held by a statement: Prisma's own default (2 s) would give up on the transaction first.
  const one = await openDatabase(postgresConfig(url, { poolMax: 1, connectTimeoutMs: 4_000, statementTimeoutMs: 10_000 }));
  try {
    await one.prisma.$queryRaw`SELECT 1`;
    const held = one.sql.query('SELECT pg_sleep(2.5)');
    await sleep(100);
    const waited = await timed(() => one.prisma.$transaction([one.prisma.$queryRaw`SELECT 1 AS n`, one.prisma.$queryRaw`SELECT 2 AS n`]));
    await held;
    expect(waited.error).toBeUndefined();
    expect(waited.ms).toBeGreaterThan(2_000);
  } finally {
    await one.close();
  }
  const short = await openDatabase(postgresConfig(url, { poolMax: 1, connectTimeoutMs: 300, statementTimeoutMs: 10_000 }));
  try {
    // The pool's one connection, opened first. Its 300 ms also bound opening it: on a loaded machine the
    // server may take longer to start a backend (a CI run failed there, not in the wait measured below),
    // so the opening is tried again; the wait for the held connection is what this part measures.
    for (let attempt = 1; ; attempt++) {
      try {
        await short.prisma.$queryRaw`SELECT 1`;
        break;
      } catch (error) {
        if (attempt >= 20 || databaseFailure(error) === null) throw error;
      }
    }
    const held = short.sql.query('SELECT pg_sleep(1.5)');
    await sleep(100);
    const gaveUp = await timed(() => short.prisma.$transaction([short.prisma.$queryRaw`SELECT 1 AS n`]));
    await held;
    // P2028, "Unable to start a transaction in the given time": a database timeout (retry), not an internal error.
    expect(databaseFailure(gaveUp.error)).toBe('timeout');
    expect(gaveUp.ms).toBeLessThan(1_400);
  } finally {
    await short.close();
  }
}, 30_000);
