// Live updates across processes: two instances of the real entry point (src/main.ts, run as child
// processes like the other fault tests) on one database of a private cluster, subscribers on real
// WebSockets (graphql-ws's client on `ws`), writes made by the other instance, by a plain pg client
// (as psql would) and by `npm run ingest`; then the database restarts under them, and one instance is
// stopped with SIGTERM while it holds subscriptions and an HTTP request.
//
// No wall-clock bounds. Every wait ends on an event, a close, a log line or a state reached, with a
// generous time-out that only turns a hang into a readable failure. "Nothing else arrived" is decided
// by a barrier: a committed write to the watched subtree, of a kind the unwanted writes do not make,
// after them. Notifications reach each listener in commit order and each instance dispatches them one
// after the other, so a subscriber whose first event is the barrier's heard nothing of the unwanted ones.
// (An event names the watched node, not the written one: the kind is what tells them apart.) Long operations are held still by a row lock of the test's own (SELECT ... FOR UPDATE
// on a node the write needs), not by a large amount of data.
//
// Subscriptions are "warmed up" before a write they must hear: a subscription is live on the server
// only once its subscribe resolver returned, which the client is not told for portfolioChanged (it has
// no first event). The test sends firm-wide MARKET_DATA notifications (pg_notify; nothing in this file
// writes market data otherwise) until every watcher has heard one, and skips such events afterwards.
//
// The tests run in order on the same two instances; the last one stops instance A.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client as WsClient } from 'graphql-ws';
import { Client as PgClient, Pool } from 'pg';
import { openDatabase } from '../../src/db/database';
import { migrate } from '../../src/db/migrate';
import { pgRunner } from '../../src/db/sql';
import { createChain, createInstrument } from '../support/factories';
import { graphql, type GraphQLResponse } from '../support/http';
import { connect as openConnection, Stream as LiveStream, type ExecutionResult } from '../support/live';
import { createPgCluster, type PgCluster } from '../support/pgCluster';
import { postgresConfig, sleep, startMain, UPLOAD, uploadRows, type MainProcess } from './helpers';
import { waitFor as waitForWithin } from './helpers';

/** How long any single wait may take before the test fails with a message (a hang, not a slow machine). */
const WAIT_MS = 45_000;
const ROOT = join(__dirname, '../..');
const ALL_KINDS = ['MARKET_DATA', 'POSITIONS', 'REFERENCE_DATA', 'SNAPSHOTS', 'STRUCTURE', 'VALUATIONS'];
/** The warm-up notification: firm-wide, so every portfolioChanged watcher hears it. */
const WARM_UP = JSON.stringify({ k: 'MARKET_DATA', f: [], n: null });
/** An ingested file big enough for several chunks of 5,000 rows. */
const INGEST_ROWS = 12_000;

const CHANGED = 'subscription($n: ID!) { portfolioChanged(nodeId: $n) { node { id name } kinds committedAt } }';
const EXPOSURE = 'subscription($n: ID!) { liveExposure(nodeId: $n, dimension: ASSET_CLASS) { total unvaluedPositionCount } }';
const PROGRESS = 'subscription($id: ID!) { ingestionBatchProgress(id: $id) { id status rowCount acceptedCount rejectedCount } }';
const OPEN = 'mutation($input: OpenPositionInput!) { openPosition(input: $input) { id } }';

type Chain = Awaited<ReturnType<typeof createChain>>;
interface Change {
  node: { id: string; name: string };
  kinds: string[];
  committedAt: string;
}
interface Exposure {
  total: string;
  unvaluedPositionCount: number;
}

let cluster: PgCluster;
let url: string;
/** The test's own plain client of the database (autocommit), as psql would be. */
let sql: Pool;
let a: MainProcess;
let b: MainProcess;
let x: Chain;
let y: Chain;
let instrumentId: string;
let tmp: string;
const started: MainProcess[] = [];
const clients: WsClient[] = [];
const pgClients: PgClient[] = [];

const waitFor = <T>(what: string, condition: () => T | Promise<T>, ms = WAIT_MS) => waitForWithin(what, condition, ms);

