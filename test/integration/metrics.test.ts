// GET /metrics of real services (PGlite, or PostgreSQL with TEST_DATABASE_URL):
// the exposition parses strictly (test/support/prometheus.ts), and its
// counters and histograms move as queries, a mutation, errors, an upload, an
// analytics computation and a WebSocket subscription run, with the labels
// they should have. Also: METRICS_TOKEN is required when set; 1,000 distinct
// operation names add a bounded number of series; two services in one process
// each count only their own requests; METRICS_ENABLED=false serves nothing.
//
// No wall-clock bounds: every wait ends on a state reached.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { DEFAULT_METRICS, type MetricsSettings } from '../../src/config';
import type { LiveEvents } from '../../src/live/events';
import { createLiveEvents } from '../../src/live/listener';
import { silentLogger } from '../../src/logger';
import { createServer, type Service } from '../../src/server';
import { createChain, createInstrument } from '../support/factories';
import { graphql } from '../support/http';
import { Scrape } from '../support/prometheus';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let events: LiveEvents;
let chain: Awaited<ReturnType<typeof createChain>>;
let instrumentId: string;
const services: Service[] = [];
const clients: Client[] = [];

async function start(metrics: Partial<MetricsSettings> = {}): Promise<{ service: Service; url: string }> {
  const service = await createServer({
    config: {
      production: false, graphqlIntrospection: true, graphqlIde: false, auth: { mode: 'off' }, logStatementCounts: true,
      metrics: { ...DEFAULT_METRICS, ...metrics },
    },
    db: t.db,
    logger: silentLogger,
    live: events,
  });
  services.push(service);
  const port = await service.listen(0, '127.0.0.1');
  return { service, url: `http://127.0.0.1:${port}` };
}

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const response = await fetch(`${url}/metrics`, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return Scrape.parse(await response.text());
}

const until = async (condition: () => Promise<boolean>) => {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 10));
};

const duration = 'graphql_operation_duration_seconds_count';

beforeAll(async () => {
  t = await createTestDatabase();
  events = await createLiveEvents(t.db, onPostgres ? { kind: 'postgres', url: t.url! } : { kind: 'embedded' });
  chain = await createChain(t.db, 'Metrics');
  instrumentId = (await createInstrument(t.db)).id;
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
});

afterAll(async () => {
  for (const service of services) await service.stop();
  await events?.close();
  await t?.drop();
});

