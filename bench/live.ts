// npm run bench:live -- [--exposure-subs 2000] [--changed-subs 2000] [--duration 60] [--server URL] ...
//
// Live-updates load benchmark (issue 13): many graphql-ws subscribers of
// `liveExposure` and `portfolioChanged` on ONE service instance while writes
// arrive at a steady rate, on loopback only, bounded in time (about 2.5 minutes
// with the defaults, seeding included).
//
// Three processes, all this file (the role is LIVEBENCH_ROLE):
//   - the bench (no role): creates and seeds the database, writes (uploads over
//     HTTP, valuations as another client of the database with plain SQL, or
//     with recordValuations), LISTENs to the database's own notifications
//     (the commit times of the writes), verifies and reports;
//   - the service (`server`): createServer + createLiveEvents as src/main.ts,
//     answering the bench's questions over IPC (process.cpuUsage, RSS, the
//     LiveHub's computation count, its subscribers);
//   - the subscribers (`clients`): graphql-ws clients on `ws`, recording the
//     receipt time of every event, the last liveExposure value and every error.
//
// Phases: seed -> service -> warm-up -> baseline (writes, no subscribers) ->
// subscribe -> idle -> window (writes, subscribers) -> settle -> verify ->
// report. See bench/README.md ("npm run bench:live") for what is measured.
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join, resolve } from 'node:path';
import { parseArgs, isDeepStrictEqual } from 'node:util';
import { Client, Pool } from 'pg';
import { createClient, type Client as WsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { databaseConfigFrom, loadConfig } from '../src/config';
import { openDatabase, type Database } from '../src/db/database';
import { migrate } from '../src/db/migrate';
import { createLiveEvents, LIVE_CHANNEL } from '../src/live/listener';
import { createLogger } from '../src/logger';
import { createServer } from '../src/server';
import { loadWorld } from '../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../src/services/seed/world';
import { withDatabase } from './lib/datasets';
import { graphql } from './lib/http';
import { machineInfo } from './lib/machine';

/**
 * The wall clock (epoch ms), the one clock every process of the machine shares: the service's committedAt is
 * read from it too. (performance.timeOrigin + performance.now() drifts from it by milliseconds per minute,
 * differently in each process.)
 */
const now = () => Date.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
const todayUtc = () => new Date().toISOString().slice(0, 10);

// ------------------------------------------------------------------ the GraphQL operations

const EXPOSURE_FIELDS = 'asOf currency total unvaluedPositionCount buckets { key label marketValue weight positionCount }';
const LIVE_EXPOSURE = `subscription LiveExposure($nodeId: ID!, $dimension: ExposureDimension!, $currency: Currency, $lookThrough: Boolean, $top: Int) {
  liveExposure(nodeId: $nodeId, dimension: $dimension, currency: $currency, lookThrough: $lookThrough, top: $top) { ${EXPOSURE_FIELDS} } }`;
const EXPOSURE_NOW = `query ExposureNow($nodeId: ID!, $dimension: ExposureDimension!, $asOf: Date!, $currency: Currency, $lookThrough: Boolean, $top: Int) {
  portfolioNode(id: $nodeId) { exposure(dimension: $dimension, asOf: $asOf, currency: $currency, lookThrough: $lookThrough, top: $top) { ${EXPOSURE_FIELDS} } } }`;
const changedQuery = (withNode: boolean) =>
  `subscription Changed($nodeId: ID!) { portfolioChanged(nodeId: $nodeId) { kinds committedAt${withNode ? ' node { id name }' : ''} } }`;
const UPLOAD = 'mutation Upload($input: PositionUploadInput!) { uploadPositions(input: $input) { id status acceptedCount rejectedCount } }';
const RECORD_VALUATIONS = 'mutation Valuations($input: [ValuationInput!]!) { recordValuations(input: $input) }';

type SubKind = 'exposure' | 'changed';

interface SubscriptionPlan {
  index: number;
  kind: SubKind;
  /** The watched node (liveExposure: the argument set's node). */
  nodeId: string;
  /** liveExposure: the argument set (index into the argument sets). */
  argSet: number | null;
  variables: Record<string, unknown>;
}

/** What the subscribers' process records per subscription. */
interface SubscriptionRecord {
  index: number;
  /** Receipt time of every event (epoch ms). */
  receipts: number[];
  /** portfolioChanged: each event's committedAt (epoch ms, the service's clock = this machine's). */
  committedAt: number[];
  /** liveExposure: the data of the last event. */
  last: unknown;
  /** Events that carried GraphQL errors, refusals, unexpected completions. */
  errors: string[];
}

interface ClientsResult {
  subscriptions: SubscriptionRecord[];
  closes: { code: number; reason: string }[];
  connectionErrors: string[];
  connections: number;
  cpuMs: number;
  /** Event-loop delay of the subscribers' process during the window (ms). */
  loop: { p50: number; p99: number; max: number };
}

// ------------------------------------------------------------------ role: the service

interface ServerStats {
  at: number;
  cpuMs: number;
  rss: number;
  heapUsed: number;
  /** Memory outside the JS heap (buffers, sockets' queued writes). */
  external: number;
  /** Event-loop delay since the last reset (ms): p50, p99, max. */
  loop: { p50: number; p99: number; max: number };
  computations: number;
  groups: number;
  exposureMembers: number;
  changedWatchers: number;
}

async function serverRole(): Promise<void> {
  const config = loadConfig();
  if (config.database.kind !== 'postgres') throw new Error('the live bench service needs DATABASE_URL');
  const logger = createLogger(config.logLevel);
  const db = await openDatabase(config.database, { logger });
  const live = await createLiveEvents(db, { kind: 'postgres', url: config.database.url, connectTimeoutMs: config.database.connectTimeoutMs }, { logger });
  const service = await createServer({ config, db, logger, live });
  const port = await service.listen(config.port, config.host);
  const hub = service.live!;
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const stats = (): ServerStats => {
    const cpu = process.cpuUsage();
    // The groups are private to LiveExposures: read for the bench's readiness check only.
    const groups = (hub.exposures as unknown as { groups: Map<string, { members: Set<unknown> }> }).groups;
    let exposureMembers = 0;
    for (const group of groups.values()) exposureMembers += group.members.size;
    const memory = process.memoryUsage();
    return {
      at: now(), cpuMs: (cpu.user + cpu.system) / 1000, rss: memory.rss, heapUsed: memory.heapUsed, external: memory.external,
      loop: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      computations: hub.exposures.computations, groups: hub.exposures.groupCount, exposureMembers, changedWatchers: hub.portfolio.size,
    };
  };
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const timer = setTimeout(() => process.exit(1), 15_000);
    timer.unref();
    await service.stop().catch(() => undefined);
    await live.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('message', (message: { type: string; id?: number; gc?: boolean }) => {
    // With gc: after a full collection (the service runs with --expose-gc), i.e. what is retained.
    if (message.gc) (globalThis as { gc?: () => void }).gc?.();
    if (message.type === 'stats') process.send!({ type: 'stats', id: message.id, stats: stats() });
    else if (message.type === 'resetLoop') loop.reset();
    else if (message.type === 'stop') void stop();
  });
  // The bench is gone (killed): do not outlive it.
  process.on('disconnect', () => void stop());
  process.send!({ type: 'listening', port });
}

// ------------------------------------------------------------------ role: the subscribers

async function clientsRole(): Promise<void> {
  const start = await new Promise<{ url: string; plan: SubscriptionPlan[]; perConnection: number; withNode: boolean }>((resolve) =>
    process.once('message', (message: { type: string } & Record<string, unknown>) => resolve(message as never)),
  );
  const cpu0 = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const records: SubscriptionRecord[] = start.plan.map((p) => ({ index: p.index, receipts: [], committedAt: [], last: null, errors: [] }));
  const closes: ClientsResult['closes'] = [];
  const connectionErrors: string[] = [];
  const clients: WsClient[] = [];
  let closing = false;
  const changed = changedQuery(start.withNode);

  // Each connection carries `perConnection` subscriptions, both kinds mixed (the plan alternates them).
  const groups: SubscriptionPlan[][] = [];
  for (let i = 0; i < start.plan.length; i += start.perConnection) groups.push(start.plan.slice(i, i + start.perConnection));

  const open = async (group: SubscriptionPlan[]) => {
    let connected!: () => void;
    const ready = new Promise<void>((resolve) => (connected = resolve));
    const client = createClient({
      url: start.url,
      webSocketImpl: WebSocket,
      lazy: false,
      retryAttempts: 0,
      onNonLazyError: (error) => {
        connectionErrors.push(describe(error));
        connected();
      },
      on: {
        connected: () => connected(),
        closed: (event) => {
          if (closing) return;
          const e = event as { code?: number; reason?: unknown };
          closes.push({ code: e.code ?? 0, reason: String(e.reason ?? '') });
          connected();
        },
      },
    });
    clients.push(client);
    await ready;
    for (const plan of group) {
      const record = records[plan.index]!;
      client.subscribe(
        { query: plan.kind === 'exposure' ? LIVE_EXPOSURE : changed, variables: plan.variables },
        {
          next: (result) => {
            const at = now();
            record.receipts.push(at);
            if (result.errors?.length) record.errors.push(`event with errors: ${result.errors.map((e) => e.message).join('; ').slice(0, 300)}`);
            if (plan.kind === 'exposure') record.last = result.data?.liveExposure ?? null;
            else {
              const committed = (result.data?.portfolioChanged as { committedAt?: string } | undefined)?.committedAt;
              record.committedAt.push(committed ? Date.parse(committed) : NaN);
            }
          },
          error: (error) => {
            if (!closing) record.errors.push(`subscription error: ${describe(error)}`);
          },
          complete: () => {
            if (!closing) record.errors.push('subscription completed by the service');
          },
        },
      );
    }
  };

  // Connections are opened a few dozen at a time, as a fleet of clients would arrive.
  const CONCURRENT_OPENS = 25;
  for (let i = 0; i < groups.length; i += CONCURRENT_OPENS) await Promise.all(groups.slice(i, i + CONCURRENT_OPENS).map(open));
  process.send!({ type: 'opened', connections: clients.length });

  process.on('message', async (message: { type: string }) => {
    if (message.type === 'firsts') {
      const firsts = start.plan.filter((p) => p.kind === 'exposure' && records[p.index]!.receipts.length > 0).length;
      const failed = records.filter((r) => r.errors.length > 0).length;
      process.send!({ type: 'firsts', firsts, failed, closes: closes.length });
    } else if (message.type === 'collect') {
      const cpu = process.cpuUsage(cpu0);
      const result: ClientsResult = {
        subscriptions: records, closes, connectionErrors, connections: clients.length, cpuMs: (cpu.user + cpu.system) / 1000,
        loop: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      };
      process.send!({ type: 'results', result });
    } else if (message.type === 'resetLoop') {
      loop.reset();
    } else if (message.type === 'exit') {
      closing = true;
      await Promise.all(clients.map((c) => c.dispose()));
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

function describe(error: unknown): string {
  if (Array.isArray(error)) return error.map((e) => describe(e)).join('; ');
  if (error instanceof Error) return error.message;
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; code?: unknown; reason?: unknown; extensions?: { code?: unknown } };
    if (typeof e.message === 'string') return `${e.message}${e.extensions?.code ? ` (${String(e.extensions.code)})` : ''}`;
    if (typeof e.code === 'number') return `socket closed ${e.code} ${String(e.reason ?? '')}`;
  }
  return String(error).slice(0, 300);
}

// ------------------------------------------------------------------ the bench: options

const USAGE = `npm run bench:live -- [options]
  database (one of; the first given wins):
    --database-url URL     use this database as it is (migrated, and seeded when empty); writes stay in it
    --server URL           an admin connection to a PostgreSQL server: a database livebench_<...> is created,
                           seeded, and dropped at the end (unless --keep); also BENCH_DATABASE_URL
    DATABASE_URL           as --database-url
  --positions N            positions to seed (20000)
  --exposure-subs N        liveExposure subscribers (2000)      --changed-subs N   portfolioChanged subscribers (2000)
  --arg-sets N             distinct liveExposure argument sets (20)
  --per-connection N       subscriptions per WebSocket connection (10; over 100 raises WS_MAX_SUBSCRIPTIONS)
  --duration S             write window with subscribers (60)   --baseline S   writes without subscribers first (10)
  --idle S                 subscribed, no writes, before the window (3)   --settle S   after the last write (5)
  --upload-rate R          uploads per second, all funds (2)    --upload-rows N     rows per upload (5)
  --valuation-rate R       valuation writes per second (2)      --valuation-rows N  valuations per write (5)
  --valuations sql|graphql valuations as another database client (sql) or with recordValuations (graphql)
  --books-per-fund N       books written per fund (3)
  --changed-node           portfolioChanged subscribers also select node { id name } (a read per event and subscriber)
  --wait-idle S            first wait up to S s for the 1-minute load average to fall below 60 % of the cores (0)
  --out DIR                report directory (bench/results/<YYYY-MM-DD>-live)
  --keep                   keep the created database`;

const { values: args } = parseArgs({
  options: {
    'database-url': { type: 'string' }, server: { type: 'string' }, positions: { type: 'string', default: '20000' },
    'exposure-subs': { type: 'string', default: '2000' }, 'changed-subs': { type: 'string', default: '2000' },
    'arg-sets': { type: 'string', default: '20' }, 'per-connection': { type: 'string', default: '10' },
    duration: { type: 'string', default: '60' }, baseline: { type: 'string', default: '10' }, idle: { type: 'string', default: '3' },
    settle: { type: 'string', default: '5' }, 'upload-rate': { type: 'string', default: '2' }, 'upload-rows': { type: 'string', default: '5' },
    'valuation-rate': { type: 'string', default: '2' }, 'valuation-rows': { type: 'string', default: '5' },
    valuations: { type: 'string', default: 'sql' }, 'books-per-fund': { type: 'string', default: '3' },
    'changed-node': { type: 'boolean', default: false }, 'wait-idle': { type: 'string', default: '0' }, out: { type: 'string' }, keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  args: process.env.LIVEBENCH_ROLE ? [] : process.argv.slice(2),
});

function num(name: keyof typeof args, min: number): number {
  const value = Number(args[name]);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}, got "${String(args[name])}"\n${USAGE}`);
  return value;
}

interface Options {
  positions: number;
  exposureSubs: number;
  changedSubs: number;
  argSets: number;
  perConnection: number;
  durationS: number;
  baselineS: number;
  idleS: number;
  settleS: number;
  uploadRate: number;
  uploadRows: number;
  valuationRate: number;
  valuationRows: number;
  valuations: 'sql' | 'graphql';
  booksPerFund: number;
  changedNode: boolean;
  waitIdleS: number;
  out: string;
}

function options(): Options {
  if (args.valuations !== 'sql' && args.valuations !== 'graphql') throw new Error(`--valuations must be sql or graphql\n${USAGE}`);
  const o: Options = {
    positions: num('positions', 1_000), exposureSubs: num('exposure-subs', 0), changedSubs: num('changed-subs', 0), argSets: num('arg-sets', 1),
    perConnection: num('per-connection', 1), durationS: num('duration', 1), baselineS: num('baseline', 0), idleS: num('idle', 0), settleS: num('settle', 2),
    uploadRate: num('upload-rate', 0), uploadRows: num('upload-rows', 1), valuationRate: num('valuation-rate', 0), valuationRows: num('valuation-rows', 1),
    valuations: args.valuations, booksPerFund: num('books-per-fund', 2), changedNode: args['changed-node']!, waitIdleS: num('wait-idle', 0),
    out: resolve(args.out ?? join(__dirname, 'results', `${todayUtc()}-live`)),
  };
  if (o.uploadRate + o.valuationRate <= 0) throw new Error('--upload-rate and --valuation-rate cannot both be 0');
  return o;
}

// ------------------------------------------------------------------ the bench: database and fixtures

interface Target {
  id: string;
  name: string;
  nodeType: string;
  fundId: string;
}

interface Fixtures {
  funds: Target[];
  /** Per fund: the books written (different desks where possible). */
  books: Map<string, Target[]>;
  /** Nodes watched: the funds, the desks of the written books, the written books. */
  targets: Target[];
  /** Each node's ancestors and itself. */
  lineage: Map<string, Set<string>>;
  /** Per book: active valued positions (for valuation writes) and instruments held (for uploads). */
  positions: Map<string, { id: string; currency: string }[]>;
  instruments: { id: string; currency: string }[];
}

async function prepareDatabase(o: Options, log: (line: string) => void): Promise<{ url: string; created: string | null; adminUrl: string | null; seedSeconds: number | null }> {
  const direct = args['database-url'] ?? (args.server || process.env.BENCH_DATABASE_URL ? undefined : process.env.DATABASE_URL);
  const adminUrl = direct ? null : args.server ?? process.env.BENCH_DATABASE_URL ?? null;
  if (!direct && !adminUrl) throw new Error(`no database: give --server (or BENCH_DATABASE_URL), --database-url or DATABASE_URL\n${USAGE}`);
  let url = direct!;
  let created: string | null = null;
  if (adminUrl) {
    created = `livebench_${Date.now().toString(36)}_${process.pid}`;
    const admin = new Client({ connectionString: adminUrl, application_name: 'pds-livebench-admin' });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${created}"`);
    } finally {
      await admin.end();
    }
    url = withDatabase(adminUrl, created);
    log(`created database ${created}`);
  }
  const db = await openDatabase(databaseConfigFrom({ DATABASE_URL: url, DB_STATEMENT_TIMEOUT_MS: '3600000', DB_POOL_MAX: '2' }));
  let seedSeconds: number | null = null;
  try {
    await migrate(db.sql);
    const [{ n }] = (await db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolio_node')) as [{ n: number }];
    if (n === 0) {
      const started = Date.now();
      log(`seeding ${o.positions.toLocaleString('en')} positions (seed 42, 3 funds)...`);
      await loadWorld(db.sql, buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: o.positions }));
      await db.sql.exec('VACUUM (ANALYZE)');
      seedSeconds = (Date.now() - started) / 1000;
      log(`seeded in ${seedSeconds.toFixed(0)} s`);
    } else log(`database already holds ${n} nodes: used as it is`);
  } finally {
    await db.close();
  }
  return { url, created, adminUrl, seedSeconds };
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new Client({ connectionString: adminUrl, application_name: 'pds-livebench-admin' });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

