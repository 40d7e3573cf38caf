// The process's ear on the database (issue 13): the NOTIFY payloads of the triggers of migration
// 20261205140000_live_notify become LiveEvents for this process's subscribers.
//
// PostgreSQL: one dedicated pg Client, not from the request pool (a LISTEN belongs to a session;
// through PgBouncer in transaction pooling it would not work). Notifications sent while that
// session is gone are lost for good, so when it fails or ends the listener reconnects (100 ms
// doubling to 5 s), LISTENs again and only then emits a ResyncEvent: subscribers refetch, as
// nothing says what they missed. A failed first connection is retried the same way. Nothing here
// throws into the process: every failure is logged and retried until close().
//
// Embedded: PGlite's own listen API on the process's one PGlite instance (every writer shares it,
// and nothing can be missed, so there is no reconnecting and no resync).
import type { PGlite } from '@electric-sql/pglite';
import { Client, type Notification } from 'pg';
import type { Database } from '../db/database';
import { silentLogger, type Logger } from '../logger';
import type { ChangeEvent, LiveEvent, LiveEvents, PortfolioChangeKind } from './events';

/** The channel of migration 20261205140000_live_notify. */
export const LIVE_CHANNEL = 'pds_live';
/** application_name of the listening session (pg_stat_activity). */
export const LIVE_APPLICATION_NAME = 'portfolio-data-service-live';

/** Where to listen: the process's database and its configuration (a DatabaseConfig fits). */
export type LiveSourceConfig = { kind: 'postgres'; url: string; connectTimeoutMs?: number } | { kind: 'embedded' };

export interface LiveEventsOptions {
  logger?: Logger;
  /** First reconnect delay after the listening connection is lost (ms, default 100); doubles each failed attempt. */
  minBackoffMs?: number;
  /** Longest reconnect delay (ms, default 5,000). */
  maxBackoffMs?: number;
  /**
   * How often the idle listening connection is checked with a trivial query (ms, default 30,000; 0: never): a
   * connection that silently stopped answering (a network cut) is replaced instead of waiting for TCP to notice.
   */
  heartbeatMs?: number;
}

const KINDS: ReadonlySet<string> = new Set<PortfolioChangeKind>(['POSITIONS', 'VALUATIONS', 'STRUCTURE', 'SNAPSHOTS', 'REFERENCE_DATA', 'MARKET_DATA']);

const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');

/**
 * A notification's payload as a ChangeEvent (committedAt: `at`), or null when it is not one: not JSON, an
 * unknown kind, ids of the wrong type, or neither a kind nor a batch. `k` may be one kind or a list.
 */
export function parseLivePayload(payload: string, at: string): ChangeEvent | null {
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return null;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const p = raw as Record<string, unknown>;
  const kinds = p.k === undefined || p.k === null ? [] : Array.isArray(p.k) ? p.k : [p.k];
  if (!kinds.every((k) => typeof k === 'string' && KINDS.has(k))) return null;
  const fundIds = p.f ?? [];
  const nodeIds = p.n === undefined ? [] : p.n;
  if (!isStringArray(fundIds) || (nodeIds !== null && !isStringArray(nodeIds))) return null;
  if (p.b !== undefined && typeof p.b !== 'string') return null;
  if ((p.fd !== undefined || p.ft !== undefined) && (typeof p.fd !== 'string' || typeof p.ft !== 'string')) return null;
  if (kinds.length === 0 && p.b === undefined) return null;
  return {
    type: 'change',
    kinds: kinds as PortfolioChangeKind[],
    fundIds,
    nodeIds,
    ...(typeof p.fd === 'string' ? { feed: { id: p.fd, feedType: p.ft as string } } : {}),
    ...(typeof p.b === 'string' ? { batchId: p.b } : {}),
    committedAt: at,
  };
}

/** The subscribers of one process; a subscriber that throws is logged and the others still get the event. */
class Subscribers {
  private readonly listeners = new Set<(event: LiveEvent) => void>();
  constructor(private readonly logger: Logger) {}

  subscribe(listener: (event: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(event: LiveEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error({ err: (error as Error)?.message }, 'live event subscriber failed');
      }
    }
  }

  /** A notification's payload; a malformed one is logged and dropped. */
  payload(payload: string | undefined): void {
    const event = parseLivePayload(payload ?? '', new Date().toISOString());
    if (event) this.emit(event);
    else this.logger.warn({ payload: (payload ?? '').slice(0, 200) }, 'malformed live notification ignored');
  }
}

