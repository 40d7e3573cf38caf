// npm run loadtest -- [--duration 20] [--connections 50,100] [--warmup 3] [--positions 20000] [--upload-rows 20]
//                     [--instances 1] [--replica]
//
// Load test (issue 6, point 11): the real service (src/main.ts in a child
// process, on 127.0.0.1 only) on the PostgreSQL database in DATABASE_URL,
// seeded first when empty. autocannon drives a weighted mix of tree reads,
// exposure, lookups and a few uploads for a bounded time at each concurrency
// level, and reports requests/s, p50/p99 latency, connection errors, non-2xx
// and GraphQL errors. Every upload carries its own idempotency key and goes to
// a BOOK created for this run, so that afterwards the database can be checked
// against the answers: a batch acknowledged COMPLETED whose rows are not all
// there is a lost write.
//
// As a fleet (issue 14): --instances N starts N service processes on the same
// database, the connections spread evenly over them. --replica makes the load
// test's own PostgreSQL primary (initdb in a temporary directory, seeded with
// --positions) and a streaming replica of it (pg_basebackup -R), as the fault
// tests do (test/support/pgCluster.ts, pgReplica.ts; needs the PostgreSQL
// binaries on PATH, no DATABASE_URL): every instance gets DATABASE_REPLICA_URLS,
// and the report says how many of the instances' SQL statements the replica
// served (from each instance's /metrics).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { databaseConfigFrom } from '../src/config';
import { openDatabase, type Database } from '../src/db/database';
import { migrate } from '../src/db/migrate';
import { loadWorld } from '../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../src/services/seed/world';
import { createPgCluster, type PgCluster } from '../test/support/pgCluster';
import { createPgReplica, type PgReplica } from '../test/support/pgReplica';
import { parsePrometheusText } from '../test/support/prometheus';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '50,100' },
    warmup: { type: 'string', default: '3' },
    positions: { type: 'string', default: '20000' },
    'upload-rows': { type: 'string', default: '20' },
    instances: { type: 'string', default: '1' },
    replica: { type: 'boolean', default: false },
  },
});
const INSTANCES = Number(values.instances);
if (!Number.isInteger(INSTANCES) || INSTANCES < 1) throw new Error(`--instances must be a whole number >= 1, got "${values.instances}"`);
const DURATION_S = Number(values.duration);
const LEVELS = values.connections!.split(',').map(Number);
const WARMUP_S = Number(values.warmup);
const UPLOAD_ROWS = Number(values['upload-rows']);
const RUN = randomUUID().slice(0, 8);
const SOURCE = `loadtest-${RUN}`;

interface Fixtures {
  asOf: string;
  funds: string[];
  desks: string[];
  books: string[];
  isins: string[];
  instrumentIds: string[];
  positionIds: string[];
  searches: string[];
  target: { bookId: string; instrumentId: string };
}