async function loadFixtures(db: Database, o: Options): Promise<Fixtures> {
  const nodes = await db.sql.query<{ id: string; name: string; node_type: string; parent_id: string | null; fund_id: string }>(
    `SELECT id::text, name, node_type::text, parent_id::text, fund_id::text FROM portfolio_node ORDER BY name, id`,
  );
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const target = (n: (typeof nodes)[number]): Target => ({ id: n.id, name: n.name, nodeType: n.node_type, fundId: n.fund_id });
  const lineage = new Map<string, Set<string>>();
  for (const n of nodes) {
    const set = new Set<string>();
    for (let at: (typeof nodes)[number] | undefined = n; at; at = at.parent_id ? byId.get(at.parent_id) : undefined) set.add(at.id);
    lineage.set(n.id, set);
  }
  const funds = nodes.filter((n) => n.parent_id === null).map(target);
  // Books holding valued active positions directly, one per desk first.
  const candidates = await db.sql.query<{ id: string; parent_id: string; fund_id: string; valued: number }>(
    `SELECT n.id::text, n.parent_id::text, n.fund_id::text, count(*)::int AS valued
     FROM portfolio_node n JOIN position p ON p.portfolio_node_id = n.id AND p.status = 'ACTIVE' AND p.latest_currency IS NOT NULL
     WHERE n.node_type = 'BOOK' GROUP BY n.id HAVING count(*) >= 5 ORDER BY count(*) DESC, n.id`,
  );
  const books = new Map<string, Target[]>();
  for (const fund of funds) {
    const mine = candidates.filter((c) => c.fund_id === fund.id);
    const picked: typeof mine = [];
    const desks = new Set<string>();
    for (const c of mine) if (picked.length < o.booksPerFund && !desks.has(c.parent_id)) (picked.push(c), desks.add(c.parent_id));
    for (const c of mine) if (picked.length < o.booksPerFund && !picked.includes(c)) picked.push(c);
    if (picked.length < 2) throw new Error(`fund ${fund.name} has fewer than 2 books with valued positions: seed more positions`);
    books.set(fund.id, picked.map((c) => target(byId.get(c.id)!)));
  }
  // Watched nodes, one level after the other, the funds interleaved: funds, desks, books.
  const rounds = Math.max(...[...books.values()].map((b) => b.length));
  const desksOf: Target[] = [];
  const booksOf: Target[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const fund of funds) {
      const book = books.get(fund.id)![r];
      if (!book) continue;
      booksOf.push(book);
      const desk = byId.get(byId.get(book.id)!.parent_id!)!;
      if (!desksOf.some((d) => d.id === desk.id)) desksOf.push(target(desk));
    }
  }
  const targets = [...funds, ...desksOf, ...booksOf];
  const positions = new Map<string, { id: string; currency: string }[]>();
  for (const book of [...books.values()].flat()) {
    positions.set(book.id, await db.sql.query<{ id: string; currency: string }>(
      `SELECT id::text, latest_currency AS currency FROM position
       WHERE portfolio_node_id = $1::uuid AND status = 'ACTIVE' AND latest_currency IS NOT NULL AND opened_on <= current_date ORDER BY id LIMIT 50`,
      [book.id],
    ));
  }
  const instruments = await db.sql.query<{ id: string; currency: string }>(
    `SELECT DISTINCT i.id::text, i.currency FROM instrument i JOIN position p ON p.instrument_id = i.id
     WHERE p.portfolio_node_id = ANY($1::uuid[]) ORDER BY 1 LIMIT 100`,
    [[...books.values()].flat().map((b) => b.id)],
  );
  return { funds, books, targets, lineage, positions, instruments };
}

