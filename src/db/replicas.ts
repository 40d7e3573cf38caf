// Read replicas (DATABASE_REPLICA_URLS): PostgreSQL hot standbys that take the
// read-only operations, with read-your-writes through consistency tokens.
//
// - A mutation's answer carries the primary's WAL position after its commits
//   (src/db/wal.ts; the x-consistency-token header). A query that sends it back
//   is served by a replica only once that replica's pg_last_wal_replay_lsn()
//   has reached it, waiting at most TOKEN_WAIT_MS, else by the primary.
// - A replica that is down, not a standby, or more than REPLICA_MAX_LAG_MS
//   behind is skipped until a later check finds it well again (health and lag:
//   src/db/replicaHealth.ts). A statement that fails on a replica because it
//   went away runs again on the primary (src/db/readRoute.ts): no error reaches
//   the client.
// - A knownAt read on a replica is settled on the primary and then waits for
//   the replica to replay past it (settleKnownAtOnStandby), else goes on on the
//   primary: a pinned answer never misses what the primary had recorded.
//
// Mutations, and subscriptions (their listener, and the reads of their events)
// use the primary only. An event follows the primary's notification of a
// commit: a replica may not have replayed that commit yet, and an event read
// there would send the subscriber the old value with no later event to correct
// it. Events are computed once per change and argument set, not per
// subscriber (src/live), so this costs the primary little.
import type { DatabaseConfig, ReplicaConfig } from '../config';
import { silentLogger, type Logger } from '../logger';
import { settleKnownAt, settleKnownAtOnStandby, type Settle } from '../services/time/knownAt';
import { openDatabase, type Database } from './database';
import { ReadRoute } from './readRoute';
import { Replica, ReplicaHealth, urlLabel, type ReplicaStatus } from './replicaHealth';
import { formatLsn, parseLsn, PrimaryWal, type Lsn } from './wal';

export { timeout, type ReplicaStatus } from './replicaHealth';

export const CONSISTENCY_TOKEN_HEADER = 'x-consistency-token';
/** How long a request with a consistency token waits for a replica to replay it before the primary answers. */
export const TOKEN_WAIT_MS = 100;
const POLL_MS = 5;

/** The database an operation runs on, with how its knownAt values settle there, and a name for logs. */
export interface DatabaseChoice {
  db: Database;
  settle?: Settle;
  label: string;
  /** A replica's operation that goes on on the primary calls this once, with why. */
  onSwitch?(listener: (why: string) => void): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class ReplicaSet {
  private readonly wal: PrimaryWal;
  private readonly health: ReplicaHealth;
  private turn = 0;
  private primaryReads = 0;

  private constructor(
    private readonly primary: Database,
    replicas: Replica[],
    settings: ReplicaConfig,
    logger: Logger,
  ) {
    this.wal = new PrimaryWal(primary.sql);
    this.health = new ReplicaHealth(replicas, this.wal, settings, logger);
  }

  /**
   * Opens a pool per replica (with the primary's pool settings) and checks them once; never fails for a
   * replica that is down (it is skipped until a check finds it). `primaryConfig` is DATABASE_URL's.
   */
  static async open(
    primary: Database, primaryConfig: Extract<DatabaseConfig, { kind: 'postgres' }>, settings: ReplicaConfig, options: { logger?: Logger } = {},
  ): Promise<ReplicaSet> {
    const logger = options.logger ?? silentLogger;
    const replicas = await Promise.all(
      settings.urls.map(async (url, i) => new Replica(`replica-${i + 1}`, urlLabel(url), await openDatabase({ ...primaryConfig, url }, { logger }))),
    );
    const set = new ReplicaSet(primary, replicas, settings, logger);
    await set.health.start();
    return set;
  }

  /** Per replica: up, in use, lag, reads routed to it. */
  status(): ReplicaStatus[] {
    return this.health.status();
  }

  /** Read operations this process sent to the primary (no replica in use, or none had replayed the token in time). */
  get readsOnPrimary(): number {
    return this.primaryReads;
  }

  /** The replicas' databases by name (for metrics: pools and statement counts). */
  databases(): { name: string; db: Database }[] {
    return this.health.replicas.map((r) => ({ name: r.name, db: r.db }));
  }

  /** Called after every health check; returns the unsubscribe function. */
  onCheck(listener: (status: ReplicaStatus[]) => void): () => void {
    return this.health.onCheck(listener);
  }

  /** Checks every replica now (the background check does it every REPLICA_CHECK_MS). */
  check(): Promise<void> {
    return this.health.check();
  }

  /** The primary's WAL position as a consistency token (src/db/wal.ts). */
  async consistencyToken(): Promise<string> {
    return formatLsn(await this.wal.position());
  }

  /**
   * The database of a read-only operation: a replica in use (the next in turn), or with a consistency token
   * (the header's value) one that has replayed it within TOKEN_WAIT_MS; else the primary. A header that is
   * not a WAL position cannot be checked: the primary answers.
   */
  async forRead(header: string | undefined): Promise<DatabaseChoice> {
    const token = header === undefined ? null : parseLsn(header);
    const inUse = header !== undefined && token === null ? [] : this.health.inUse();
    const replica = inUse.length === 0 ? null : token === null ? inUse[this.turn++ % inUse.length]! : await this.replayedBy(inUse, token);
    if (!replica) {
      this.primaryReads++;
      return { db: this.primary, label: 'primary' };
    }
    replica.reads++;
    return this.choice(replica);
  }

  async close(): Promise<void> {
    await this.health.stop();
    await Promise.all(this.health.replicas.map((r) => r.db.close()));
  }

  /** A replica (of `candidates`) that has replayed `token`, waiting up to `waitMs`; null when none. */
  private async replayedBy(candidates: Replica[], token: Lsn, waitMs = TOKEN_WAIT_MS): Promise<Replica | null> {
    const deadline = Date.now() + waitMs;
    for (let round = 0; ; round++) {
      const ready = candidates.filter((r) => r.replay !== null && r.replay >= token);
      if (ready.length > 0) return ready[this.turn++ % ready.length]!;
      if (round > 0 && Date.now() >= deadline) return null;
      if (round > 0) await sleep(POLL_MS);
      await Promise.all(candidates.map((r) => r.replayPosition().catch((error: unknown) => this.health.failed(r, error))));
      candidates = candidates.filter((r) => r.up);
      if (candidates.length === 0) return null;
    }
  }

  /** A replica's route for one operation, and how its knownAt values settle there. */
  private choice(replica: Replica): DatabaseChoice {
    const route = new ReadRoute(replica.db, this.primary, (error, reason) => {
      if (reason === 'unavailable') this.health.failed(replica, error);
    });
    const view = {
      primary: this.primary.prisma,
      primaryPosition: () => this.wal.position(),
      replayed: (position: Lsn, waitMs: number) => this.replayedBy([replica], position, waitMs).then((r) => r !== null, () => false),
      finality: replica.finality,
      waitMs: TOKEN_WAIT_MS,
    };
    const settle: Settle = async (value, field, options) => {
      if (route.usesPrimary) return settleKnownAt(this.primary.prisma, value, field, options);
      const { knownAt, replayed } = await settleKnownAtOnStandby(view, value, field, options);
      if (!replayed) route.toPrimary('replica behind a pinned knownAt');
      return knownAt;
    };
    return { db: route.db, settle, label: replica.name, onSwitch: (listener) => route.onSwitch(listener) };
  }
}