async function prepare(db: Database): Promise<Fixtures> {
  await migrate(db.sql);
  const [{ n }] = (await db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolio_node')) as [{ n: number }];
  if (n === 0) {
    const positions = Number(values.positions);
    console.log(`empty database: seeding ${positions.toLocaleString('en')} positions`);
    await loadWorld(db.sql, buildWorld({ ...DEFAULT_SEED_OPTIONS, positions }));
  }
  const ids = async (sql: string, params: unknown[] = []) => (await db.sql.query<{ v: string }>(sql, params)).map((r) => r.v);
  const [asOf] = await ids(`SELECT max(as_of_date)::text AS v FROM valuation_result`);
  const desks = await ids(`SELECT id::text AS v FROM portfolio_node WHERE node_type = 'DESK' ORDER BY name, id LIMIT 20`);
  // The uploads' own BOOK (under an existing desk), so that their rows can be counted exactly.
  const [bookId] = await ids(`INSERT INTO portfolio_node (name, node_type, parent_id, base_ccy, tags_json)
    VALUES ($1, 'BOOK', $2::uuid, 'USD', '{"loadtest": true}') RETURNING id::text AS v`, [`Load test ${RUN}`, desks[0]]);
  const [instrumentId] = await ids(`SELECT id::text AS v FROM instrument ORDER BY id LIMIT 1`);
  return {
    asOf: asOf ?? DEFAULT_SEED_OPTIONS.asOf,
    funds: await ids(`SELECT id::text AS v FROM portfolio_node WHERE parent_id IS NULL ORDER BY name, id`),
    desks,
    books: await ids(`SELECT id::text AS v FROM portfolio_node WHERE node_type = 'BOOK' AND tags_json->>'loadtest' IS NULL ORDER BY name, id LIMIT 50`),
    isins: await ids(`SELECT isin AS v FROM instrument WHERE isin IS NOT NULL ORDER BY id LIMIT 200`),
    instrumentIds: await ids(`SELECT id::text AS v FROM instrument ORDER BY id LIMIT 200`),
    positionIds: await ids(`SELECT id::text AS v FROM position ORDER BY id LIMIT 200`),
    searches: await ids(`SELECT split_part(name, ' ', 1) AS v FROM reference_data WHERE entity_type = 'ISSUER' ORDER BY id LIMIT 50`),
    target: { bookId: bookId!, instrumentId: instrumentId! },
  };
}

type Pick = <T>(list: T[]) => T;
type Op = { kind: 'tree' | 'exposure' | 'lookup' | 'upload'; query: string; variables: (f: Fixtures, pick: Pick) => Record<string, unknown> };

const OPS: Record<string, Op> = {
  roots: { kind: 'tree', query: 'query Roots { portfolioRoots { id name children { id name children { id name nodeType } } } }', variables: () => ({}) },
  subtree: { kind: 'tree', query: 'query Subtree($id: ID!) { portfolioNode(id: $id) { id name descendants(maxDepth: 3) { id name nodeType depth } } }', variables: (f, p) => ({ id: p(f.funds) }) },
  children: { kind: 'tree', query: 'query Desk($id: ID!) { portfolioNode(id: $id) { name ancestors { id name } children { id name children { id name } } } }', variables: (f, p) => ({ id: p(f.desks) }) },
  sector: { kind: 'exposure', query: 'query Sector($id: ID!, $asOf: Date!) { portfolioNode(id: $id) { exposure(dimension: SECTOR, asOf: $asOf, currency: "USD") { total unvaluedPositionCount buckets { key label marketValue weight positionCount } } } }', variables: (f, p) => ({ id: p(f.desks), asOf: f.asOf }) },
  issuer: { kind: 'exposure', query: 'query Issuers($id: ID!, $asOf: Date!) { portfolioNode(id: $id) { exposure(dimension: ISSUER, lookThrough: true, top: 10, asOf: $asOf) { total buckets { key label marketValue weight } } } }', variables: (f, p) => ({ id: p(f.desks), asOf: f.asOf }) },
  value: { kind: 'exposure', query: 'query Value($id: ID!, $asOf: Date!) { portfolioNode(id: $id) { marketValue(asOf: $asOf, currency: "EUR") { amount currency } } }', variables: (f, p) => ({ id: p(f.books), asOf: f.asOf }) },
  isin: { kind: 'lookup', query: 'query ByIsin($isin: String) { instrumentByIdentifier(isin: $isin) { id name assetClass currency } }', variables: (f, p) => ({ isin: p(f.isins) }) },
  instrument: { kind: 'lookup', query: 'query Instrument($id: ID!) { instrument(id: $id) { id name isin cusip ticker } }', variables: (f, p) => ({ id: p(f.instrumentIds) }) },
  position: { kind: 'lookup', query: 'query Position($id: ID!, $asOf: Date!) { position(id: $id) { id quantity status node { id name } instrument { id name } valuation(asOf: $asOf) { marketValue } } }', variables: (f, p) => ({ id: p(f.positionIds), asOf: f.asOf }) },
  book: { kind: 'lookup', query: 'query Book($id: ID!) { portfolioNode(id: $id) { name positions(first: 20) { totalCount edges { node { id quantity instrument { name } } } } } }', variables: (f, p) => ({ id: p(f.books) }) },
  search: { kind: 'lookup', query: 'query Search($q: String) { referenceEntities(search: $q, first: 10) { edges { node { id name entityType } } } }', variables: (f, p) => ({ q: p(f.searches) }) },
  upload: {
    kind: 'upload',
    query: 'mutation Upload($input: PositionUploadInput!) { uploadPositions(input: $input) { id status idempotencyKey } }',
    variables: (f) => ({
      input: {
        sourceSystem: SOURCE, idempotencyKey: `${SOURCE}-${randomUUID()}`,
        rows: Array.from({ length: UPLOAD_ROWS }, (_, i) => ({ nodeId: f.target.bookId, instrumentId: f.target.instrumentId, quantity: `${i + 1}`, baseCurrency: 'USD', marketValue: `${i + 1}.5`, asOfDate: f.asOf })),
      },
    }),
  },
};

// The weighted mix: each request picks one of these at random, so over a run about 8/24 are tree
// reads, 4/24 exposure and market value, 10/24 lookups and 2/24 uploads, on every connection alike.
const MIX = ['roots', 'roots', 'subtree', 'subtree', 'subtree', 'children', 'children', 'children',
  'sector', 'sector', 'issuer', 'value',
  'isin', 'isin', 'isin', 'instrument', 'instrument', 'position', 'position', 'book', 'book', 'search',
  'upload', 'upload'];

interface Tally {
  graphqlErrors: number;
  uploadsCompleted: Set<string>;
  /** Latency of each answered request, by kind of operation (ms, from when autocannon built the request). */
  latencies: Record<Op['kind'], number[]>;
  firstError?: string;
}

interface Sent {
  name: string;
  sentAt: number;
}

function requests(fixtures: Fixtures, tally: Tally): autocannon.Request[] {
  const pick: Pick = (list) => list[Math.floor(Math.random() * list.length)]!;
  return [{
    method: 'POST',
    path: '/graphql',
    headers: { 'content-type': 'application/json' },
    setupRequest: (req, context) => {
      const name = pick(MIX);
      Object.assign(context, { name, sentAt: performance.now() } satisfies Sent);
      const op = OPS[name]!;
      return { ...req, body: JSON.stringify({ query: op.query, variables: op.variables(fixtures, pick) }) };
    },
    onResponse: (status, body, context) => {
      const { name, sentAt } = context as Sent;
      const op = OPS[name]!;
      tally.latencies[op.kind].push(performance.now() - sentAt);
      if (status !== 200 || body.includes('"errors"')) {
        if (status === 200) tally.graphqlErrors++;
        tally.firstError ??= `${name} HTTP ${status}: ${body.slice(0, 300)}`;
        return;
      }
      if (op.kind === 'upload') {
        const batch = (JSON.parse(body) as { data: { uploadPositions: { status: string; idempotencyKey: string } } }).data.uploadPositions;
        if (batch.status === 'COMPLETED') tally.uploadsCompleted.add(batch.idempotencyKey);
      }
    },
  }];
}

async function startService(index: number, env: Record<string, string>): Promise<{ url: string; stop: () => Promise<number | null>; logFile: string }> {
  const logFile = join(tmpdir(), `loadtest-${RUN}-${index + 1}.log`);
  const log = createWriteStream(logFile);
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: join(__dirname, '..'),
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', AUTH_MODE: 'off', LOG_LEVEL: 'info', NODE_ENV: 'development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  proc.stderr.pipe(log);
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      log.write(chunk);
      const match = /"port":(\d+).*"msg":"portfolio data service listening"/.exec(chunk.toString());
      if (match) resolve(Number(match[1]));
    });
    void exited.then((code) => reject(new Error(`the service exited (${code}) before listening; see ${logFile}`)));
  });
  const stop = async () => {
    proc.kill('SIGTERM');
    const code = await exited;
    log.end();
    return code;
  };
  return { url: `http://127.0.0.1:${port}`, logFile, stop };
}