// ------------------------------------------------------------------ the bench: processes

function forkRole(role: 'server' | 'clients', env: Record<string, string>, logFile: string | null): ChildProcess {
  const fd = logFile ? openSync(logFile, 'a') : null;
  const child = fork(__filename, [], {
    execArgv: [...(role === 'server' ? ['--max-semi-space-size=64', '--expose-gc'] : []), '--import', 'tsx'],
    env: { ...process.env, ...env, LIVEBENCH_ROLE: role },
    stdio: fd === null ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', fd, fd, 'ipc'],
    serialization: 'advanced',
  });
  if (fd !== null) closeSync(fd);
  return child;
}

function nextMessage<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (cleanup(), reject(new Error(`no "${type}" from the ${child.pid} child within ${timeoutMs} ms`))), timeoutMs);
    const onMessage = (message: { type: string }) => {
      if (message.type !== type) return;
      cleanup();
      resolve(message as T);
    };
    const onExit = (code: number | null) => (cleanup(), reject(new Error(`child ${child.pid} exited (${code}) before "${type}"`)));
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

let statsId = 0;
async function serverStats(server: ChildProcess, gc = false): Promise<ServerStats> {
  const id = ++statsId;
  const reply = nextMessage<{ stats: ServerStats; id: number }>(server, 'stats', 30_000);
  server.send({ type: 'stats', id, gc });
  return (await reply).stats;
}

function stopChild(child: ChildProcess, message: { type: string }, graceMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', (code) => (clearTimeout(timer), resolve(code)));
    if (child.connected) child.send(message);
    else child.kill('SIGTERM');
  });
}

// ------------------------------------------------------------------ the bench: writes

type Phase = 'warmup' | 'baseline' | 'window';

interface WriteRecord {
  phase: Phase;
  fundId: string;
  kind: 'upload' | 'valuation';
  nodeId: string;
  sentAt: number;
  /** The HTTP response arrived (upload, recordValuations) or COMMIT returned (SQL). */
  ackAt: number;
  /** The database's notification of this write reached the bench's own LISTEN session. */
  notifiedAt: number | null;
  /** The commit time used for latencies: min(ackAt, notifiedAt). */
  commitAt: number;
  ok: boolean;
  error?: string;
}

interface Notified {
  at: number;
  kinds: string[];
  fund: string;
  nodes: string[] | null;
}

class Writer {
  readonly writes: WriteRecord[] = [];
  readonly notifications: Notified[] = [];
  private readonly counters = new Map<string, { writes: number; uploads: number; valuations: number; positions: number }>();
  private probe: Client | null = null;
  private pool: Pool | null = null;
  behind = 0;

  constructor(private readonly url: string, private graphqlUrl: string, private readonly fixtures: Fixtures, private readonly o: Options) {}

  set endpoint(url: string) {
    this.graphqlUrl = url;
  }

  async start(): Promise<void> {
    // The bench's own ear on the database: each write's notification, timed as the service's listener gets it.
    this.probe = new Client({ connectionString: this.url, application_name: 'pds-livebench-probe' });
    await this.probe.connect();
    this.probe.on('notification', (message) => {
      const at = now();
      try {
        const p = JSON.parse(message.payload ?? '') as { k?: string | string[]; f?: string[]; n?: string[] | null };
        if (!p.k || !p.f || p.f.length !== 1) return;
        this.notifications.push({ at, kinds: Array.isArray(p.k) ? p.k : [p.k], fund: p.f[0]!, nodes: p.n ?? null });
      } catch {
        // not ours
      }
    });
    await this.probe.query(`LISTEN ${LIVE_CHANNEL}`);
    // "Another client of the database": the valuation writer's own connections, one per fund.
    this.pool = new Pool({ connectionString: this.url, max: this.fixtures.funds.length, application_name: 'pds-livebench-writer' });
  }

  async close(): Promise<void> {
    await this.probe?.end().catch(() => undefined);
    await this.pool?.end().catch(() => undefined);
  }

  /** One writer per fund, each at (upload + valuation rate) / funds, its writes one after the other; until `end`. */
  async run(phase: Phase, seconds: number): Promise<void> {
    const funds = this.fixtures.funds;
    const perFund = (this.o.uploadRate + this.o.valuationRate) / funds.length;
    const interval = 1000 / perFund;
    const started = now();
    const end = started + seconds * 1000;
    await Promise.all(funds.map(async (fund, f) => {
      // Staggered: the funds' writes are spread over the interval.
      let next = started + (interval * f) / funds.length;
      while (next < end) {
        await sleep(next - now());
        await this.writeOnce(phase, fund.id);
        next += interval;
        if (next < now()) {
          this.behind++;
          next = now();
        }
      }
    }));
  }

  async writeOnce(phase: Phase, fundId: string): Promise<WriteRecord> {
    let c = this.counters.get(fundId);
    if (!c) this.counters.set(fundId, (c = { writes: 0, uploads: 0, valuations: 0, positions: 0 }));
    const share = this.o.uploadRate / (this.o.uploadRate + this.o.valuationRate);
    // Uploads and valuations interleaved in their ratio (Bresenham); consecutive writes of a fund name different books.
    const kind = Math.floor((c.writes + 1) * share) > Math.floor(c.writes * share) ? 'upload' : 'valuation';
    const books = this.fixtures.books.get(fundId)!;
    const book = books[c.writes % books.length]!;
    c.writes++;
    const record: WriteRecord = { phase, fundId, kind, nodeId: book.id, sentAt: now(), ackAt: 0, notifiedAt: null, commitAt: 0, ok: false };
    try {
      if (kind === 'upload') await this.upload(book.id, c.uploads++);
      else if (this.o.valuations === 'sql') await this.valuationsSql(book.id, c);
      else await this.valuationsGraphql(book.id, c);
      record.ok = true;
    } catch (error) {
      record.error = describe(error);
    }
    record.ackAt = record.commitAt = now();
    this.writes.push(record);
    return record;
  }

