// Read replicas and many instances (issue 14): a private primary with one streaming replica
// (pg_basebackup -R, test/support/pgReplica.ts) and two instances of the real entry point
// (src/main.ts as child processes) with DATABASE_REPLICA_URLS, which also answer alike what
// each keeps in the database; then three instances starting at once with MIGRATE_ON_START on
// an empty database.
//
// The replica is made to lag on purpose (recovery_min_apply_delay, pg_wal_replay_pause()), so a
// read that a replica answers too early shows: it misses the write. Which database answered an
// operation is read from the instance's own log line for it ('graphql operation', with the
// request id we sent and the `database` it ran on) and from its /metrics.
//
// No wall-clock bounds: every wait ends on a state reached (a log line, an answer), with a
// generous time-out that only turns a hang into a readable failure.
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { readMigrations } from '../../src/db/migrate';
import { graphql } from '../support/http';
import { createPgCluster, type PgCluster } from '../support/pgCluster';
import { createPgReplica, type PgReplica } from '../support/pgReplica';
import { readyz, rowsOf, seededDatabase, sleep, startMain, UPLOAD, uploadRows, uploadTarget, type LogLine, type MainProcess } from './helpers';
import { waitFor as waitForWithin } from './helpers';

const WAIT_MS = 45_000;
const TOKEN = 'x-consistency-token';
const MAX_LAG_MS = 3_000;

const CREATE_FUND = `mutation($input: CreatePortfolioNodeInput!) { createPortfolioNode(input: $input) { id name } }`;
const NODE = `query($id: ID!) { portfolioNode(id: $id) { id name } }`;
const ROOTS = `query { portfolioRoots { id name children { id name } } }`;

let primary: PgCluster;
let replica: PgReplica;
let url: string;
let a: MainProcess;
let b: MainProcess;
const started: MainProcess[] = [];

const base = (main: MainProcess) => `http://127.0.0.1:${main.port}`;

const waitFor = <T>(what: string, condition: () => T | Promise<T>, ms = WAIT_MS) => waitForWithin(what, condition, ms);

interface Answer<T> {
  status: number;
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
  extensions?: Record<string, unknown>;
  token: string | null;
  requestId: string;
}

