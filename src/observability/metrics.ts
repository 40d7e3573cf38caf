// The service's Prometheus metrics (GET /metrics, README "Metrics and traces").
// One ServiceMetrics per createServer, with a registry of its own: tests start
// many servers in one process and each must count only its own requests. Node's
// process metrics (event-loop lag, GC, memory) describe the process, not a
// server: they are registered once per process and appended to every server's
// exposition.
//
// The hot path pays a few label look-ups per request: the HTTP middleware and
// the GraphQL plugin (./http.ts, ./graphql.ts) observe one histogram each.
// Everything that already keeps its own figures (the pool, the analytics cache,
// WebSocket connections) is read only when Prometheus scrapes.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DEFAULT_METRICS, type MetricsSettings } from '../config';
import { BoundedLabels } from './labels';

/** A connection pool's figures right now (pg's Pool: totalCount, idleCount, waitingCount). */
export interface PoolStats {
  total: number;
  idle: number;
  /** Requests waiting for a connection. */
  waiting: number;
  max: number;
}

/** An analytics cache's figures (src/services/analytics/cache.ts, AnalyticsCache.stats()). */
export interface CacheFigures {
  hits: number;
  stale: number;
  misses: number;
  entries: number;
  bytes: number;
}

/** What the ingestion resolvers report (through the request context). */
export interface IngestionMetrics {
  /** A position batch this instance finished (not one an idempotency key found again). */
  batchFinished(batch: { batchType: string; status: string; acceptedCount: number; rejectedCount: number }): void;
  /** A market-data feed this instance stored (not one found identical to a stored one). */
  feedStored(feed: { feedType: string | null; validationStatus: string | null }): void;
}

export type OperationType = 'query' | 'mutation' | 'subscription' | 'unknown';

// Seconds: from a cached `{ __typename }` (well under a millisecond) to a large upload or a
// long-lived subscription (past the last bucket: +Inf).
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];
const STATEMENT_BUCKETS = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233];

/** Distinct error codes with a label of their own (the contract has about twenty). */
const MAX_ERROR_CODES = 50;

let processRegistry: Registry | null = null;

/** Node's default metrics, collected once per process whatever the number of servers in it. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** A counter mirroring a running total kept elsewhere (read at scrape time). */
function mirroredCounter(registry: Registry, name: string, help: string, labelNames: string[], read: (set: (labels: Record<string, string>, total: number) => void) => void) {
  return new Counter({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      read((labels, total) => this.inc(labels, total));
    },
  });
}

export class ServiceMetrics implements IngestionMetrics {
  readonly registry = new Registry();
  /** Operation names with a label of their own (the first N seen, and the trusted ones). */
  readonly operationNames: BoundedLabels;
  private readonly errorCodes = new BoundedLabels(MAX_ERROR_CODES);
  private readonly pools = new Map<string, () => PoolStats>();
  private readonly caches: (() => CacheFigures)[] = [];
  private readonly sockets: (() => number)[] = [];

  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly operationDuration: Histogram<'operation_type' | 'operation_name'>;
  readonly operationStatements: Histogram<'operation_type'>;
  readonly errors: Counter<'code'>;
  readonly statements: Counter<'database'>;
  readonly subscriptions: Gauge;
  readonly replicaLag: Gauge<'replica'>;
  readonly replicaUp: Gauge<'replica'>;
  readonly batches: Counter<'batch_type' | 'status'>;
  readonly rows: Counter<'batch_type' | 'outcome'>;
  readonly feeds: Counter<'feed_type' | 'validation_status'>;