  private async upload(bookId: string, n: number): Promise<void> {
    const today = todayUtc();
    const instruments = this.fixtures.instruments;
    const rows = Array.from({ length: this.o.uploadRows }, (_, i) => {
      const instrument = instruments[(n * this.o.uploadRows + i) % instruments.length]!;
      return {
        nodeId: bookId, instrumentId: instrument.id, quantity: `${100 + ((n * 7 + i) % 900)}`, baseCurrency: instrument.currency,
        marketValue: `${(1_000 + ((n * 7919 + i * 104_729) % 1_000_000)).toFixed(0)}.25`, asOfDate: today,
      };
    });
    const input = { sourceSystem: 'livebench', idempotencyKey: `livebench-${randomUUID()}`, rows };
    const { data } = await graphql<{ uploadPositions: { status: string; acceptedCount: number } }>(this.graphqlUrl, UPLOAD, { input });
    if (data.uploadPositions.status !== 'COMPLETED') throw new Error(`upload ${data.uploadPositions.status}`);
  }

  private valuationRows(bookId: string, c: { positions: number }) {
    const positions = this.fixtures.positions.get(bookId)!;
    const today = todayUtc();
    return Array.from({ length: Math.min(this.o.valuationRows, positions.length) }, () => {
      const p = positions[c.positions++ % positions.length]!;
      return { positionId: p.id, asOfDate: today, marketValue: `${(10_000 + ((c.positions * 15_485_863) % 5_000_000)).toFixed(0)}.5`, currency: p.currency };
    });
  }

  private async valuationsGraphql(bookId: string, c: { positions: number }): Promise<void> {
    await graphql(this.graphqlUrl, RECORD_VALUATIONS, { input: this.valuationRows(bookId, c) });
  }

  /** The statements of recordValuations (src/services/portfolio/positionWrites.ts), from another client. */
  private async valuationsSql(bookId: string, c: { positions: number }): Promise<void> {
    const rows = this.valuationRows(bookId, c);
    const params = [rows.map((r) => r.positionId), rows.map((r) => r.asOfDate), rows.map((r) => r.marketValue), rows.map((r) => r.currency)];
    const client = await this.pool!.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `UPDATE valuation_result v SET superseded_at = superseding_stamp(v.recorded_at), updated_at = now()
         FROM unnest($1::uuid[], $2::date[], $3::numeric[], $4::text[]) AS u (pid, d, mv, ccy)
         WHERE v.position_id = u.pid AND v.as_of_date = u.d AND v.superseded_at IS NULL AND (v.market_value <> u.mv OR v.currency <> u.ccy)`,
        params,
      );
      await client.query(
        `INSERT INTO valuation_result (position_id, portfolio_node_id, as_of_date, market_value, currency)
         SELECT u.pid, p.portfolio_node_id, u.d, u.mv, u.ccy
         FROM unnest($1::uuid[], $2::date[], $3::numeric[], $4::text[]) AS u (pid, d, mv, ccy) JOIN position p ON p.id = u.pid
         WHERE NOT EXISTS (SELECT 1 FROM valuation_result v WHERE v.position_id = u.pid AND v.as_of_date = u.d AND v.superseded_at IS NULL)`,
        params,
      );
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Each write's notification: the first one of its fund naming its book, of its kind (POSITIONS for an
   * upload, VALUATIONS for valuations), that reached the probe after the write was sent. A fund's writes
   * never overlap and consecutive ones name different books, so the match is unambiguous.
   */
  matchNotifications(): void {
    const byFund = new Map<string, Notified[]>();
    for (const n of this.notifications) {
      let list = byFund.get(n.fund);
      if (!list) byFund.set(n.fund, (list = []));
      list.push(n);
    }
    for (const w of this.writes) {
      if (!w.ok) continue;
      const kind = w.kind === 'upload' ? 'POSITIONS' : 'VALUATIONS';
      const hit = byFund.get(w.fundId)?.find((n) => n.at >= w.sentAt && n.kinds.includes(kind) && (n.nodes === null || n.nodes.includes(w.nodeId)));
      if (hit && hit.at <= w.ackAt + 5_000) {
        w.notifiedAt = hit.at;
        w.commitAt = Math.min(w.ackAt, hit.at);
      }
    }
  }
}

// ------------------------------------------------------------------ the bench: analysis

const percentile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN);

interface LatencyStats {
  events: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

function latencyStats(samples: number[]): LatencyStats {
  const sorted = Float64Array.from(samples).sort();
  const list = Array.from(sorted);
  const mean = list.reduce((s, v) => s + v, 0) / Math.max(1, list.length);
  return { events: list.length, p50: percentile(list, 0.5), p90: percentile(list, 0.9), p99: percentile(list, 0.99), max: list.length ? list[list.length - 1]! : NaN, mean };
}

/** The latest element of `sorted` (ascending commitAt) at or before t; binary search. */
function latestBefore(sorted: WriteRecord[], t: number): WriteRecord | null {
  let lo = 0;
  let hi = sorted.length - 1;
  let found: WriteRecord | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]!.commitAt <= t) (found = sorted[mid]!), (lo = mid + 1);
    else hi = mid - 1;
  }
  return found;
}

/**
 * The computations LiveExposures should make for a group whose fund got changes at `times` (sorted): a
 * change schedules one at max(change, last run + 1 s) unless one is already scheduled (the throttle of
 * src/live/exposures.ts, the computation's own duration neglected).
 */
function throttledWindows(times: number[], intervalMs = 1_000): number {
  let lastRun = -Infinity;
  let scheduled = -Infinity;
  let count = 0;
  for (const t of times) {
    if (t <= scheduled) continue;
    scheduled = lastRun = Math.max(t, lastRun + intervalMs);
    count++;
  }
  return count;
}

/**
 * One subscription per argument set and one portfolioChanged, through one write, then gone: the service's
 * subscription and event paths are compiled and its fixed structures allocated before anything is measured.
 */
async function warmSubscriptions(url: string, argSets: Record<string, unknown>[], fixtures: Fixtures, o: Options, writer: Writer): Promise<void> {
  const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, onNonLazyError: () => undefined });
  try {
    const fund = fixtures.funds[0]!;
    let firsts = 0;
    let changed = 0;
    const failures: string[] = [];
    const sink = (onNext: () => void) => ({ next: onNext, error: (e: unknown) => failures.push(describe(e)), complete: () => undefined });
    for (const variables of argSets) client.subscribe({ query: LIVE_EXPOSURE, variables }, sink(() => firsts++));
    client.subscribe({ query: changedQuery(o.changedNode), variables: { nodeId: fund.id } }, sink(() => changed++));
    const until = async (done: () => boolean, ms: number) => {
      const end = now() + ms;
      while (!done() && failures.length === 0 && now() < end) await sleep(50);
    };
    await until(() => firsts >= argSets.length, 60_000);
    await sleep(200);
    await writer.writeOnce('warmup', fund.id);
    await until(() => changed > 0, 10_000);
    if (failures.length) throw new Error(`warm-up subscriptions failed: ${failures[0]}`);
  } finally {
    await client.dispose();
  }
}

// ------------------------------------------------------------------ the bench: main

async function waitIdle(seconds: number, log: (line: string) => void): Promise<void> {
  const cores = os.cpus().length;
  const end = now() + seconds * 1000;
  if (os.loadavg()[0]! < 0.6 * cores) return;
  log(`waiting up to ${seconds} s for the load average (${os.loadavg()[0]!.toFixed(2)}) to fall below ${(0.6 * cores).toFixed(1)}`);
  while (now() < end && os.loadavg()[0]! >= 0.6 * cores) await sleep(2_000);
}

