// The health of read replicas (src/db/replicas.ts): a check every REPLICA_CHECK_MS
// reads the primary's WAL position and each replica's replay position.
//
// Lag in bytes is the difference. Lag in time is how long ago the primary
// first passed a position the replica has not replayed yet, from the checks'
// own samples of the primary's position: a lower bound, exact to a check
// interval. Replay timestamps (pg_last_xact_replay_timestamp) are not used: on
// an idle primary the last commit is old, and a replica that has replayed
// everything would look far behind.
//
// A replica that does not answer (within CHECK_TIMEOUT_MS), is not a standby
// (promoted, or the wrong server), or lags more than REPLICA_MAX_LAG_MS is not
// in use until a later check finds it well; a request that finds it down marks
// it so at once (failed()). Changes are logged: 'replica in use', 'replica
// skipped' with the reason (down: ..., lagging: ..., not a standby).
import type { ReplicaConfig } from '../config';
import type { Logger } from '../logger';
import type { Database } from './database';
import { parseLsn, type Lsn, type PrimaryWal } from './wal';

/** A health check's reads give up after this long: the replica counts as down. */
const CHECK_TIMEOUT_MS = 2_000;

export interface ReplicaStatus {
  /** 'replica-1', ... in DATABASE_REPLICA_URLS order (a metric label). */
  name: string;
  /** host:port/database, without credentials. */
  url: string;
  /** Answered the last check as a standby. */
  up: boolean;
  /** Up and within REPLICA_MAX_LAG_MS: read operations go to it. */
  inUse: boolean;
  lagMs: number | null;
  lagBytes: number | null;
  /** Read operations routed to it by this process. */
  reads: number;
}

export const urlLabel = (url: string): string => {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'replica';
  }
};

/** `promise`, or a rejection after `ms`. */
export function timeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

export class Replica {
  up = false;
  lagMs: number | null = null;
  lagBytes: number | null = null;
  replay: Lsn | null = null;
  reads = 0;
  /** Why it is not in use (for the log of a change); null when in use. */
  reason: string | null = 'not checked yet';
  /** knownAt finality on this replica (settleKnownAtOnStandby). */
  readonly finality = { before: 0 };
  private poll: Promise<Lsn | null> | null = null;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly db: Database,
  ) {}

  inUse(maxLagMs: number): boolean {
    return this.up && this.lagMs !== null && this.lagMs <= maxLagMs;
  }

  /** The replay position now (one statement at a time, shared by every request waiting). */
  replayPosition(): Promise<Lsn | null> {
    this.poll ??= timeout(this.db.sql.query<{ lsn: string | null }>('SELECT pg_last_wal_replay_lsn()::text AS lsn'), CHECK_TIMEOUT_MS)
      .then(([row]) => {
        const lsn = parseLsn(row?.lsn);
        if (lsn !== null && (this.replay === null || lsn > this.replay)) this.replay = lsn;
        return lsn;
      })
      .finally(() => (this.poll = null));
    return this.poll;
  }
}

export class ReplicaHealth {
  /** The primary's position as sampled by the checks (oldest first), for lag in time. */
  private samples: { at: number; lsn: Lsn }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private readonly listeners = new Set<(status: ReplicaStatus[]) => void>();

  constructor(
    readonly replicas: Replica[],
    private readonly wal: PrimaryWal,
    private readonly settings: ReplicaConfig,
    private readonly logger: Logger,
  ) {}

  /** Checks once now, then every REPLICA_CHECK_MS. */
  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), this.settings.checkIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
  }

  inUse(): Replica[] {
    return this.replicas.filter((r) => r.inUse(this.settings.maxLagMs));
  }

  status(): ReplicaStatus[] {
    return this.replicas.map((r) => ({
      name: r.name, url: r.url, up: r.up, inUse: r.inUse(this.settings.maxLagMs), lagMs: r.lagMs, lagBytes: r.lagBytes, reads: r.reads,
    }));
  }

  /** Called after every check; returns the unsubscribe function. */
  onCheck(listener: (status: ReplicaStatus[]) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** A replica that failed a request or a check: skipped until a check finds it well. */
  failed(replica: Replica, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.update(replica, { up: false, lagMs: null, lagBytes: null }, `down: ${message}`);
  }

  /** Records a replica's state; logs when it comes into use, and when it is skipped for a new kind of reason. */
  private update(replica: Replica, state: Pick<Replica, 'up' | 'lagMs' | 'lagBytes'>, reason: string | null): void {
    Object.assign(replica, state);
    const inUse = replica.inUse(this.settings.maxLagMs);
    const why = inUse ? null : (reason ?? `lagging: ${replica.lagMs} ms behind (REPLICA_MAX_LAG_MS ${this.settings.maxLagMs})`);
    const kind = (text: string | null) => text?.split(':')[0] ?? null;
    if (inUse && replica.reason !== null) this.logger.info({ replica: replica.name, url: replica.url, lagMs: replica.lagMs }, 'replica in use');
    if (!inUse && kind(why) !== kind(replica.reason)) this.logger.warn({ replica: replica.name, url: replica.url, reason: why }, 'replica skipped');
    replica.reason = why;
  }

  /** One health check of every replica (at most one at a time). */
  check(): Promise<void> {
    this.checking ??= this.checkAll().finally(() => (this.checking = null));
    return this.checking;
  }

  private async checkAll(): Promise<void> {
    const primary = await timeout(this.wal.position(), CHECK_TIMEOUT_MS).catch(() => null);
    const now = Date.now();
    if (primary !== null) {
      this.samples.push({ at: now, lsn: primary });
      // Kept long enough to tell any lag up to well past the bound.
      const keep = now - Math.max(2 * this.settings.maxLagMs, 60_000);
      while (this.samples.length > 1 && this.samples[0]!.at < keep) this.samples.shift();
    }
    await Promise.all(this.replicas.map((r) => this.checkReplica(r, primary)));
    const status = this.status();
    for (const listener of this.listeners) listener(status);
  }

  private async checkReplica(replica: Replica, primary: Lsn | null): Promise<void> {
    try {
      const [row] = await timeout(
        replica.db.sql.query<{ standby: boolean; replay: string | null }>('SELECT pg_is_in_recovery() AS standby, pg_last_wal_replay_lsn()::text AS replay'),
        CHECK_TIMEOUT_MS,
      );
      const replay = parseLsn(row?.replay);
      if (!row?.standby || replay === null) {
        this.update(replica, { up: false, lagMs: null, lagBytes: null }, 'not a standby (promoted, or not a replica): not used');
        return;
      }
      if (replica.replay === null || replay > replica.replay) replica.replay = replay;
      const now = Date.now();
      // The first sample the replica has not replayed: since then it has lacked WAL the primary had.
      const behind = this.samples.find((s) => s.lsn > replay);
      const lagMs = behind ? now - behind.at : 0;
      const lagBytes = primary === null ? null : Number(primary > replay ? primary - replay : 0n);
      this.update(replica, { up: true, lagMs, lagBytes }, null);
    } catch (error) {
      this.failed(replica, error);
    }
  }
}