interface Level {
  connections: number;
  result: autocannon.Result;
  tally: Tally;
  /** SQL statements the instances sent during the level, by database (primary, replica-1, ...). */
  statements: Map<string, number>;
}

/** autocannon spreads the connections over the URLs (one instance each), round robin. */
function run(urls: string[], connections: number, seconds: number, fixtures: Fixtures, tally: Tally): Promise<autocannon.Result> {
  // autocannon takes an array of URLs (its README); its types say string only.
  return autocannon({ url: urls as unknown as string, connections, duration: seconds, timeout: 30, requests: requests(fixtures, tally) });
}

/** sql_statements_total by database (primary, replica-1, ...) of each instance, from its /metrics. */
async function statementsByDatabase(urls: string[]): Promise<Map<string, number>> {
  const total = new Map<string, number>();
  for (const url of urls) {
    const response = await fetch(`${url}/metrics`);
    if (!response.ok) throw new Error(`${url}/metrics: HTTP ${response.status}`);
    for (const sample of parsePrometheusText(await response.text()).get('sql_statements_total')?.samples ?? []) {
      const database = sample.labels.database ?? '?';
      total.set(database, (total.get(database) ?? 0) + sample.value);
    }
  }
  return total;
}

const difference = (after: Map<string, number>, before: Map<string, number>) =>
  new Map([...after].map(([database, n]) => [database, n - (before.get(database) ?? 0)] as const));