async function main(): Promise<void> {
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const o = options();
  const startedAt = new Date();
  const t0 = now();
  const log = (line: string) => console.log(`[${((now() - t0) / 1000).toFixed(1).padStart(5)} s] ${line}`);
  if (o.waitIdleS > 0) await waitIdle(o.waitIdleS, log);
  const loadAtStart = os.loadavg()[0]!;
  const database = await prepareDatabase(o, log);
  let server: ChildProcess | null = null;
  let clients: ChildProcess | null = null;
  let writer: Writer | null = null;
  const cleanup = async () => {
    if (clients) await stopChild(clients, { type: 'exit' }, 10_000);
    if (server) await stopChild(server, { type: 'stop' }, 20_000);
    await writer?.close();
    if (database.created && database.adminUrl && !args.keep) {
      await dropDatabase(database.adminUrl, database.created).catch((e: unknown) => console.error(`could not drop ${database.created}: ${describe(e)}`));
      log(`dropped database ${database.created}`);
    } else if (database.created) log(`kept database ${database.created} (${database.url})`);
  };
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
    console.error('interrupted: cleaning up');
    void cleanup().finally(() => process.exit(130));
  });
  try {
    const fixtures = await (async () => {
      const db = await openDatabase(databaseConfigFrom({ DATABASE_URL: database.url, DB_POOL_MAX: '2' }));
      try {
        return await loadFixtures(db, o);
      } finally {
        await db.close();
      }
    })();
    mkdirSync(o.out, { recursive: true });
    const logFile = join(o.out, 'service.log');
    writeFileSync(logFile, '');
    server = forkRole('server', {
      DATABASE_URL: database.url, PORT: '0', HOST: '127.0.0.1', AUTH_MODE: 'off', NODE_ENV: 'development', LOG_LEVEL: 'info',
      MIGRATE_ON_START: 'false', SEED_DEMO: 'false', WS_MAX_SUBSCRIPTIONS: String(Math.max(100, o.perConnection)),
    }, logFile);
    const { port } = await nextMessage<{ port: number }>(server, 'listening', 60_000);
    const httpUrl = `http://127.0.0.1:${port}/graphql`;
    log(`service pid ${server.pid} on ${httpUrl} (log: ${logFile})`);

    // ---- argument sets and the subscription plan
    const dims: { dimension: string; top: number | null }[] = [{ dimension: 'ISSUER', top: 10 }, { dimension: 'SECTOR', top: null }, { dimension: 'CURRENCY', top: null }];
    const argSets = fixtures.targets.flatMap((t) => dims.map((d) => ({ node: t, variables: { nodeId: t.id, dimension: d.dimension, currency: 'USD', lookThrough: false, top: d.top } }))).slice(0, o.argSets);
    if (argSets.length < o.argSets) log(`only ${argSets.length} argument sets available (${fixtures.targets.length} nodes x ${dims.length} dimensions)`);
    const plan: SubscriptionPlan[] = [];
    const total = o.exposureSubs + o.changedSubs;
    let e = 0;
    let ch = 0;
    for (let i = 0; i < total; i++) {
      // Alternate the kinds in their ratio, so that every connection carries both.
      const wantExposure = e < o.exposureSubs && (ch >= o.changedSubs || e * o.changedSubs <= ch * o.exposureSubs);
      if (wantExposure) {
        const a = e++ % argSets.length;
        plan.push({ index: i, kind: 'exposure', nodeId: argSets[a]!.node.id, argSet: a, variables: argSets[a]!.variables });
      } else {
        const node = fixtures.targets[ch++ % fixtures.targets.length]!;
        plan.push({ index: i, kind: 'changed', nodeId: node.id, argSet: null, variables: { nodeId: node.id } });
      }
    }

    // ---- warm-up (code paths, analytics cache) and the baseline: writes without subscribers
    writer = new Writer(database.url, httpUrl, fixtures, o);
    await writer.start();
    const today = todayUtc();
    for (const fund of fixtures.funds) for (let i = 0; i < 2; i++) await writer.writeOnce('warmup', fund.id);
    for (const a of argSets) await graphql(httpUrl, EXPOSURE_NOW, { ...a.variables, asOf: today });
    await warmSubscriptions(httpUrl.replace(/^http/, 'ws'), argSets.map((a) => a.variables), fixtures, o, writer);
    log(`warm-up done; baseline: ${o.baselineS} s of writes without subscribers`);
    const base0 = await serverStats(server);
    if (o.baselineS > 0) await writer.run('baseline', o.baselineS);
    const base1 = await serverStats(server);
    const retainedBefore = await serverStats(server, true);

    // ---- subscribe
    log(`subscribing ${o.exposureSubs} liveExposure (${argSets.length} argument sets) + ${o.changedSubs} portfolioChanged, ${o.perConnection} per connection`);
    const sub0 = await serverStats(server);
    clients = forkRole('clients', {}, null);
    clients.send({ type: 'start', url: httpUrl.replace(/^http/, 'ws'), plan, perConnection: o.perConnection, withNode: o.changedNode });
    const opened = await nextMessage<{ connections: number }>(clients, 'opened', 300_000);
    let ready = false;
    const subscribeDeadline = now() + 120_000;
    let stats = sub0;
    while (now() < subscribeDeadline) {
      const reply = nextMessage<{ firsts: number; failed: number; closes: number }>(clients, 'firsts', 30_000);
      clients.send({ type: 'firsts' });
      const firsts = await reply;
      stats = await serverStats(server);
      if (firsts.firsts + firsts.failed >= o.exposureSubs && stats.changedWatchers + firsts.failed >= o.changedSubs && stats.exposureMembers + firsts.failed >= o.exposureSubs) {
        ready = firsts.failed === 0 && firsts.closes === 0;
        break;
      }
      await sleep(200);
    }
    const sub1 = await serverStats(server);
    const retainedSubscribed = await serverStats(server, true);
    log(`${opened.connections} connections, ${sub1.exposureMembers} liveExposure members in ${sub1.groups} groups, ${sub1.changedWatchers} portfolioChanged watchers` +
      ` in ${((sub1.at - sub0.at) / 1000).toFixed(1)} s${ready ? '' : ' (NOT all subscribed: see errors)'}`);

    // ---- idle, then the window
    if (o.idleS > 0) await sleep(o.idleS * 1000);
    const idle1 = await serverStats(server);
    log(`window: ${o.durationS} s of writes (${o.uploadRate} uploads/s x ${o.uploadRows} rows, ${o.valuationRate} valuation writes/s x ${o.valuationRows} via ${o.valuations})`);
    server.send({ type: 'resetLoop' });
    clients.send({ type: 'resetLoop' });
    const loadAtWindow = os.loadavg()[0]!;
    const samples: ServerStats[] = [idle1];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await sleep(1000);
        if (sampling) samples.push(await serverStats(server!));
      }
    })();
    const windowStart = now();
    await writer.run('window', o.durationS);
    const windowEnd = now();
    const win1 = await serverStats(server);
    log(`writes stopped; settling ${o.settleS} s`);
    await sleep(o.settleS * 1000);
    sampling = false;
    await sampler;
    const settle1 = await serverStats(server);

    // ---- collect and verify
    const resultsReply = nextMessage<{ result: ClientsResult }>(clients, 'results', 120_000);
    clients.send({ type: 'collect' });
    const clientsResult = (await resultsReply).result;
    writer.matchNotifications();
    const verifyAt = todayUtc();
    const fresh: unknown[] = [];
    const httpErrors: string[] = [];
    for (const a of argSets) {
      try {
        const { data } = await graphql<{ portfolioNode: { exposure: unknown } }>(httpUrl, EXPOSURE_NOW, { ...a.variables, asOf: verifyAt });
        fresh.push(data.portfolioNode.exposure);
      } catch (error) {
        httpErrors.push(`verification query: ${describe(error)}`);
        fresh.push(undefined);
      }
    }
    const final = await serverStats(server);
    const retainedEnd = await serverStats(server, true);

    const report = analyse({
      o, database, fixtures, argSets, plan, writer, clientsResult, fresh, httpErrors, ready, opened: opened.connections,
      windowStart, windowEnd, stats: { base0, base1, sub0, sub1, idle1, win1, settle1, final, samples, retainedBefore, retainedSubscribed, retainedEnd },
      startedAt, dayChanged: today !== verifyAt, port, loadAtWindow, loadAtStart,
    });
    const machine = await machineInfo(database.adminUrl ?? database.url).catch(() => null);
    const full = { ...report, machine, loadAverage: os.loadavg(), totalSeconds: (now() - t0) / 1000 };
    writeFileSync(join(o.out, 'report.json'), `${JSON.stringify(full, null, 2)}\n`);
    const markdown = renderMarkdown(full);
    writeFileSync(join(o.out, 'report.md'), markdown);
    console.log(`\n${renderTable(full)}`);
    console.log(`\nreport: ${join(o.out, 'report.md')} and report.json; service log: ${logFile}`);
    process.exitCode = full.goals.met ? 0 : 1;
  } finally {
    if (!interrupted) await cleanup();
  }
}

// ------------------------------------------------------------------ the figures

interface AnalyseInput {
  o: Options;
  database: { url: string; created: string | null; seedSeconds: number | null };
  fixtures: Fixtures;
  argSets: { node: Target; variables: Record<string, unknown> }[];
  plan: SubscriptionPlan[];
  writer: Writer;
  clientsResult: ClientsResult;
  fresh: unknown[];
  httpErrors: string[];
  ready: boolean;
  opened: number;
  windowStart: number;
  windowEnd: number;
  stats: Record<'base0' | 'base1' | 'sub0' | 'sub1' | 'idle1' | 'win1' | 'settle1' | 'final' | 'retainedBefore' | 'retainedSubscribed' | 'retainedEnd', ServerStats> & { samples: ServerStats[] };
  startedAt: Date;
  dayChanged: boolean;
  port: number;
  loadAtWindow: number;
  loadAtStart: number;
}

function nodeLabel(fixtures: Fixtures, id: string): string {
  const t = fixtures.targets.find((x) => x.id === id);
  const fund = t && fixtures.funds.find((x) => x.id === t.fundId);
  return t ? `${t.nodeType} ${t.name}${t.nodeType === 'FUND' || !fund ? '' : ` of ${fund.name}`}` : id;
}