/** One POST /graphql with our own request id (to find the instance's log line for it). */
async function post<T = Record<string, any>>(main: MainProcess, query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const requestId = randomUUID();
  const response = await fetch(`${base(main)}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<Answer<T>, 'status' | 'token' | 'requestId'>;
  return { ...body, status: response.status, token: response.headers.get(TOKEN), requestId };
}

/** The database that answered a request, from the instance's log line for it ('replica-1->primary': moved on the way). */
async function servedBy(main: MainProcess, requestId: string): Promise<string> {
  const line = await waitFor(`the log line of request ${requestId}`, () => main.logs.find((l) => l.requestId === requestId && l.msg === 'graphql operation'));
  return `${String(line.database)}${line.switchedToPrimary ? '->primary' : ''}`;
}

const logged = (main: MainProcess, msg: string, from = 0, match: (line: LogLine) => boolean = () => true) =>
  main.logs.slice(from).some((line) => line.msg === msg && match(line));

async function createFund(main: MainProcess, name = `fund ${randomUUID()}`): Promise<Answer<{ createPortfolioNode: { id: string; name: string } }>> {
  const answer = await post<{ createPortfolioNode: { id: string; name: string } }>(main, CREATE_FUND, { input: { name, nodeType: 'FUND', baseCurrency: 'USD' } });
  expect(answer.errors).toBeUndefined();
  return answer;
}

async function onReplica<T>(sql: string, database = 'fleet'): Promise<T[]> {
  return replica.query<T>(sql, database);
}

/** A counter of /metrics (summed over the series whose labels contain `labels`). */
async function metric(main: MainProcess, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${base(main)}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) && line.includes(labels)).reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

beforeAll(async () => {
  primary = await createPgCluster();
  url = await seededDatabase(primary, 'fleet');
  replica = await createPgReplica(primary);
  const env = {
    DATABASE_URL: url, DATABASE_REPLICA_URLS: replica.url('fleet'), REPLICA_MAX_LAG_MS: String(MAX_LAG_MS), REPLICA_CHECK_MS: '200', DB_POOL_MAX: '4',
  };
  for (const main of await Promise.all([startMain(env), startMain(env)])) started.push(main);
  [a, b] = started as [MainProcess, MainProcess];
}, 120_000);

afterAll(async () => {
  for (const main of started) {
    main.proc.kill('SIGTERM');
    await Promise.race([main.exited, new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
    main.kill();
  }
  await replica?.destroy();
  await primary?.destroy();
}, 60_000);

describe('read replicas', () => {
  it('serves queries from the replica, mutations from the primary, and says so in /metrics and the logs', async () => {
    const before = await metric(b, 'sql_statements_total', 'database="replica-1"');
    const roots = await post(b, ROOTS);
    expect(roots.errors).toBeUndefined();
    expect(roots.data!.portfolioRoots.length).toBeGreaterThan(0);
    expect(roots.token).toBeNull(); // a query changes nothing: no token
    expect(await servedBy(b, roots.requestId)).toBe('replica-1');
    expect(await metric(b, 'sql_statements_total', 'database="replica-1"')).toBeGreaterThan(before);
    expect(await metric(b, 'db_replica_up', 'replica="replica-1"')).toBe(1);

    const fund = await createFund(a);
    expect(fund.token).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(fund.extensions?.consistencyToken).toBe(fund.token);
    expect(await servedBy(a, fund.requestId)).toBe('primary');
  });

  it('without the token a replica that is behind answers stale; with it every read sees the write (200 writes)', async () => {
    await replica.setApplyDelay('400ms');
    // Without the token: the replica (still in use, 400 ms < REPLICA_MAX_LAG_MS) has not applied the write yet.
    let stale = 0;
    for (let i = 0; i < 20 && stale === 0; i++) {
      const fund = await createFund(a);
      const read = await post(b, NODE, { id: fund.data!.createPortfolioNode.id });
      if (read.data?.portfolioNode === null && (await servedBy(b, read.requestId)) === 'replica-1') stale++;
    }
    expect(stale).toBeGreaterThan(0);

    // With it: four writers at once, each write read back through the other instance.
    const served: string[] = [];
    const missed: string[] = [];
    await Promise.all([0, 1, 2, 3].map(async (worker) => {
      for (let i = 0; i < 50; i++) {
        const [writer, reader] = (worker + i) % 2 === 0 ? [a, b] : [b, a];
        const fund = await createFund(writer);
        const { id, name } = fund.data!.createPortfolioNode;
        // Now and then the read comes after the replica has applied the write: it may answer then.
        if (i % 10 === 9) await sleep(1_000);
        const read = await post<{ portfolioNode: { id: string; name: string } | null }>(reader, NODE, { id }, { [TOKEN]: fund.token! });
        expect(read.errors).toBeUndefined();
        if (read.data?.portfolioNode?.name !== name) missed.push(id);
        served.push(await servedBy(reader, read.requestId));
      }
    }));
    expect(missed).toEqual([]);
    expect(served).toHaveLength(200);
    // Both ways of keeping the promise were taken: the primary (the replica not there yet) and the replica.
    expect(served).toContain('primary');
    expect(served).toContain('replica-1');
  }, 120_000);

  it('a knownAt read on a replica that is behind never misses what was recorded before it, and stays the same', async () => {
    const target = await uploadTarget(url, 'pinned');
    await waitFor('the book on the replica', async () => (await onReplica(`SELECT 1 FROM portfolio_node WHERE id = '${target.bookId}'`)).length > 0);
    const upload = await post(a, UPLOAD, { input: { rows: uploadRows(target, 2), sourceSystem: 'replica-test' } });
    expect(upload.errors).toBeUndefined();
    const knownAt = new Date().toISOString();
    const question = `query($id: ID!, $k: DateTime) { portfolioNode(id: $id) { marketValue(asOf: "2026-10-30", knownAt: $k) { amount } } }`;
    // Read through B, without the token: a replica 400 ms behind has the book, not the upload.
    const first = await post<{ portfolioNode: { marketValue: { amount: string } } }>(b, question, { id: target.bookId, k: knownAt });
    expect(first.errors).toBeUndefined();
    expect(Number(first.data!.portfolioNode.marketValue.amount)).toBe(1.5 + 2.5);
    // The same question once the replica has everything: the same answer.
    await sleep(1_000);
    const again = await post<{ portfolioNode: { marketValue: { amount: string } } }>(b, question, { id: target.bookId, k: knownAt });
    expect(again.data).toEqual(first.data);
  });

  it('skips a replica that lags past REPLICA_MAX_LAG_MS, and uses it again once it has caught up', async () => {
    await replica.setApplyDelay('0');
    const fromA = a.logs.length;
    const fromB = b.logs.length;
    await onReplica('SELECT pg_wal_replay_pause()');
    try {
      const fund = await createFund(a);
      const lagging = (line: LogLine) => String(line.reason).startsWith('lagging');
      await waitFor('both instances to skip the lagging replica', () => logged(a, 'replica skipped', fromA, lagging) && logged(b, 'replica skipped', fromB, lagging));
      // The replica would not know the fund; the primary answers, without a token.
      const read = await post(b, NODE, { id: fund.data!.createPortfolioNode.id });
      expect(read.data?.portfolioNode).not.toBeNull();
      expect(await servedBy(b, read.requestId)).toBe('primary');
      expect(await metric(b, 'db_replica_up', 'replica="replica-1"')).toBe(0);
    } finally {
      await onReplica('SELECT pg_wal_replay_resume()');
    }
    await waitFor('both instances to use the replica again', () => logged(a, 'replica in use', fromA) && logged(b, 'replica in use', fromB));
    const read = await post(b, ROOTS);
    expect(await servedBy(b, read.requestId)).toBe('replica-1');
  });

  it('a replica stopped under load costs no failed request, and is used again once it is back', async () => {
    const fromA = a.logs.length;
    const fromB = b.logs.length;
    const answers: Answer<unknown>[] = [];
    let running = true;
    const load = [a, b, a, b].map(async (main) => {
      while (running) answers.push(await post(main, ROOTS));
    });
    await waitFor('reads on the replica under load', () => answers.length >= 20);
    await replica.stop('fast');
    const atStop = answers.length;
    await waitFor('reads after the replica stopped', () => answers.length >= atStop + 40);
    running = false;
    await Promise.all(load);

    const failed = answers.filter((answer) => answer.status !== 200 || answer.errors !== undefined);
    expect(failed.map((answer) => answer.errors ?? answer.status)).toEqual([]);
    const down = (line: LogLine) => String(line.reason).startsWith('down');
    expect(logged(a, 'replica skipped', fromA, down) && logged(b, 'replica skipped', fromB, down)).toBe(true);

    await replica.start();
    await waitFor('both instances to use the replica again', () => logged(a, 'replica in use', fromA) && logged(b, 'replica in use', fromB));
    const read = await post(a, ROOTS);
    expect(await servedBy(a, read.requestId)).toBe('replica-1');
  }, 120_000);
});

describe('many instances', () => {
  it('two instances give the same answers: cached analytics, position counts, idempotency keys, snapshots', async () => {
    const target = await uploadTarget(url, 'same');
    const question = `query($id: ID!) { portfolioNode(id: $id) { marketValue(asOf: "2026-10-30") { amount } positions(includeDescendants: true) { totalCount } } }`;
    type Figures = { portfolioNode: { marketValue: { amount: string }; positions: { totalCount: number } } | null };
    const figures = async (main: MainProcess, headers: Record<string, string> = {}) => {
      const answer = await post<Figures>(main, question, { id: target.bookId }, headers);
      expect(answer.errors).toBeUndefined();
      const node = answer.data!.portfolioNode;
      return node && { amount: Number(node.marketValue.amount), positions: node.positions.totalCount };
    };
    // Both instances answer (and cache) the empty book, once the replica has it.
    for (const main of [a, b]) expect(await waitFor('the book', () => figures(main))).toEqual({ amount: 0, positions: 0 });

    // An upload through B; A's cached answer is checked against the database, so A answers the new figures.
    const input = { sourceSystem: 'fleet', idempotencyKey: `fleet-${randomUUID()}`, rows: uploadRows(target, 3) };
    const first = await post<{ uploadPositions: { id: string; acceptedCount: number } }>(b, UPLOAD, { input });
    expect(first.data?.uploadPositions.acceptedCount).toBe(3);
    expect(await figures(a, { [TOKEN]: first.token! })).toEqual({ amount: 1.5 + 2.5 + 3.5, positions: 3 });

    // The same key again through both at once: the first batch, and nothing written twice.
    const again = await Promise.all([a, b].map((main) => post<{ uploadPositions: { id: string } }>(main, UPLOAD, { input })));
    expect(again.map((answer) => answer.errors ?? answer.data!.uploadPositions.id)).toEqual([first.data!.uploadPositions.id, first.data!.uploadPositions.id]);
    expect(await rowsOf(url, target.bookId)).toEqual({ positions: 3, valuations: 3 });

    // The same snapshot asked of both at once: stored once, one id.
    const SNAPSHOT = `mutation($id: ID!) { createPortfolioSnapshot(nodeId: $id, asOfDate: "2026-10-30") { created snapshot { id payloadHash } } }`;
    type Snapshot = { createPortfolioSnapshot: { created: boolean; snapshot: { id: string; payloadHash: string } } };
    const snapshots = await Promise.all([a, b].map((main) => post<Snapshot>(main, SNAPSHOT, { id: target.bookId })));
    const results = snapshots.map((answer) => answer.data!.createPortfolioSnapshot);
    expect(new Set(results.map((r) => r.snapshot.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it('three instances with MIGRATE_ON_START on an empty database all become ready; each migration is applied once', async () => {
    const fresh = await primary.createDatabase('fresh');
    const env = { DATABASE_URL: fresh, MIGRATE_ON_START: 'true' };
    const three = await Promise.all([startMain(env), startMain(env), startMain(env)]);
    started.push(...three);
    for (const main of three) expect(await readyz(base(main))).toBe(200);

    const names = readMigrations().map((m) => m.name);
    const client = new Client({ connectionString: fresh });
    await client.connect();
    try {
      const { rows } = await client.query<{ migration_name: string; n: number; finished: number }>(
        'SELECT migration_name, count(*)::int AS n, count(finished_at)::int AS finished FROM _prisma_migrations GROUP BY 1 ORDER BY 1',
      );
      expect(rows).toEqual(names.map((name) => ({ migration_name: name, n: 1, finished: 1 })));
    } finally {
      await client.end();
    }
    // Between them the three applied each migration once: the others found it done.
    const applied = three.flatMap((main) => main.logs.filter((l) => l.msg === 'migrations checked').flatMap((l) => l.applied as string[]));
    expect(applied.sort()).toEqual([...names].sort());
    // And they serve the same database: a write through one is read through another.
    const fund = await createFund(three[0]!);
    const read = await graphql(base(three[2]!), NODE, { id: fund.data!.createPortfolioNode.id });
    expect(read.data?.portfolioNode).toMatchObject({ name: fund.data!.createPortfolioNode.name });
  }, 120_000);
});