/** `promise`, or a failure saying what was awaited after `ms`. */
function within<T>(what: string, promise: Promise<T>, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const base = (main: MainProcess) => `http://127.0.0.1:${main.port}`;
const gql = (main: MainProcess, query: string, variables: Record<string, unknown> = {}) => graphql(base(main), query, variables);

function openPosition(main: MainProcess, nodeId: string): Promise<GraphQLResponse<{ openPosition: { id: string } }>> {
  return graphql(base(main), OPEN, { input: { nodeId, instrumentId, quantity: '10', baseCurrency: 'USD' } });
}

async function notify(payload: string): Promise<void> {
  await sql.query(`SELECT pg_notify('pds_live', $1)`, [payload]);
}

/** A database session of the test's own, kept for a transaction. */
async function session(): Promise<PgClient> {
  const client = new PgClient({ connectionString: url, application_name: 'live-fleet-test' });
  pgClients.push(client);
  await client.connect();
  return client;
}

/** Holds `FOR UPDATE` on a node until the returned function commits: a write that needs the node waits. */
async function lockNode(nodeId: string): Promise<() => Promise<void>> {
  const client = await session();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM portfolio_node WHERE id = $1 FOR UPDATE', [nodeId]);
  return async () => {
    await client.query('COMMIT');
    await client.end();
  };
}

/** Sessions (other than ours) waiting for a lock: the write held still by lockNode has reached it. */
async function waitersOnLocks(): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() AND pid <> pg_backend_pid()`,
  );
  return rows[0]!.n;
}

const connect = (main: MainProcess) => openConnection(base(main), { lazy: false, clients, within });

/** One subscription's results, read one at a time, with the warm-ups it heard and the readers of this file. */
class Stream extends LiveStream {
  /** Warm-up events heard (firm-wide MARKET_DATA only). */
  warmUps = 0;
  /** Error messages skipped by exposureUntil. */
  readonly toleratedErrors: string[] = [];

  constructor(client: WsClient, what: string, query: string, variables: Record<string, unknown> = {}) {
    super(client, query, variables, { what, within });
  }

  protected override received(result: ExecutionResult): void {
    const kinds = (result.data as { portfolioChanged?: { kinds?: string[] } } | null | undefined)?.portfolioChanged?.kinds;
    if (kinds?.length === 1 && kinds[0] === 'MARKET_DATA') this.warmUps++;
  }

  /** The next portfolioChanged event other than a warm-up. */
  async change(): Promise<Change> {
    for (;;) {
      const change = (await this.data<{ portfolioChanged: Change }>()).portfolioChanged;
      if (change.kinds.length === 1 && change.kinds[0] === 'MARKET_DATA') continue;
      return change;
    }
  }

  /**
   * liveExposure values until one passes `test` (the ones before it are earlier states, also allowed).
   * With `tolerated`, results with errors that it accepts are skipped (and counted in `toleratedErrors`).
   */
  async exposureUntil(test: (e: Exposure) => boolean, tolerated?: (error: { message: string }) => boolean): Promise<Exposure> {
    for (;;) {
      const result = await this.next();
      if (result.errors && tolerated && result.errors.every(tolerated)) {
        this.toleratedErrors.push(...result.errors.map((e) => e.message));
        continue;
      }
      if (result.errors) throw new Error(`${this.what} sent errors: ${JSON.stringify(result.errors)}`);
      const exposure = (result.data as { liveExposure: Exposure }).liveExposure;
      if (test(exposure)) return exposure;
    }
  }
}

/** Until every portfolioChanged stream has heard a warm-up notification: each is live on its server. */
async function warmUp(...streams: Stream[]): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (streams.some((s) => s.warmUps === 0)) {
    if (Date.now() > deadline) throw new Error(`never warmed up: ${streams.filter((s) => s.warmUps === 0).map((s) => s.what).join(', ')}`);
    await notify(WARM_UP);
    // A retry interval, not a bound: an unheard notification is simply sent again.
    for (let i = 0; i < 20 && streams.some((s) => s.warmUps === 0); i++) await sleep(25);
  }
}

/** The log lines of `main` from index `from` on, until one has the message. */
const logged = (main: MainProcess, msg: string, from = 0) => waitFor(`"${msg}" in the log of port ${main.port}`, () => main.logs.slice(from).find((l) => l.msg === msg));

const alive = (main: MainProcess) => main.proc.exitCode === null && main.proc.signalCode === null;

/** Log lines at level error (50) or above. */
const errorsLogged = (main: MainProcess) => main.logs.filter((l) => l.level >= 50);

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'pds-fleet-'));
  cluster = await createPgCluster();
  url = await cluster.createDatabase('fleet');
  sql = new Pool({ connectionString: url, max: 3, application_name: 'live-fleet-test' });
  // A pooled connection broken by the restart test is dropped by the pool; the error must not crash Jest.
  sql.on('error', () => undefined);
  await migrate(pgRunner(sql));
  const db = await openDatabase(postgresConfig(url, { poolMax: 1 }));
  try {
    x = await createChain(db, 'Fleet X');
    y = await createChain(db, 'Fleet Y');
    instrumentId = (await createInstrument(db, { name: 'Fleet instrument' })).id;
  } finally {
    await db.close();
  }
  const env = { DATABASE_URL: url, SHUTDOWN_GRACE_MS: '60000' };
  const starting = [startMain(env), startMain(env)];
  for (const s of starting) void s.then((main) => started.push(main), () => undefined);
  [a, b] = await Promise.all(starting) as [MainProcess, MainProcess];
}, 120_000);

afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  for (const client of pgClients.splice(0)) await client.end().catch(() => undefined);
});

afterAll(async () => {
  for (const main of started) main.kill();
  await sql?.end();
  await cluster?.destroy();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

it('a write through instance A reaches portfolioChanged and liveExposure subscribers on instance B', async () => {
  const onB = connect(b);
  await onB.connected;
  const fund = new Stream(onB.client, 'B: portfolioChanged(X fund)', CHANGED, { n: x.fund.id });
  const desk = new Stream(onB.client, 'B: portfolioChanged(X desk)', CHANGED, { n: x.desk.id });
  const exposure = new Stream(onB.client, 'B: liveExposure(X fund)', EXPOSURE, { n: x.fund.id });
  const first = (await exposure.data<{ liveExposure: Exposure }>()).liveExposure;
  await warmUp(fund, desk);

  // An unvalued position opened through A.
  const opened = await openPosition(a, x.book.id);
  expect(opened.errors).toBeUndefined();
  for (const [stream, node] of [[fund, x.fund], [desk, x.desk]] as const) {
    const change = await stream.change();
    expect(change.node).toEqual({ id: node.id, name: node.name });
    expect(change.kinds).toEqual(['POSITIONS']);
    expect(Number.isNaN(Date.parse(change.committedAt))).toBe(false);
  }
  const afterOpen = await exposure.exposureUntil((e) => e.unvaluedPositionCount === first.unvaluedPositionCount + 1);
  expect(Number(afterOpen.total)).toBe(Number(first.total));

  // Valued positions uploaded through A: positions, then valuations; the exposure grows by their value.
  const upload = await gql(a, UPLOAD, { input: { sourceSystem: 'fleet-upload', rows: uploadRows({ bookId: x.book.id, instrumentId }, 3) } });
  expect(upload.errors).toBeUndefined();
  expect(upload.data?.uploadPositions).toMatchObject({ status: 'COMPLETED', acceptedCount: 3 });
  for (const stream of [fund, desk]) {
    expect((await stream.change()).kinds).toEqual(['POSITIONS']);
    expect((await stream.change()).kinds).toEqual(['VALUATIONS']);
  }
  const afterUpload = await exposure.exposureUntil((e) => Number(e.total) === Number(first.total) + 1.5 + 2.5 + 3.5);
  expect(afterUpload.unvaluedPositionCount).toBe(first.unvaluedPositionCount + 1);
}, 90_000);

it('a write committed by a plain pg client reaches subscribers on both instances; a rolled-back one sends nothing', async () => {
  const onA = connect(a);
  const onB = connect(b);
  await Promise.all([onA.connected, onB.connected]);
  const fundOnA = new Stream(onA.client, 'A: portfolioChanged(X fund)', CHANGED, { n: x.fund.id });
  const bookOnB = new Stream(onB.client, 'B: portfolioChanged(X book)', CHANGED, { n: x.book.id });
  const exposure = new Stream(onA.client, 'A: liveExposure(X fund)', EXPOSURE, { n: x.fund.id });
  const first = (await exposure.data<{ liveExposure: Exposure }>()).liveExposure;
  await warmUp(fundOnA, bookOnB);

  const { rows } = await sql.query<{ id: string }>(
    `INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy, opened_on, state_from)
     VALUES ($1, $2, 5, 'USD', '2000-01-01', '2000-01-01') RETURNING id::text AS id`,
    [x.book.id, instrumentId],
  );
  const positionId = rows[0]!.id;
  for (const [stream, node] of [[fundOnA, x.fund], [bookOnB, x.book]] as const) {
    const change = await stream.change();
    expect(change.node.id).toBe(node.id);
    expect(change.kinds).toEqual(['POSITIONS']);
  }
  await sql.query(
    `INSERT INTO valuation_result (position_id, portfolio_node_id, as_of_date, market_value, currency) VALUES ($1, $2, '2026-10-30', 100, 'USD')`,
    [positionId, x.book.id],
  );
  for (const stream of [fundOnA, bookOnB]) expect((await stream.change()).kinds).toEqual(['VALUATIONS']);
  await exposure.exposureUntil((e) => Number(e.total) === Number(first.total) + 100 && e.unvaluedPositionCount === first.unvaluedPositionCount);

  // Rolled back: a position and its valuation. Nothing may be announced.
  const tx = await session();
  await tx.query('BEGIN');
  const rolledBack = await tx.query<{ id: string }>(
    `INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy, opened_on, state_from)
     VALUES ($1, $2, 7, 'USD', '2000-01-01', '2000-01-01') RETURNING id::text AS id`,
    [x.book.id, instrumentId],
  );
  await tx.query(
    `INSERT INTO valuation_result (position_id, portfolio_node_id, as_of_date, market_value, currency) VALUES ($1, $2, '2026-10-30', 1000, 'USD')`,
    [rolledBack.rows[0]!.id, x.book.id],
  );
  await tx.query('ROLLBACK');
  // The barrier: a committed rename of the book (STRUCTURE). It must be each subscriber's next event.
  await sql.query(`UPDATE portfolio_node SET name = 'Fleet X Book (renamed)' WHERE id = $1`, [x.book.id]);
  x.book.name = 'Fleet X Book (renamed)';
  const toFund = await fundOnA.change();
  expect(toFund).toMatchObject({ node: { id: x.fund.id, name: 'Fleet X Fund' }, kinds: ['STRUCTURE'] });
  const toBook = await bookOnB.change();
  expect(toBook).toMatchObject({ node: { id: x.book.id, name: 'Fleet X Book (renamed)' }, kinds: ['STRUCTURE'] });
  // A later committed valuation: the exposure counts it, and nothing of the rolled-back one.
  await sql.query(
    `INSERT INTO valuation_result (position_id, portfolio_node_id, as_of_date, market_value, currency) VALUES ($1, $2, '2026-10-31', 101, 'USD')`,
    [positionId, x.book.id],
  );
  const latest = await exposure.exposureUntil((e) => Number(e.total) !== Number(first.total) + 100);
  expect(Number(latest.total)).toBe(Number(first.total) + 101);
  expect(latest.unvaluedPositionCount).toBe(first.unvaluedPositionCount);
}, 90_000);

it('`npm run ingest` reaches an ingestionBatchProgress subscriber and a portfolioChanged subscriber', async () => {
  const file = join(tmp, 'fleet-positions.csv');
  const lines = ['nodeId,instrumentId,quantity,baseCurrency,marketValue,asOfDate'];
  for (let i = 1; i <= INGEST_ROWS; i++) lines.push(`${x.strategy.id},${instrumentId},${i},USD,${i}.25,2026-10-30`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  const key = `fleet-${randomUUID()}`;

  const onA = connect(a);
  const onB = connect(b);
  await Promise.all([onA.connected, onB.connected]);
  const fundOnA = new Stream(onA.client, 'A: portfolioChanged(X fund)', CHANGED, { n: x.fund.id });
  await warmUp(fundOnA);

  // The ingest's row transaction waits on this lock (its positions' foreign key to the node) until released.
  const release = await lockNode(x.strategy.id);
  const ingest = spawn('npm', ['run', '--silent', 'ingest', '--', 'positions', file, '--idempotency-key', key, '--source', 'fleet-ingest'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', DATABASE_URL: url },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  ingest.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  ingest.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => ingest.on('exit', (code) => resolve(code)));
  try {
    // The batch is committed VALIDATING before its rows' transaction begins.
    const batch = await waitFor('the ingest batch to be VALIDATING', async () => {
      if (ingest.exitCode !== null) throw new Error(`npm run ingest exited (${ingest.exitCode}) early: ${output}`);
      const { rows } = await sql.query<{ id: string; status: string }>(
        `SELECT id::text AS id, status::text AS status FROM ingestion_batch WHERE idempotency_key = $1`,
        [key],
      );
      return rows[0]?.status === 'VALIDATING' ? rows[0] : null;
    }, 90_000);
    const progress = new Stream(onB.client, 'B: ingestionBatchProgress', PROGRESS, { id: batch.id });
    const firstEvent = (await progress.data()).ingestionBatchProgress;
    expect(firstEvent).toEqual({ id: batch.id, status: 'VALIDATING', rowCount: 0, acceptedCount: 0, rejectedCount: 0 });
    // The ingest is inside its transaction, waiting for the lock: the batch cannot be finished yet.
    await waitFor('the ingest to wait on the node lock', async () => (await waitersOnLocks()) > 0);
    await release();

    const later: Record<string, any>[] = [];
    for (;;) {
      const result = await progress.next().catch((error: Error) => (progress.isEnded ? null : Promise.reject(error)));
      if (!result) break;
      expect(result.errors).toBeUndefined();
      later.push(result.data!.ingestionBatchProgress);
    }
    expect(await progress.ended).toEqual({});
    // Whatever happens meanwhile (one event per committed chunk, once the importer commits its progress),
    // the counts only grow and the last event is the finished batch.
    const final = later.at(-1);
    expect(final).toEqual({ id: batch.id, status: 'COMPLETED', rowCount: INGEST_ROWS, acceptedCount: INGEST_ROWS, rejectedCount: 0 });
    const between = later.slice(0, -1);
    for (const event of between) expect(event.status).toBe('VALIDATING');
    const counts = [0, ...between.map((e) => e.rowCount as number), INGEST_ROWS];
    expect(counts).toEqual([...counts].sort((p, q) => p - q));
    console.log(`npm run ingest: ${between.length} progress event(s) between VALIDATING and COMPLETED (row counts ${JSON.stringify(between.map((e) => e.rowCount))})`);

    // The rows' write reached the fund's watcher on the other instance: positions, then their valuations.
    expect(await fundOnA.change()).toMatchObject({ node: { id: x.fund.id }, kinds: ['POSITIONS'] });
    expect(await fundOnA.change()).toMatchObject({ node: { id: x.fund.id }, kinds: ['VALUATIONS'] });

    expect(await within('npm run ingest to exit', exited)).toBe(0);
    expect(output).toContain(`batch ${batch.id} POSITION_UPLOAD COMPLETED: ${INGEST_ROWS.toLocaleString('en')} rows`);
  } finally {
    if (ingest.exitCode === null) ingest.kill('SIGKILL');
  }
}, 150_000);

it('a subscriber of fund X hears nothing of writes to fund Y, whichever process makes them', async () => {
  const onA = connect(a);
  const onB = connect(b);
  await Promise.all([onA.connected, onB.connected]);
  const xOnA = new Stream(onA.client, 'A: portfolioChanged(X fund)', CHANGED, { n: x.fund.id });
  const xOnB = new Stream(onB.client, 'B: portfolioChanged(X fund)', CHANGED, { n: x.fund.id });
  const xDeskOnB = new Stream(onB.client, 'B: portfolioChanged(X desk)', CHANGED, { n: x.desk.id });
  const yOnB = new Stream(onB.client, 'B: portfolioChanged(Y fund)', CHANGED, { n: y.fund.id });
  await warmUp(xOnA, xOnB, xDeskOnB, yOnB);

  // Fund Y is written through A, through B and by a plain client (positions and valuations).
  expect((await openPosition(a, y.book.id)).errors).toBeUndefined();
  const upload = await gql(b, UPLOAD, { input: { sourceSystem: 'fleet-y', rows: uploadRows({ bookId: y.book.id, instrumentId }, 2) } });
  expect(upload.data?.uploadPositions).toMatchObject({ status: 'COMPLETED', acceptedCount: 2 });
  await sql.query(
    `INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy, opened_on, state_from) VALUES ($1, $2, 3, 'USD', '2000-01-01', '2000-01-01')`,
    [y.strategy.id, instrumentId],
  );
  // Y's watcher heard all of it.
  const toY: string[][] = [];
  for (let i = 0; i < 4; i++) {
    const change = await yOnB.change();
    expect(change.node.id).toBe(y.fund.id);
    toY.push(change.kinds);
  }
  expect(toY).toEqual([['POSITIONS'], ['POSITIONS'], ['VALUATIONS'], ['POSITIONS']]);

  // The barrier: a write to fund X of a kind Y's writes did not make (a rename of X's desk, STRUCTURE).
  // It must be each X watcher's first event.
  await sql.query(`UPDATE portfolio_node SET name = 'Fleet X Desk (renamed)' WHERE id = $1`, [x.desk.id]);
  x.desk.name = 'Fleet X Desk (renamed)';
  for (const [stream, node] of [[xOnA, x.fund], [xOnB, x.fund], [xDeskOnB, x.desk]] as const) {
    expect(await stream.change()).toMatchObject({ node: { id: node.id, name: node.name }, kinds: ['STRUCTURE'] });
  }
}, 90_000);

it('survives a database restart: the listeners reconnect, subscribers are told to refetch everything, later writes still arrive', async () => {
  const onA = connect(a);
  const onB = connect(b);
  await Promise.all([onA.connected, onB.connected]);
  const fundOnA = new Stream(onA.client, 'A: portfolioChanged(X fund)', CHANGED, { n: x.fund.id });
  const bookOnB = new Stream(onB.client, 'B: portfolioChanged(X book)', CHANGED, { n: x.book.id });
  const exposure = new Stream(onB.client, 'B: liveExposure(X fund)', EXPOSURE, { n: x.fund.id });
  const first = (await exposure.data<{ liveExposure: Exposure }>()).liveExposure;
  await warmUp(fundOnA, bookOnB);
  const logsFrom = new Map([a, b].map((main) => [main, main.logs.length]));
  const errorsBefore = new Map([a, b].map((main) => [main, errorsLogged(main).length]));

  // pg_ctl restart -m fast: an orderly stop (every session terminated), then a start.
  await cluster.stop('fast');
  for (const main of [a, b]) await logged(main, 'live listener lost its database connection', logsFrom.get(main));
  for (const main of [a, b]) {
    expect((await fetch(`${base(main)}/livez`)).status).toBe(200);
    expect((await fetch(`${base(main)}/readyz`)).status).toBe(503);
  }
  await cluster.start();
  for (const main of [a, b]) await logged(main, 'live listener listening again; subscribers told to refetch', logsFrom.get(main));

  // The resync: every kind, the node read again from the database that is back.
  const resyncA = await fundOnA.change();
  expect(resyncA.node.id).toBe(x.fund.id);
  expect([...resyncA.kinds].sort()).toEqual(ALL_KINDS);
  const resyncB = await bookOnB.change();
  expect(resyncB.node.id).toBe(x.book.id);
  expect([...resyncB.kinds].sort()).toEqual(ALL_KINDS);

  // A write after the restart, through B, reaches both instances' subscribers and the exposure.
  await waitFor('B to be ready again', async () => (await fetch(`${base(b)}/readyz`)).status === 200);
  const opened = await openPosition(b, x.book.id);
  expect(opened.errors).toBeUndefined();
  expect(await fundOnA.change()).toMatchObject({ node: { id: x.fund.id }, kinds: ['POSITIONS'] });
  expect(await bookOnB.change()).toMatchObject({ node: { id: x.book.id }, kinds: ['POSITIONS'] });
  // A computation that ran while the database was going (one was due after a warm-up notification, within
  // the 1 s throttle) was sent as an error: the client was told; it then gets the value again.
  const after = await exposure.exposureUntil(
    (e) => e.unvaluedPositionCount === first.unvaluedPositionCount + 1,
    (error) => error.message === 'The database is unavailable; retry shortly',
  );
  expect(Number(after.total)).toBe(Number(first.total));
  if (exposure.toleratedErrors.length > 0) console.log(`liveExposure sent ${exposure.toleratedErrors.length} error(s) during the restart: ${exposure.toleratedErrors.join('; ')}`);

  // Nobody was cut off, nothing crashed.
  expect(onA.isClosed()).toBe(false);
  expect(onB.isClosed()).toBe(false);
  for (const stream of [fundOnA, bookOnB, exposure]) expect(stream.isEnded).toBe(false);
  for (const main of [a, b]) {
    expect(alive(main)).toBe(true);
    expect(errorsLogged(main).slice(errorsBefore.get(main))).toEqual([]);
  }
}, 120_000);

it('on SIGTERM closes the WebSockets with 1001, finishes the HTTP request in flight and exits 0', async () => {
  const one = connect(a);
  const two = connect(a);
  const onB = connect(b);
  await Promise.all([one.connected, two.connected, onB.connected]);
  const changes = new Stream(one.client, 'A: portfolioChanged(X fund)', CHANGED, { n: x.fund.id });
  const exposure = new Stream(two.client, 'A: liveExposure(X fund)', EXPOSURE, { n: x.fund.id });
  const watcherOnB = new Stream(onB.client, 'B: portfolioChanged(X fund)', CHANGED, { n: x.fund.id });
  await exposure.data();
  await warmUp(changes, watcherOnB);

  // An HTTP request held in flight: its write waits for the test's lock on the node.
  const release = await lockNode(x.strategy.id);
  let settled = false;
  const inFlight = openPosition(a, x.strategy.id).finally(() => (settled = true));
  await waitFor('the HTTP request to wait on the node lock', async () => (await waitersOnLocks()) > 0);

  a.proc.kill('SIGTERM');
  const [closeOne, closeTwo] = await within('the WebSockets to close', Promise.all([one.closed, two.closed]));
  expect(closeOne.code).toBe(1001);
  expect(closeTwo.code).toBe(1001);
  expect((await changes.ended).error).toMatchObject({ code: 1001 });
  expect((await exposure.ended).error).toMatchObject({ code: 1001 });
  // The sockets closed while the request was still held by the lock.
  expect(settled).toBe(false);
  expect(alive(a)).toBe(true);
  await release();

  const result = await within('the HTTP request in flight', inFlight);
  expect(result.status).toBe(200);
  expect(result.errors).toBeUndefined();
  expect(result.data?.openPosition.id).toEqual(expect.any(String));
  expect(await within('instance A to exit', a.exited)).toBe(0);
  expect(a.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down: finishing in-flight requests', 'stopped']));
  expect(a.logs.some((l) => /grace period over/.test(l.msg))).toBe(false);

  // The write committed during the shutdown was announced: the other instance's subscriber hears it.
  expect(await watcherOnB.change()).toMatchObject({ node: { id: x.fund.id }, kinds: ['POSITIONS'] });
  expect(onB.isClosed()).toBe(false);
  expect(alive(b)).toBe(true);
}, 90_000);