function analyse(input: AnalyseInput) {
  const { o, fixtures, plan, writer, clientsResult, stats } = input;
  const windowWrites = writer.writes.filter((w) => w.phase === 'window');
  const okWrites = windowWrites.filter((w) => w.ok).sort((a, b) => a.commitAt - b.commitAt);
  // Writes that concern a node: those whose book is in the node's subtree.
  const relevantCache = new Map<string, WriteRecord[]>();
  const relevant = (nodeId: string) => {
    let list = relevantCache.get(nodeId);
    if (!list) relevantCache.set(nodeId, (list = okWrites.filter((w) => fixtures.lineage.get(w.nodeId)?.has(nodeId))));
    return list;
  };
  const latencies: Record<SubKind, number[]> = { exposure: [], changed: [] };
  /** portfolioChanged: commit -> the service's listener (its committedAt), and committedAt -> receipt. */
  const toListener: number[] = [];
  const listenerToClient: number[] = [];
  const slowest: { latency: number; line: string }[] = [];
  let beforeAck = 0;
  let unattributed = 0;
  let windowEvents = 0;
  const lost: string[] = [];
  const subscriptionErrors: string[] = [];
  let changedExpected = 0;
  let changedReceived = 0;
  for (const p of plan) {
    const record = clientsResult.subscriptions[p.index]!;
    for (const error of record.errors) subscriptionErrors.push(`#${p.index} ${p.kind} ${p.nodeId}: ${error}`);
    const writes = relevant(p.nodeId);
    record.receipts.forEach((r, i) => {
      if (p.kind === 'exposure' && i === 0) return; // the value sent at subscribe
      if (r < input.windowStart) return;
      windowEvents++;
      const w = latestBefore(writes, r);
      if (!w) {
        unattributed++;
        return;
      }
      if (r < w.ackAt) beforeAck++;
      const latency = r - w.commitAt;
      latencies[p.kind].push(latency);
      const committed = p.kind === 'changed' ? record.committedAt[i]! : NaN;
      if (Number.isFinite(committed)) {
        toListener.push(committed - w.commitAt);
        listenerToClient.push(r - committed);
      }
      if (slowest.length < 10 || latency > slowest[slowest.length - 1]!.latency) {
        const args = p.kind === 'exposure' ? ` ${String(input.argSets[p.argSet!]!.variables.dimension)}` : '';
        slowest.push({
          latency,
          line: `${Math.round(latency)} ms: ${p.kind === 'exposure' ? 'liveExposure' : 'portfolioChanged'} #${p.index} (${nodeLabel(fixtures, p.nodeId)}${args}) ` +
            `received ${((r - input.windowStart) / 1000).toFixed(2)} s into the window, after a ${w.kind} to ${nodeLabel(fixtures, w.nodeId)} ` +
            `(sent ${f0(w.commitAt - w.sentAt)} ms before its commit; answer ${f0(w.ackAt - w.commitAt)} ms and the bench's LISTEN ${w.notifiedAt === null ? '–' : f0(w.notifiedAt - w.commitAt)} ms after it)` +
            (Number.isFinite(committed) ? `; the service's listener had it ${Math.round(committed - w.commitAt)} ms after the commit` : ''),
        });
        slowest.sort((a, b) => b.latency - a.latency);
        slowest.length = Math.min(slowest.length, 10);
      }
    });
    const last = writes.reduce<WriteRecord | null>((latest, w) => (!latest || w.sentAt > latest.sentAt ? w : latest), null);
    if (p.kind === 'changed') {
      changedExpected += writes.length;
      changedReceived += record.receipts.filter((r) => r >= input.windowStart).length;
      // Lost: no event announcing a commit at or after the last relevant write was sent (5 ms for the ISO rounding).
      if (last && !record.committedAt.some((c, i) => c >= last.sentAt - 5 && record.receipts[i]! >= last.commitAt)) {
        const lastCommitted = Math.max(...record.committedAt.filter(Number.isFinite));
        lost.push(`portfolioChanged #${p.index} on ${nodeLabel(fixtures, p.nodeId)}: no event after the last write to its subtree (${last.kind} to ${nodeLabel(fixtures, last.nodeId)}, ` +
          `sent ${f0(last.sentAt - input.windowStart)} ms into the window, committed ${f0(last.commitAt - last.sentAt)} ms later); ${record.receipts.length} events, the latest committedAt ${f0(lastCommitted - input.windowStart)} ms into the window`);
      }
    } else {
      const expected = input.fresh[p.argSet!];
      if (expected === undefined) lost.push(`liveExposure #${p.index}: no fresh answer to compare with`);
      else if (!isDeepStrictEqual(record.last, expected)) {
        lost.push(`liveExposure #${p.index} (${JSON.stringify(input.argSets[p.argSet!]!.variables)}): last event differs from a fresh exposure query (${record.receipts.length} events)`);
      }
    }
  }
  const all = [...latencies.exposure, ...latencies.changed];
  // Computations: LiveExposures' count during the window and the settling pause, against the throttled change
  // windows of each argument set (a change to its fund dirties it), against one per subscriber.
  const computations = stats.settle1.computations - stats.idle1.computations;
  let expectedWindows = 0;
  let subtreeWindows = 0;
  let perSubscriber = 0;
  for (const [a, set] of input.argSets.entries()) {
    const members = plan.filter((p) => p.argSet === a).length;
    if (members === 0) continue;
    const times = okWrites.filter((w) => w.fundId === set.node.fundId).map((w) => w.notifiedAt ?? w.commitAt).sort((x, y) => x - y);
    const windows = throttledWindows(times);
    expectedWindows += windows;
    perSubscriber += windows * members;
    // Had only writes to the node's own subtree dirtied it (the others cannot change its answer).
    subtreeWindows += throttledWindows(relevant(set.node.id).map((w) => w.notifiedAt ?? w.commitAt).sort((x, y) => x - y));
  }
  const subs = o.exposureSubs + o.changedSubs;
  const thousands = subs / 1000;
  const cpuRate = (a: ServerStats, b: ServerStats) => ((b.cpuMs - a.cpuMs) / (b.at - a.at)) * 1000;
  const baselineCpu = o.baselineS > 0 ? cpuRate(stats.base0, stats.base1) : NaN;
  const windowCpu = cpuRate(stats.idle1, stats.win1);
  // From after the forced collection of the 'subscribed' heap reading, so that it is not counted as idle work.
  const idleCpu = cpuRate(stats.retainedSubscribed, stats.idle1);
  const peakRss = Math.max(...stats.samples.map((s) => s.rss), stats.win1.rss, stats.settle1.rss);
  const mb = (bytes: number) => bytes / 1048576;
  const writeDurations = (kind: WriteRecord['kind']) => latencyStats(windowWrites.filter((w) => w.ok && w.kind === kind).map((w) => w.ackAt - w.sentAt));
  const baselineWrites = (kind: WriteRecord['kind']) => latencyStats(writer.writes.filter((w) => w.phase === 'baseline' && w.ok && w.kind === kind).map((w) => w.ackAt - w.sentAt));
  const peakHeap = Math.max(...stats.samples.map((s) => s.heapUsed), stats.win1.heapUsed);
  const peakExternal = Math.max(...stats.samples.map((s) => s.external), stats.win1.external);
  const writeErrors = writer.writes.filter((w) => !w.ok).map((w) => `${w.phase} ${w.kind} ${w.nodeId}: ${w.error}`);
  const closes = clientsResult.closes.map((c) => `connection closed ${c.code} ${c.reason}`);
  const errorCount = subscriptionErrors.length + closes.length + clientsResult.connectionErrors.length + writeErrors.length + input.httpErrors.length + (input.ready ? 0 : 1);
  const latency = { all: latencyStats(all), liveExposure: latencyStats(latencies.exposure), portfolioChanged: latencyStats(latencies.changed) };
  const goals = {
    p99Under1s: latency.all.events > 0 && latency.all.p99 < 1000,
    noneLost: lost.length === 0,
    noErrors: errorCount === 0,
    computationsPerArgumentSet: computations <= expectedWindows * 1.1 + input.argSets.length,
    met: false,
  };
  goals.met = goals.p99Under1s && goals.noneLost && goals.noErrors && goals.computationsPerArgumentSet;
  return {
    startedAt: input.startedAt.toISOString(),
    options: o,
    database: { created: input.database.created, seedSeconds: input.database.seedSeconds, positions: o.positions },
    workload: {
      subscribers: subs, liveExposure: o.exposureSubs, portfolioChanged: o.changedSubs, connections: input.opened,
      argumentSets: input.argSets.map((a) => ({ node: `${a.node.nodeType} ${a.node.name}`, dimension: a.variables.dimension as string, top: a.variables.top as number | null, currency: a.variables.currency as string })),
      watchedNodes: fixtures.targets.map((t) => `${t.nodeType} ${t.name}`),
      writtenBooks: [...fixtures.books.values()].flat().map((b) => b.name),
      portfolioChangedSelection: o.changedNode ? 'kinds committedAt node { id name }' : 'kinds committedAt',
    },
    writes: {
      window: windowWrites.length, ok: windowWrites.filter((w) => w.ok).length,
      uploads: windowWrites.filter((w) => w.kind === 'upload').length, valuations: windowWrites.filter((w) => w.kind === 'valuation').length,
      perSecond: windowWrites.length / ((input.windowEnd - input.windowStart) / 1000),
      matchedNotifications: okWrites.filter((w) => w.notifiedAt !== null).length,
      writerFellBehind: writer.behind,
      uploadMs: writeDurations('upload'), valuationMs: writeDurations('valuation'),
      baselineUploadMs: baselineWrites('upload'), baselineValuationMs: baselineWrites('valuation'),
      // How much later the write's answer came than its notification (what an ack-based commit time would add).
      ackAfterNotificationMs: latencyStats(okWrites.filter((w) => w.notifiedAt !== null).map((w) => w.ackAt - w.notifiedAt!)),
    },
    latency,
    writeLog: windowWrites.map((w) => ({
      at: Math.round(w.sentAt - input.windowStart), kind: w.kind, fund: fixtures.funds.findIndex((x) => x.id === w.fundId), ok: w.ok,
      commitMs: Math.round(w.commitAt - w.sentAt), answerMs: Math.round(w.ackAt - w.sentAt), listenMs: w.notifiedAt === null ? null : Math.round(w.notifiedAt - w.sentAt),
    })),
    portfolioChangedPath: { commitToListenerMs: latencyStats(toListener), listenerToClientMs: latencyStats(listenerToClient) },
    slowestEvents: slowest.map((x) => x.line),
    events: { inWindow: windowEvents, unattributed, beforeWriteAnswer: beforeAck, portfolioChangedReceived: changedReceived, portfolioChangedWritesConcerned: changedExpected },
    lost: { count: lost.length, details: lost.slice(0, 20) },
    errors: {
      count: errorCount, subscriptions: subscriptionErrors.length, closes: closes.length, connectionErrors: clientsResult.connectionErrors.length,
      writes: writeErrors.length, http: input.httpErrors.length, allSubscribed: input.ready,
      details: [...subscriptionErrors, ...closes, ...clientsResult.connectionErrors, ...writeErrors, ...input.httpErrors].slice(0, 20),
    },
    computations: {
      duringWindow: computations, expectedChangeWindows: expectedWindows, argumentSets: input.argSets.length,
      ifPerSubscriber: perSubscriber, ifOnlySubtreeWrites: subtreeWindows, perChangeWindow: expectedWindows ? computations / expectedWindows : NaN, atSubscribe: stats.sub1.computations - stats.sub0.computations,
      groups: stats.sub1.groups,
    },
    server: {
      cpuMsPerS: { baselineNoSubscribers: baselineCpu, idleSubscribed: idleCpu, window: windowCpu },
      cpuMsPerSPer1000Subscribers: { window: windowCpu / thousands, marginal: (windowCpu - baselineCpu) / thousands, idle: idleCpu / thousands },
      subscribeCpuMs: stats.sub1.cpuMs - stats.sub0.cpuMs,
      rssMb: { beforeSubscribing: mb(stats.sub0.rss), subscribed: mb(stats.sub1.rss), peak: mb(peakRss), end: mb(stats.final.rss) },
      rssDeltaMbPer1000Subscribers: { subscribed: mb(stats.sub1.rss - stats.sub0.rss) / thousands, peak: mb(peakRss - stats.sub0.rss) / thousands },
      heapUsedMb: { beforeSubscribing: mb(stats.sub0.heapUsed), subscribed: mb(stats.sub1.heapUsed), peak: mb(peakHeap), end: mb(stats.final.heapUsed) },
      externalMb: { subscribed: mb(stats.sub1.external), peak: mb(peakExternal) },
      // After a full collection: before subscribing, subscribed, and after the window and the settling pause (growth = retained by the window).
      retainedHeapMb: { beforeSubscribing: mb(stats.retainedBefore.heapUsed), subscribed: mb(stats.retainedSubscribed.heapUsed), afterWindow: mb(stats.retainedEnd.heapUsed) },
      eventLoopDelayMs: stats.settle1.loop,
      cpuTimeline: stats.samples.slice(1).map((s, i) => Math.round(cpuRate(stats.samples[i]!, s))),
    },
    clients: { cpuMs: clientsResult.cpuMs, eventLoopDelayMs: clientsResult.loop },
    loadAverage1m: { start: input.loadAtStart, window: input.loadAtWindow, cores: os.cpus().length },
    dayChanged: input.dayChanged,
    goals,
  };
}