  constructor(options: { maxOperationNames: number }) {
    const registers = [this.registry];
    this.operationNames = new BoundedLabels(options.maxOperationNames);
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds', help: 'HTTP requests from arrival to the end of the response, by route (a known path or "other")',
      labelNames: ['method', 'route', 'status_code'], buckets: DURATION_BUCKETS, registers,
    });
    this.operationDuration = new Histogram({
      name: 'graphql_operation_duration_seconds',
      help: 'GraphQL operations from request to response (subscriptions: from subscribe to completion), by type and name ("other" past the first names seen)',
      labelNames: ['operation_type', 'operation_name'], buckets: DURATION_BUCKETS, registers,
    });
    this.operationStatements = new Histogram({
      name: 'graphql_operation_sql_statements', help: 'SQL statements per GraphQL operation over HTTP (only while LOG_STATEMENT_COUNTS counts them)',
      labelNames: ['operation_type'], buckets: STATEMENT_BUCKETS, registers,
    });
    this.errors = new Counter({ name: 'graphql_errors_total', help: 'GraphQL errors sent to clients, by extensions.code', labelNames: ['code'], registers });
    this.statements = new Counter({ name: 'sql_statements_total', help: 'SQL statements sent through Prisma or the direct read path (not the importer\'s bulk statements, migrations or health checks), by database', labelNames: ['database'], registers });
    this.subscriptions = new Gauge({ name: 'graphql_subscriptions_active', help: 'Subscriptions running over WebSocket', registers });
    this.replicaLag = new Gauge({ name: 'db_replica_lag_seconds', help: 'How far a read replica\'s replay is behind the primary', labelNames: ['replica'], registers });
    this.replicaUp = new Gauge({ name: 'db_replica_up', help: '1 when a read replica is in use, 0 when skipped (down or lagging)', labelNames: ['replica'], registers });
    this.batches = new Counter({ name: 'ingestion_batches_total', help: 'Position batches finished by this instance, by type and final status', labelNames: ['batch_type', 'status'], registers });
    this.rows = new Counter({ name: 'ingestion_rows_total', help: 'Rows of finished position batches, accepted or rejected', labelNames: ['batch_type', 'outcome'], registers });
    this.feeds = new Counter({ name: 'market_data_feeds_total', help: 'Market-data feeds stored by this instance, by type and validation status', labelNames: ['feed_type', 'validation_status'], registers });

    const pools = this.pools;
    const poolGauge = (name: string, help: string, labelNames: string[], read: (stats: PoolStats) => [Record<string, string>, number][]) =>
      new Gauge({
        name, help, labelNames, registers,
        collect() {
          this.reset();
          for (const [database, stats] of pools) for (const [labels, value] of read(stats())) this.set({ database, ...labels }, value);
        },
      });
    poolGauge('db_pool_connections', 'Pooled database connections, in use or idle', ['database', 'state'], (s) => [[{ state: 'in_use' }, s.total - s.idle], [{ state: 'idle' }, s.idle]]);
    poolGauge('db_pool_waiting_requests', 'Requests waiting for a pooled connection', ['database'], (s) => [[{}, s.waiting]]);
    poolGauge('db_pool_max_connections', 'The pool\'s bound (DB_POOL_MAX)', ['database'], (s) => [[{}, s.max]]);

    const caches = this.caches;
    const sum = (key: keyof CacheFigures) => caches.reduce((total, stats) => total + stats()[key], 0);
    mirroredCounter(this.registry, 'analytics_cache_hits_total', 'Analytics answers served from the cache', [], (set) => set({}, sum('hits')));
    mirroredCounter(this.registry, 'analytics_cache_misses_total', 'Analytics answers computed: absent from the cache, or stale (the data had changed)', ['reason'], (set) => {
      set({ reason: 'absent' }, sum('misses'));
      set({ reason: 'stale' }, sum('stale'));
    });
    const cacheGauge = (name: string, help: string, key: keyof CacheFigures) =>
      new Gauge({ name, help, registers, collect() { this.set(sum(key)); } });
    cacheGauge('analytics_cache_bytes', 'Estimated size of the cached analytics answers (bounded by ANALYTICS_CACHE_MB)', 'bytes');
    cacheGauge('analytics_cache_entries', 'Cached analytics answers', 'entries');
    const sockets = this.sockets;
    new Gauge({
      name: 'graphql_websocket_connections', help: 'Open WebSocket connections', registers,
      collect() { this.set(sockets.reduce((total, count) => total + count(), 0)); },
    });
  }

  /** Pool figures of a database under `database` (e.g. "primary", "replica-1"); returns the unregister function. */
  registerPool(database: string, stats: () => PoolStats): () => void {
    this.pools.set(database, stats);
    return () => void this.pools.delete(database);
  }

  /** Counts the statements a database sends (its onQuery events) under `database`, and its pool figures when it has a pool. */
  registerDatabase(database: string, db: { onQuery(listener: () => void): () => void; poolStats?(): PoolStats }): () => void {
    const counter = this.statements.labels(database);
    const off = db.onQuery(() => counter.inc());
    const offPool = db.poolStats ? this.registerPool(database, () => db.poolStats!()) : () => undefined;
    return () => {
      off();
      offPool();
    };
  }

  /** A read replica's replay lag (null: unknown, e.g. unreachable: the series is removed). */
  setReplicaLag(replica: string, seconds: number | null): void {
    if (seconds === null) this.replicaLag.remove(replica);
    else this.replicaLag.set({ replica }, seconds);
  }

  /** Whether a read replica is being used (false: down or lagging past REPLICA_MAX_LAG_MS). */
  setReplicaUp(replica: string, up: boolean): void {
    this.replicaUp.set({ replica }, up ? 1 : 0);
  }

  observeAnalyticsCache(stats: () => CacheFigures): void {
    this.caches.push(stats);
  }

  observeWebSocketConnections(count: () => number): void {
    this.sockets.push(count);
  }

  countError(code: string): void {
    this.errors.inc({ code: this.errorCodes.label(code) });
  }

  batchFinished(batch: { batchType: string; status: string; acceptedCount: number; rejectedCount: number }): void {
    this.batches.inc({ batch_type: batch.batchType, status: batch.status });
    this.rows.inc({ batch_type: batch.batchType, outcome: 'accepted' }, batch.acceptedCount);
    this.rows.inc({ batch_type: batch.batchType, outcome: 'rejected' }, batch.rejectedCount);
  }

  feedStored(feed: { feedType: string | null; validationStatus: string | null }): void {
    this.feeds.inc({ feed_type: feed.feedType ?? 'unknown', validation_status: feed.validationStatus ?? 'unknown' });
  }

  /** A server's metrics as configured (METRICS_*), null when turned off. */
  static of(settings: MetricsSettings = DEFAULT_METRICS): ServiceMetrics | null {
    return settings.enabled ? new ServiceMetrics(settings) : null;
  }

  /** The Prometheus text exposition: this server's metrics, then the process's. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    const [own, node] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return { contentType: this.registry.contentType, body: own + node };
  }
}