/** What the database holds of this run's uploads. */
async function countWrites(db: Database, bookId: string) {
  const batches = await db.sql.query<{ key: string; status: string }>(
    `SELECT idempotency_key AS key, status::text AS status FROM ingestion_batch WHERE source_system = $1`, [SOURCE],
  );
  const [rows] = await db.sql.query<{ positions: number; valuations: number }>(
    `SELECT (SELECT count(*) FROM position WHERE portfolio_node_id = $1)::int AS positions,
            (SELECT count(*) FROM valuation_result v JOIN position p ON p.id = v.position_id WHERE p.portfolio_node_id = $1)::int AS valuations`,
    [bookId],
  );
  return {
    completed: new Set(batches.filter((b) => b.status === 'COMPLETED').map((b) => b.key)),
    notCompleted: batches.filter((b) => b.status !== 'COMPLETED').map((b) => b.status),
    positions: rows!.positions,
    valuations: rows!.valuations,
  };
}

const newTally = (): Tally => ({ graphqlErrors: 0, uploadsCompleted: new Set(), latencies: { tree: [], exposure: [], lookup: [], upload: [] } });

/** Where the load runs: DATABASE_URL, or with --replica a private primary and its streaming replica. */
async function databases(): Promise<{ primaryUrl: string; replicaUrl: string | null; cluster: PgCluster | null; replica: PgReplica | null; db: Database; fixtures: Fixtures }> {
  if (!values.replica) {
    const config = databaseConfigFrom(process.env);
    if (config.kind !== 'postgres') throw new Error('set DATABASE_URL to a PostgreSQL database (it is seeded when empty), or use --replica for a private primary and replica');
    const db = await openDatabase({ ...config, poolMax: 2 });
    return { primaryUrl: config.url, replicaUrl: null, cluster: null, replica: null, db, fixtures: await prepare(db) };
  }
  // Room for every instance's pools (10 connections each, and the listener) with the defaults.
  const cluster = await createPgCluster({ settings: { max_connections: 50 + 25 * INSTANCES, shared_buffers: '256MB' } });
  try {
    const primaryUrl = await cluster.createDatabase('loadtest');
    const config = databaseConfigFrom({ DATABASE_URL: primaryUrl });
    if (config.kind !== 'postgres') throw new Error('unreachable: a postgresql:// URL');
    const db = await openDatabase({ ...config, poolMax: 2 });
    const fixtures = await prepare(db);
    await db.sql.query('VACUUM (ANALYZE)');
    // The copy is taken after the seed: the replica starts with the data and streams the run's writes.
    const replica = await createPgReplica(cluster, { settings: { max_connections: 50 + 25 * INSTANCES, shared_buffers: '256MB' } });
    return { primaryUrl, replicaUrl: replica.url('loadtest'), cluster, replica, db, fixtures };
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
}

async function main() {
  const { primaryUrl, replicaUrl, cluster, replica, db, fixtures } = await databases();
  try {
    const env: Record<string, string> = { DATABASE_URL: primaryUrl, ...(replicaUrl ? { DATABASE_REPLICA_URLS: replicaUrl } : {}) };
    const services = await Promise.all(Array.from({ length: INSTANCES }, (_, i) => startService(i, env)));
    const urls = services.map((s) => s.url);
    const share = (kind: Op['kind']) => `${MIX.filter((m) => OPS[m]!.kind === kind).length}/${MIX.length} ${kind}`;
    console.log(`${INSTANCES} instance${INSTANCES > 1 ? 's' : ''} at ${urls.join(', ')} (logs: ${services.map((s) => s.logFile).join(', ')})`);
    console.log(`database: ${replicaUrl ? `private primary ${primaryUrl} with a streaming replica ${replicaUrl} (DATABASE_REPLICA_URLS)` : primaryUrl.replace(/\/\/[^@/]*@/, '//…@')}`);
    console.log(`mix: ${share('tree')}, ${share('exposure')}, ${share('lookup')}, ${share('upload')} (${UPLOAD_ROWS} rows each); ${DURATION_S} s per level after ${WARMUP_S} s warm-up`);
    const warm = newTally();
    const levels: Level[] = [];
    const exitCodes: (number | null)[] = [];
    try {
      if (WARMUP_S > 0) await run(urls, 10 * INSTANCES, WARMUP_S, fixtures, warm);
      for (const connections of LEVELS) {
        const tally = newTally();
        const before = await statementsByDatabase(urls);
        const result = await run(urls, connections, DURATION_S, fixtures, tally);
        const statements = difference(await statementsByDatabase(urls), before);
        levels.push({ connections, result, tally, statements });
        console.log(`  ${connections} connections: ${result.requests.total} requests, ${result.errors} errors, ${result.non2xx} non-2xx, ${tally.graphqlErrors} GraphQL errors${tally.firstError ? ` (first: ${tally.firstError})` : ''}`);
      }
    } finally {
      // A graceful stop lets uploads still running when autocannon stopped finish before the count.
      exitCodes.push(...(await Promise.all(services.map((s) => s.stop()))));
    }
    report(levels, warm, await countWrites(db, fixtures.target.bookId), exitCodes);
  } finally {
    await db.close();
    await replica?.destroy();
    await cluster?.destroy();
  }
}

const percentile = (samples: number[], q: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!) : NaN;
};