type Report = ReturnType<typeof analyse> & { machine: Awaited<ReturnType<typeof machineInfo>> | null; loadAverage: number[]; totalSeconds: number };

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en') : '–');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const ok = (b: boolean) => (b ? '✓' : '✗');

function rows(r: Report): [string, string, string][] {
  const l = r.latency;
  const lat = (s: LatencyStats) => `${f0(s.p50)} / ${f0(s.p99)} / ${f0(s.max)} ms (${f0(s.events)} events)`;
  return [
    ['event latency p50 / p99 / max, all', lat(l.all), `p99 < 1,000 ms ${ok(r.goals.p99Under1s)}`],
    ['  liveExposure', lat(l.liveExposure), ''],
    ['  portfolioChanged', lat(l.portfolioChanged), ''],
    ['events lost', `${r.lost.count}`, `0 ${ok(r.goals.noneLost)}`],
    ['errors (subscriptions, closes, HTTP, writes)', `${r.errors.count} (${r.errors.subscriptions}, ${r.errors.closes + r.errors.connectionErrors}, ${r.errors.http}, ${r.errors.writes})`, `0 ${ok(r.goals.noErrors)}`],
    ['liveExposure computations in the window', `${f0(r.computations.duringWindow)} for ${f0(r.computations.expectedChangeWindows)} change windows of ${r.computations.argumentSets} argument sets (${f1(r.computations.perChangeWindow)} per window; ${f0(r.computations.ifPerSubscriber)} if per subscriber)`, `≈ 1 per argument set and window ${ok(r.goals.computationsPerArgumentSet)}`],
    ['writes in the window', `${f0(r.writes.window)} (${r.writes.uploads} uploads, ${r.writes.valuations} valuation writes; ${f1(r.writes.perSecond)}/s); upload p50 ${f0(r.writes.uploadMs.p50)} ms, valuations p50 ${f0(r.writes.valuationMs.p50)} ms`, ''],
    ['server CPU, ms per s: no subscribers / idle subscribed / window', `${f0(r.server.cpuMsPerS.baselineNoSubscribers)} / ${f0(r.server.cpuMsPerS.idleSubscribed)} / ${f0(r.server.cpuMsPerS.window)}`, ''],
    ['server CPU per 1,000 subscribers, ms per s: window (marginal)', `${f1(r.server.cpuMsPerSPer1000Subscribers.window)} (${f1(r.server.cpuMsPerSPer1000Subscribers.marginal)})`, ''],
    ['server RSS: before / subscribed / peak', `${f0(r.server.rssMb.beforeSubscribing)} / ${f0(r.server.rssMb.subscribed)} / ${f0(r.server.rssMb.peak)} MB`, ''],
    ['server heap retained (after GC): before / subscribed / after the window', `${f0(r.server.retainedHeapMb.beforeSubscribing)} / ${f0(r.server.retainedHeapMb.subscribed)} / ${f0(r.server.retainedHeapMb.afterWindow)} MB`, ''],
    ['server RSS delta per 1,000 subscribers: subscribed (peak)', `${f1(r.server.rssDeltaMbPer1000Subscribers.subscribed)} (${f1(r.server.rssDeltaMbPer1000Subscribers.peak)}) MB`, ''],
    ['event-loop delay p99 / max: service; subscribers', `${f0(r.server.eventLoopDelayMs.p99)} / ${f0(r.server.eventLoopDelayMs.max)} ms; ${f0(r.clients.eventLoopDelayMs.p99)} / ${f0(r.clients.eventLoopDelayMs.max)} ms`, ''],
    ['1-min load average at the window (cores)', `${r.loadAverage1m.window.toFixed(2)} (${r.loadAverage1m.cores})`, r.loadAverage1m.window > r.loadAverage1m.cores ? 'busy machine: figures inflated' : ''],
  ];
}

function renderTable(r: Report): string {
  const header = `live updates: ${r.workload.liveExposure} liveExposure (${r.computations.argumentSets} argument sets) + ${r.workload.portfolioChanged} portfolioChanged subscribers on ${r.workload.connections} connections, ` +
    `${r.options.durationS} s of writes, ${f0(r.database.positions)} positions`;
  const table = rows(r);
  const w0 = Math.max(...table.map((x) => x[0].length));
  const w1 = Math.max(...table.map((x) => x[1].length));
  return [header, ...table.map(([a, b, c]) => `  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`), `  goal (p99 < 1 s, 0 lost, 0 errors, computations per argument set): ${r.goals.met ? 'MET' : 'NOT MET'}`,
    ...(r.errors.details.length ? ['  first errors:', ...r.errors.details.slice(0, 5).map((d) => `    ${d}`)] : []),
    ...(r.lost.details.length ? ['  first lost:', ...r.lost.details.slice(0, 5).map((d) => `    ${d}`)] : [])].join('\n');
}