/** One dedicated listening session on PostgreSQL, replaced whenever it fails or ends. */
class PostgresListener {
  private client: Client | null = null;
  private retry: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private closed = false;
  /** Set when listening stopped (or never started): the next LISTEN is followed by a ResyncEvent. */
  private missed = false;
  private delay: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly source: Extract<LiveSourceConfig, { kind: 'postgres' }>,
    private readonly options: LiveEventsOptions,
    private readonly subscribers: Subscribers,
    private readonly logger: Logger,
  ) {
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = Math.max(this.minBackoffMs, options.maxBackoffMs ?? 5_000);
    this.delay = this.minBackoffMs;
  }

  /** One attempt to connect and LISTEN; resolves either way (a failed attempt is retried in the background). */
  async connect(): Promise<void> {
    this.retry = null;
    if (this.closed) return;
    let client: Client;
    try {
      client = this.newClient();
    } catch (error) {
      this.missed = true;
      this.retryLater(error);
      return;
    }
    try {
      await client.connect();
      await client.query(`LISTEN ${LIVE_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.client !== client) return; // lost (or closed) while connecting
    this.delay = this.minBackoffMs;
    this.startHeartbeat(client);
    if (this.missed) {
      this.missed = false;
      this.logger.info('live listener listening again; subscribers told to refetch');
      this.subscribers.emit({ type: 'resync', at: new Date().toISOString() });
    }
  }

  /** The listening session's client, wired: notifications go to the subscribers, failures to lost(). */
  private newClient(): Client {
    const timeoutMs = this.source.connectTimeoutMs ?? 5_000;
    const client = new Client({
      connectionString: this.source.url,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: Math.max(10_000, timeoutMs),
      application_name: LIVE_APPLICATION_NAME,
      keepAlive: true,
    });
    this.client = client;
    client.on('notification', (message: Notification) => {
      if (this.client === client && message.channel === LIVE_CHANNEL) this.subscribers.payload(message.payload);
    });
    // pg emits 'error' on a broken connection whatever it is doing: without a listener the process would crash.
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    return client;
  }

  private startHeartbeat(client: Client): void {
    const every = this.options.heartbeatMs ?? 30_000;
    if (every <= 0) return;
    this.heartbeat = setInterval(() => {
      client.query('SELECT 1').catch((error: unknown) => this.lost(client, error));
    }, every);
    this.heartbeat.unref();
  }

  /** The session `client` failed or ended: drop it and, unless closed, try again after the current delay. */
  private lost(client: Client, error?: unknown): void {
    if (this.client !== client) return; // already handled: 'error' and 'end' both come
    this.client = null;
    this.missed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    client.end().catch(() => undefined);
    this.retryLater(error);
  }

  /** The next attempt, after the current delay (which then doubles, up to the cap); none once closed. */
  private retryLater(error: unknown): void {
    if (this.closed) return;
    const delay = this.delay;
    this.delay = Math.min(this.delay * 2, this.maxBackoffMs);
    this.logger.warn({ err: error instanceof Error ? error.message : undefined, retryInMs: delay }, 'live listener lost its database connection');
    this.retry = setTimeout(() => {
      this.connect().catch((e: unknown) => this.retryLater(e));
    }, delay);
    this.retry.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.retry = this.heartbeat = null;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }
}

async function listenEmbedded(pglite: PGlite, subscribers: Subscribers): Promise<() => Promise<void>> {
  const unlisten = await pglite.listen(LIVE_CHANNEL, (payload) => subscribers.payload(payload));
  return async () => {
    if (!pglite.closed) await unlisten().catch(() => undefined);
  };
}

/**
 * The live events of this process. Resolves once listening (PGlite), or after the first attempt to connect
 * and LISTEN on PostgreSQL: should that fail, it goes on trying in the background and a ResyncEvent follows
 * once it listens. `close()` stops listening and reconnecting.
 */
export async function createLiveEvents(
  db: Pick<Database, 'pglite'>,
  config: LiveSourceConfig,
  options: LiveEventsOptions = {},
): Promise<LiveEvents> {
  const logger = options.logger ?? silentLogger;
  const subscribers = new Subscribers(logger);
  let stop: () => Promise<void>;
  if (config.kind === 'postgres') {
    const listener = new PostgresListener(config, options, subscribers, logger);
    await listener.connect();
    stop = () => listener.close();
  } else {
    if (!db.pglite) throw new Error('an embedded database without its PGlite instance cannot be listened to');
    stop = await listenEmbedded(db.pglite, subscribers);
  }
  let closing: Promise<void> | null = null;
  return {
    subscribe: (listener) => subscribers.subscribe(listener),
    close: () => (closing ??= stop()),
  };
}