function report(levels: Level[], warm: Tally, writes: Awaited<ReturnType<typeof countWrites>>, exitCodes: (number | null)[]) {
  // A lost write: an upload answered COMPLETED whose batch is not COMPLETED in the database, or a
  // COMPLETED batch without all of its rows.
  const lost = (t: Tally) => [...t.uploadsCompleted].filter((key) => !writes.completed.has(key)).length;
  console.log(`\n| connections | requests/s | p50 ms | p99 ms | max ms | requests | errors (conn/timeout) | non-2xx | GraphQL errors | uploads acknowledged | lost writes | statements by database (reads and Prisma writes) |`);
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const { connections, result: r, tally, statements } of levels) {
    const rps = (r.requests.total / r.duration).toFixed(0);
    const sent = [...statements.values()].reduce((a, b) => a + b, 0);
    const byDatabase = [...statements].map(([database, n]) => `${database} ${n} (${((n / Math.max(1, sent)) * 100).toFixed(0)} %)`).join(', ');
    console.log(`| ${connections} | ${rps} | ${r.latency.p50} | ${r.latency.p99} | ${r.latency.max} | ${r.requests.total} | ${r.errors} (${r.timeouts}) | ${r.non2xx} | ${tally.graphqlErrors} | ${tally.uploadsCompleted.size} | ${lost(tally)} | ${byDatabase} |`);
  }
  console.log(`\n| connections | kind | answered | p50 ms | p99 ms |\n|---|---|---|---|---|`);
  for (const { connections, tally } of levels) {
    for (const [kind, samples] of Object.entries(tally.latencies)) {
      console.log(`| ${connections} | ${kind} | ${samples.length} | ${percentile(samples, 0.5)} | ${percentile(samples, 0.99)} |`);
    }
  }
  const all = [warm, ...levels.map((l) => l.tally)];
  const acknowledged = all.reduce((sum, t) => sum + t.uploadsCompleted.size, 0);
  const lostBatches = all.reduce((sum, t) => sum + lost(t), 0);
  const rowsExpected = writes.completed.size * UPLOAD_ROWS;
  const lostRows = Math.max(0, rowsExpected - writes.positions) + Math.max(0, rowsExpected - writes.valuations);
  console.log(`\nwrites, counted in the database after a graceful stop (warm-up included): ${acknowledged} uploads acknowledged COMPLETED, ` +
    `${writes.completed.size} batches COMPLETED (any surplus: uploads still running when the load stopped, answered to nobody); ` +
    `positions ${writes.positions} and valuations ${writes.valuations} for ${rowsExpected} expected (${UPLOAD_ROWS} per COMPLETED batch)` +
    `\nlost writes: ${lostBatches} acknowledged batches missing, ${lostRows} rows missing from COMPLETED batches; ` +
    `batches not COMPLETED (FAILED, or left STARTED/VALIDATING by the stop): ${writes.notCompleted.length}${writes.notCompleted.length ? ` (${writes.notCompleted.join(', ')})` : ''}`);
  console.log(`service exit code${exitCodes.length > 1 ? 's' : ''} after SIGTERM: ${exitCodes.join(', ')}`);
  const failed = levels.some((l) => l.result.errors + l.result.non2xx + l.tally.graphqlErrors > 0) ||
    lostBatches + lostRows + writes.notCompleted.length > 0 || exitCodes.some((code) => code !== 0);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