describe('GET /metrics', () => {
  let api: { service: Service; url: string };
  beforeAll(async () => {
    api = await start();
  });

  it('counts operations by type and name, errors by code, and statements per operation', async () => {
    const statements: string[] = [];
    const off = t.db.onQuery((event) => statements.push(event.query));
    const before = await scrape(api.url);
    const TREE = 'query Tree($id: ID!) { portfolioNode(id: $id) { id name children { id } } }';
    for (let i = 0; i < 3; i++) expect((await graphql(api.url, TREE, { id: chain.fund.id })).errors).toBeUndefined();
    const opened = await graphql(api.url, 'mutation Open($input: OpenPositionInput!) { openPosition(input: $input) { id } }', {
      input: { nodeId: chain.book.id, instrumentId, quantity: '10', baseCurrency: 'USD' },
    });
    expect(opened.errors).toBeUndefined();
    expect((await graphql(api.url, 'query Broken { nope }')).errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await graphql(api.url, TREE, {})).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    off();
    const after = await scrape(api.url);
    const delta = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels);

    // The variable coercion error comes once the operation is known: it is a fourth Tree.
    expect(delta(duration, { operation_type: 'query', operation_name: 'Tree' })).toBe(4);
    expect(delta(duration, { operation_type: 'mutation', operation_name: 'Open' })).toBe(1);
    // Validation fails before the operation is resolved: no type nor name to label it with.
    expect(delta(duration, { operation_type: 'unknown', operation_name: 'unknown' })).toBe(1);
    expect(delta('graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
    expect(delta('graphql_errors_total', { code: 'BAD_USER_INPUT' })).toBe(1);
    expect(delta('http_request_duration_seconds_count', { method: 'POST', route: '/graphql', status_code: '200' })).toBe(4);
    expect(delta('http_request_duration_seconds_count', { method: 'POST', route: '/graphql', status_code: '400' })).toBe(2);
    // The first scrape is in the second's histogram.
    expect(delta('http_request_duration_seconds_count', { method: 'GET', route: '/metrics' })).toBe(1);

    // Every statement sent, and each operation's own: the tree and the mutation read the database.
    expect(statements.length).toBeGreaterThan(0);
    expect(delta('sql_statements_total', { database: 'primary' })).toBe(statements.length);
    expect(delta('graphql_operation_sql_statements_count', { operation_type: 'query' })).toBe(4);
    expect(delta('graphql_operation_sql_statements_sum', { operation_type: 'query' })).toBeGreaterThanOrEqual(3);
    expect(delta('graphql_operation_sql_statements_sum', { operation_type: 'query' }) + delta('graphql_operation_sql_statements_sum', { operation_type: 'mutation' }))
      .toBe(statements.length);
  });

  it('counts the batches and rows an upload finished, and not an idempotent replay', async () => {
    const UPLOAD = 'mutation Upload($input: PositionUploadInput!) { uploadPositions(input: $input) { status acceptedCount rejectedCount } }';
    const row = (instrument: string) => ({ nodeId: chain.book.id, instrumentId: instrument, quantity: '1', baseCurrency: 'USD', marketValue: '1.5', asOfDate: '2026-10-30' });
    // The third row names an instrument that does not exist: rejected, the others loaded.
    const input = { sourceSystem: 'metrics-test', mode: 'SKIP_INVALID', idempotencyKey: 'metrics-1', rows: [row(instrumentId), row(instrumentId), row(crypto.randomUUID())] };
    const before = await scrape(api.url);
    const first = await graphql(api.url, UPLOAD, { input });
    expect(first.errors).toBeUndefined();
    expect(first.data?.uploadPositions).toEqual({ status: 'COMPLETED', acceptedCount: 2, rejectedCount: 1 });
    const replay = await graphql(api.url, UPLOAD, { input });
    expect(replay.data?.uploadPositions).toEqual(first.data?.uploadPositions);
    const after = await scrape(api.url);
    const delta = (name: string, labels: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    expect(delta('ingestion_batches_total', { batch_type: 'POSITION_UPLOAD', status: 'COMPLETED' })).toBe(1);
    expect(delta('ingestion_rows_total', { batch_type: 'POSITION_UPLOAD', outcome: 'accepted' })).toBe(2);
    expect(delta('ingestion_rows_total', { batch_type: 'POSITION_UPLOAD', outcome: 'rejected' })).toBe(1);
    expect(delta(duration, { operation_type: 'mutation', operation_name: 'Upload' })).toBe(2);
  });

  it('reports the analytics cache: a miss, then a hit, and the bytes held', async () => {
    const MV = 'query Value($id: ID!) { portfolioNode(id: $id) { marketValue(asOf: "2026-01-15") { amount } } }';
    const before = await scrape(api.url);
    for (let i = 0; i < 2; i++) expect((await graphql(api.url, MV, { id: chain.fund.id })).errors).toBeUndefined();
    const after = await scrape(api.url);
    expect(after.value('analytics_cache_misses_total', { reason: 'absent' }) - before.value('analytics_cache_misses_total', { reason: 'absent' })).toBe(1);
    expect(after.value('analytics_cache_hits_total') - before.value('analytics_cache_hits_total')).toBe(1);
    expect(after.value('analytics_cache_bytes')).toBeGreaterThan(before.value('analytics_cache_bytes'));
    expect(after.value('analytics_cache_entries')).toBe(before.value('analytics_cache_entries') + 1);
  });

  it('reports the pool on PostgreSQL (none on the embedded database) and the process metrics', async () => {
    const metrics = await scrape(api.url);
    if (onPostgres) {
      expect(metrics.value('db_pool_max_connections', { database: 'primary' })).toBe(5);
      expect(metrics.value('db_pool_connections', { database: 'primary' })).toBeGreaterThanOrEqual(1);
      expect(metrics.samples('db_pool_connections', { database: 'primary', state: 'in_use' })).toHaveLength(1);
      expect(metrics.samples('db_pool_waiting_requests', { database: 'primary' })).toHaveLength(1);
    } else {
      expect(metrics.samples('db_pool_connections')).toEqual([]);
    }
    for (const name of ['nodejs_eventloop_lag_p99_seconds', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_gc_duration_seconds']) {
      expect(metrics.families.has(name)).toBe(true);
    }
    expect(metrics.value('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('counts WebSocket connections, active subscriptions, their durations and errors', async () => {
    const before = await scrape(api.url);
    const client = createClient({ url: `${api.url.replace('http', 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    clients.push(client);
    let ended = false;
    const stop = client.subscribe(
      { query: 'subscription Watch($id: ID!) { portfolioChanged(nodeId: $id) { kinds } }', variables: { id: chain.fund.id } },
      { next: () => undefined, error: () => (ended = true), complete: () => (ended = true) },
    );
    const refused = new Promise<unknown>((resolve) => {
      client.subscribe({ query: 'subscription Bad { nope }' }, { next: () => undefined, error: resolve, complete: () => resolve(null) });
    });
    expect(await refused).toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) })]);
    await until(async () => (await scrape(api.url)).value('graphql_subscriptions_active') === 1);
    const open = await scrape(api.url);
    expect(open.value('graphql_websocket_connections')).toBe(1);
    expect(open.value('graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' }) - before.value('graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);

    stop();
    await until(async () => (await scrape(api.url)).value('graphql_subscriptions_active') === 0);
    expect(ended).toBe(true);
    const done = await scrape(api.url);
    expect(done.value(duration, { operation_type: 'subscription', operation_name: 'Watch' }) - before.value(duration, { operation_type: 'subscription', operation_name: 'Watch' })).toBe(1);
    await client.dispose();
    await until(async () => (await scrape(api.url)).value('graphql_websocket_connections') === 0);
  });
});

describe('bounds, tokens and instances', () => {
  it('keeps operation names to a bounded set, trusted names beyond it, and counts only its own requests', async () => {
    const first = await start();
    await graphql(first.url, 'query OnlyOnFirst { __typename }');
    const bounded = await start({ maxOperationNames: 10 });
    for (let i = 0; i < 1_000; i++) await graphql(bounded.url, `query Op${i} { __typename }`);
    bounded.service.metrics!.operationNames.trust(['Trusted']);
    await graphql(bounded.url, 'query Trusted { __typename }');

    const metrics = await scrape(bounded.url);
    const names = new Set(metrics.samples(duration, { operation_type: 'query' }).map((s) => s.labels.operation_name));
    expect(names).toEqual(new Set([...Array.from({ length: 10 }, (_, i) => `Op${i}`), 'other', 'Trusted']));
    expect(metrics.value(duration, { operation_name: 'other' })).toBe(990);
    expect(metrics.value(duration)).toBe(1_001);
    // Each service has a registry of its own: the first's operation is not in the second's figures, nor the reverse.
    expect(metrics.samples(duration, { operation_name: 'OnlyOnFirst' })).toEqual([]);
    const firstMetrics = await scrape(first.url);
    expect(firstMetrics.value(duration, { operation_name: 'OnlyOnFirst' })).toBe(1);
    expect(firstMetrics.value(duration)).toBe(1);
  });

  it('requires METRICS_TOKEN as a bearer token when set, and leaves /graphql alone', async () => {
    const guarded = await start({ token: 'scrape-secret' });
    for (const authorization of [undefined, 'Bearer wrong', 'scrape-secret', 'Basic scrape-secret']) {
      const response = await fetch(`${guarded.url}/metrics`, { headers: authorization ? { authorization } : {} });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    const metrics = await scrape(guarded.url, { authorization: 'Bearer scrape-secret' });
    expect(metrics.families.has('graphql_operation_duration_seconds')).toBe(true);
    expect((await graphql(guarded.url, '{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('serves no /metrics with METRICS_ENABLED=false', async () => {
    const off = await start({ enabled: false });
    expect(off.service.metrics).toBeNull();
    expect((await fetch(`${off.url}/metrics`)).status).toBe(404);
    expect((await graphql(off.url, '{ __typename }')).data).toEqual({ __typename: 'Query' });
  });
});