function renderMarkdown(r: Report): string {
  const m = r.machine;
  return `# Live updates under load (${r.startedAt.slice(0, 10)})

\`npm run bench:live\` (\`bench/live.ts\`): ${r.workload.liveExposure} \`liveExposure\` subscribers over ${r.computations.argumentSets} argument sets and
${r.workload.portfolioChanged} \`portfolioChanged\` subscribers on one service instance (${r.workload.connections} WebSocket connections,
${r.options.perConnection} subscriptions each), while ${r.options.uploadRate} uploads/s (${r.options.uploadRows} rows) and ${r.options.valuationRate} valuation writes/s
(${r.options.valuationRows} valuations, ${r.options.valuations === 'sql' ? 'plain SQL from another database client' : 'recordValuations'}) arrive for ${r.options.durationS} s, on ${f0(r.database.positions)} positions.

Machine: ${m ? `${m.cpuModel}, ${m.cores} cores, ${m.ramGiB} GiB, ${m.os}, Node ${m.node}, PostgreSQL ${m.postgres.version}${m.git ? `, commit ${m.git.commit}${m.git.dirty ? ' (dirty)' : ''}` : ''}` : 'unknown'};
1-minute load average ${r.loadAverage1m.start.toFixed(2)} at the start, ${r.loadAverage1m.window.toFixed(2)} when the window began, ${r.loadAverage[0]!.toFixed(2)} at the end, on ${r.loadAverage1m.cores} cores${r.loadAverage1m.window > r.loadAverage1m.cores ? ' (**a busy machine: other work shared the cores, and every figure shows it**)' : ''}. Run time ${f0(r.totalSeconds)} s.

| Figure | Measured | Goal |
|---|---|---|
${rows(r).map(([a, b, c]) => `| ${a.trim()} | ${b} | ${c} |`).join('\n')}

**Goal ${r.goals.met ? 'met' : 'NOT met'}.**

## Method

- **Latency** of an event: its receipt time in the subscribers' process minus the commit time of the latest
  write, committed at or before the receipt, whose book lies in the subscriber's subtree (for a fund, every
  write to the fund). Commit time: the earlier of the write's answer (HTTP response of \`uploadPositions\`, or
  COMMIT returned for SQL valuations) and the moment the database's notification of that write reached the
  bench's own LISTEN session (same machine, same clock; matched by fund, book and kind). The notification
  came ${f0(r.writes.ackAfterNotificationMs.p50)} ms (median) before the write's answer; ${f0(r.events.beforeWriteAnswer)} of ${f0(r.events.inWindow)} events arrived before the answer of the write they are attributed to.
  The value each \`liveExposure\` subscriber gets at subscribe is not counted. ${f0(r.events.unattributed)} events had no write to attribute.
- **Lost**: after the writes stop and ${r.options.settleS} s of settling, each \`liveExposure\` subscriber's last value must
  deep-equal a fresh \`portfolioNode(id) { exposure(...) }\` over HTTP with the same arguments as of today (known
  now); each \`portfolioChanged\` subscriber must have received an event whose \`committedAt\` is not before the
  last write to its subtree was sent. \`portfolioChanged\` coalesces by design (a slow reader gets the latest
  events): ${f0(r.events.portfolioChangedReceived)} events received for ${f0(r.events.portfolioChangedWritesConcerned)} (subscriber, write) pairs.
- **Computations**: \`LiveExposures.computations\` of the service during the window and the settling pause,
  against the change windows its throttle allows (a write to a fund dirties every argument set of that fund;
  at most one computation per second per argument set), summed over the argument sets; what one computation
  per subscriber would have cost is shown beside it, and the windows had only writes to each argument set's
  own subtree dirtied it: ${f0(r.computations.ifOnlySubtreeWrites)} (a write elsewhere in the fund cannot change its answer).
- **CPU and memory** of the service process (\`process.cpuUsage()\` and RSS, read in the service and fetched
  over IPC): ms of CPU per second with the same writes and no subscribers (baseline), subscribed and idle,
  and during the window; per 1,000 subscribers the window figure divided by thousands of subscribers, and
  the marginal one (window minus baseline). RSS before subscribing, once subscribed, and the peak.

## Details

- Argument sets: ${r.workload.argumentSets.map((a) => `${a.node} ${String(a.dimension)}${a.top ? ` top ${String(a.top)}` : ''}`).join('; ')} (currency USD).
- Watched by \`portfolioChanged\` (selection \`${r.workload.portfolioChangedSelection}\`): ${r.workload.watchedNodes.join(', ')}.
- Books written: ${r.workload.writtenBooks.join(', ')}.
- Writes: ${r.writes.window} in the window (${r.writes.ok} acknowledged, ${r.writes.matchedNotifications} matched to their notification); write time upload p50/p99 ${f0(r.writes.uploadMs.p50)}/${f0(r.writes.uploadMs.p99)} ms,
  valuations ${f0(r.writes.valuationMs.p50)}/${f0(r.writes.valuationMs.p99)} ms; the writers fell behind their schedule ${r.writes.writerFellBehind} times.
- Latency percentiles (ms): all p50 ${f0(r.latency.all.p50)}, p90 ${f0(r.latency.all.p90)}, p99 ${f0(r.latency.all.p99)}, max ${f0(r.latency.all.max)};
  liveExposure p50 ${f0(r.latency.liveExposure.p50)}, p90 ${f0(r.latency.liveExposure.p90)}, p99 ${f0(r.latency.liveExposure.p99)};
  portfolioChanged p50 ${f0(r.latency.portfolioChanged.p50)}, p90 ${f0(r.latency.portfolioChanged.p90)}, p99 ${f0(r.latency.portfolioChanged.p99)}.
- Service CPU per second of the window (ms): ${r.server.cpuTimeline.join(', ')}.
- Subscribing cost the service ${f0(r.server.subscribeCpuMs)} ms of CPU (${f1(r.server.subscribeCpuMs / Math.max(1, r.workload.subscribers))} ms per subscription); heap used ${f0(r.server.heapUsedMb.beforeSubscribing)} → ${f0(r.server.heapUsedMb.subscribed)} MB subscribed
  (${f1(((r.server.heapUsedMb.subscribed - r.server.heapUsedMb.beforeSubscribing) * 1024) / Math.max(1, r.workload.subscribers))} KB per subscription), peak ${f0(r.server.heapUsedMb.peak)} MB in the window; memory outside the heap ${f0(r.server.externalMb.subscribed)} MB subscribed, peak ${f0(r.server.externalMb.peak)} MB.
- Heap retained after a full collection: ${f0(r.server.retainedHeapMb.beforeSubscribing)} MB before subscribing, ${f0(r.server.retainedHeapMb.subscribed)} MB subscribed
  (${f1(((r.server.retainedHeapMb.subscribed - r.server.retainedHeapMb.beforeSubscribing) * 1024) / Math.max(1, r.workload.subscribers))} KB per subscription), ${f0(r.server.retainedHeapMb.afterWindow)} MB after the window and the settling pause.
- Event-loop delay in the window and the settling pause (ms, p50 / p99 / max): service ${f0(r.server.eventLoopDelayMs.p50)} / ${f0(r.server.eventLoopDelayMs.p99)} / ${f0(r.server.eventLoopDelayMs.max)},
  subscribers' process ${f0(r.clients.eventLoopDelayMs.p50)} / ${f0(r.clients.eventLoopDelayMs.p99)} / ${f0(r.clients.eventLoopDelayMs.max)}.
- Write time without subscribers (baseline, p50 / p99): uploads ${f0(r.writes.baselineUploadMs.p50)} / ${f0(r.writes.baselineUploadMs.p99)} ms, valuations ${f0(r.writes.baselineValuationMs.p50)} / ${f0(r.writes.baselineValuationMs.p99)} ms.
- portfolioChanged path (ms, p50 / p99): commit → the service's listener (its \`committedAt\`) ${f0(r.portfolioChangedPath.commitToListenerMs.p50)} / ${f0(r.portfolioChangedPath.commitToListenerMs.p99)};
  listener → subscriber ${f0(r.portfolioChangedPath.listenerToClientMs.p50)} / ${f0(r.portfolioChangedPath.listenerToClientMs.p99)} (clocks of one machine; \`committedAt\` has millisecond precision).
- The subscribers' process used ${f0(r.clients.cpuMs)} ms of CPU (it shares the machine with the service and PostgreSQL).

Slowest events:

${r.slowestEvents.map((line) => `- ${line}`).join('\n')}
${r.errors.details.length ? `\nFirst errors:\n\n${r.errors.details.map((d) => `- ${d}`).join('\n')}\n` : ''}${r.lost.details.length ? `\nFirst lost:\n\n${r.lost.details.map((d) => `- ${d}`).join('\n')}\n` : ''}${r.dayChanged ? '\nThe UTC day changed during the run: the exposure comparison may differ for that reason.\n' : ''}`;
}

// ------------------------------------------------------------------ entry

const role = process.env.LIVEBENCH_ROLE;
const entry = role === 'server' ? serverRole : role === 'clients' ? clientsRole : main;
entry().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
