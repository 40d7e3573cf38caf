// The two clocks of every as-of read: valid time (a business date, `asOf`) and
// recorded time (`knownAt`, a moment; null means now: the versions current
// when the statement runs).
//
// Recorded time is assigned by the database (recording_stamp(), migration
// 20261204120000): one stamp per writing transaction, taken when it first
// records, under an advisory lock whose key carries the stamp's millisecond
// and which pg_locks shows to every session until the transaction ends. A
// read pinned at K is final once no transaction is still in flight whose
// stamp may be at or before K (recording_horizon() > K): anything recorded
// later is stamped later than K. So a pinned read first settles K: it waits
// briefly for such writers to finish, and refuses K when they do not (a long
// upload): its answer would change when they commit. A read served by a hot
// standby settles K on the primary, then uses the standby only once it has
// replayed the primary's WAL past that settling (settleKnownAtOnStandby).
import type { Prisma as Db } from '../../db/database';
import { badInput } from '../../errors';
import { Prisma } from '../../generated/prisma/client';

/** A settled knownAt as SQL text ('...Z', millisecond precision), or null for now. */
export type KnownAt = string | null;

/** How long a pinned read waits for writers still recording before its knownAt. */
export const SETTLE_WAIT_MS = 3_000;
const POLL_MS = 25;

export interface SettleOptions {
  /** When the request arrived: a knownAt after it is in the future. */
  arrivedAt: Date;
  waitMs?: number;
}

/**
 * Per database: every recording stamp before this moment (epoch ms) belongs to a committed transaction.
 * Finality only grows, so a knownAt before it needs no look at pg_locks. A look at time T (the database's
 * clock, read before pg_locks) that finds the earliest key H of writers in flight makes everything before
 * min(T, H) final: a writer it did not see takes its stamp after its lock is granted, after the look began.
 */
const finalBefore = new WeakMap<object, number>();

async function lookAtWriters(prisma: Db): Promise<{ final: number; horizon: Date | null }> {
  const [row] = await prisma.$queryRaw<{ now: Date; horizon: Date | null }[]>`
    WITH t AS MATERIALIZED (SELECT clock_timestamp() AS now) SELECT t.now, recording_horizon() AS horizon FROM t`;
  const horizon = row?.horizon ?? null;
  const final = Math.min(row!.now.getTime(), horizon?.getTime() ?? Infinity);
  finalBefore.set(prisma, Math.max(finalBefore.get(prisma) ?? 0, final));
  return { final, horizon };
}

/** A knownAt that is a moment, not after the request arrived; BAD_USER_INPUT otherwise. */
function checkedMoment(value: unknown, field: string, options: SettleOptions): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) throw badInput(field, `${field} must be a date and time with an offset`);
  if (value.getTime() > options.arrivedAt.getTime()) {
    throw badInput(field, `${field} ${value.toISOString()} is in the future (the request arrived at ${options.arrivedAt.toISOString()})`);
  }
  return value;
}

/** The knownAt of a request, checked and settled (see the file comment); null when not given. */
export async function settleKnownAt(prisma: Db, value: Date | null | undefined, field: string, options: SettleOptions): Promise<KnownAt> {
  if (value === null || value === undefined) return null;
  checkedMoment(value, field, options);
  const knownAt = value.toISOString();
  if (value.getTime() < (finalBefore.get(prisma) ?? 0)) return knownAt;
  const deadline = Date.now() + (options.waitMs ?? SETTLE_WAIT_MS);
  for (;;) {
    const { final, horizon } = await lookAtWriters(prisma);
    if (value.getTime() < final) return knownAt;
    if (horizon === null || horizon.getTime() > value.getTime()) return knownAt;
    if (Date.now() >= deadline) {
      throw badInput(
        field,
        `${field} ${knownAt} is not settled yet: a write that began recording at ${horizon.toISOString()} is still in progress, ` +
          'and its rows will be known from that moment once it commits. Ask again when it has finished, or pin an earlier knownAt',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * A read on a hot standby of the recording database (src/db/replicas.ts). The standby's pg_locks does not
 * show the primary's writers, and its rows are those it has replayed: a knownAt is settled on the primary,
 * and is final on the standby once the standby has replayed the primary's WAL up to a position read after
 * the settling (every writer with an earlier stamp committed before, so its commit record lies before).
 */
export interface StandbyView {
  /** The primary's client: where recording_horizon() sees the writers in flight. */
  primary: Db;
  /** The primary's WAL position now: at or after the end of every commit record written so far. */
  primaryPosition(): Promise<bigint>;
  /** Resolves true once the standby has replayed `position`, false when it has not within `waitMs`. */
  replayed(position: bigint, waitMs: number): Promise<boolean>;
  /** The standby's own mark (epoch ms): every stamp before it is replayed there. Only grows. */
  finality: { before: number };
  /** How long a read waits for the standby to replay before it is told to read the primary. */
  waitMs: number;
}

/**
 * settleKnownAt for a read served by a standby. `replayed` false: the standby has not caught up with the
 * settled moment in time, and the read must go on on the primary (where `knownAt` is final).
 */
export async function settleKnownAtOnStandby(
  view: StandbyView, value: Date | null | undefined, field: string, options: SettleOptions,
): Promise<{ knownAt: KnownAt; replayed: boolean }> {
  if (value === null || value === undefined) return { knownAt: null, replayed: true };
  if (checkedMoment(value, field, options).getTime() < view.finality.before) return { knownAt: value.toISOString(), replayed: true };
  const knownAt = await settleKnownAt(view.primary, value, field, options);
  // Read before the position: every stamp before `final` had committed when the position was read.
  const final = finalBefore.get(view.primary) ?? 0;
  const replayed = await view.replayed(await view.primaryPosition(), view.waitMs);
  if (replayed) view.finality.before = Math.max(view.finality.before, final);
  return { knownAt, replayed };
}

/**
 * A settled moment at or just before `arrivedAt`, for pictures taken "as known now" that must be
 * reproducible at their own timestamp (snapshots): `arrivedAt` once no write of this database that began
 * recording before it is still in flight (waiting for such writes as a pinned read does), else - a long
 * write still running after the wait - the moment just before that write began recording.
 */
export async function settledNow(prisma: Db, arrivedAt: Date, waitMs = SETTLE_WAIT_MS): Promise<string> {
  const at = arrivedAt.getTime();
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (at < (finalBefore.get(prisma) ?? 0)) return arrivedAt.toISOString();
    const { final, horizon } = await lookAtWriters(prisma);
    if (at < final || horizon === null || horizon.getTime() > at) return arrivedAt.toISOString();
    if (Date.now() >= deadline) return new Date(Math.min(at, horizon.getTime() - 1)).toISOString();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/**
 * The versions of a table (alias) as known at K: recorded by then and not yet superseded; for now
 * (null), the current versions.
 */
export function knownSql(alias: string, knownAt: KnownAt): Prisma.Sql {
  const a = Prisma.raw(alias);
  return knownAt === null
    ? Prisma.sql`${a}.superseded_at IS NULL`
    : Prisma.sql`(${a}.recorded_at <= ${knownAt}::timestamptz AND (${a}.superseded_at IS NULL OR ${a}.superseded_at > ${knownAt}::timestamptz))`;
}

/** The same with K an SQL expression of the statement (a column: one K per row; null: now). */
export function knownSqlOf(alias: string, knownAt: Prisma.Sql): Prisma.Sql {
  const a = Prisma.raw(alias);
  const k = Prisma.sql`COALESCE(${knownAt}, 'infinity'::timestamptz)`;
  return Prisma.sql`(${a}.recorded_at <= ${k} AND (${a}.superseded_at IS NULL OR ${a}.superseded_at > ${k}))`;
}

/** The same, as text with a $n placeholder for K (for statements sent through SqlRunner). */
export function knownText(alias: string, knownAtParam: string): string {
  return `(${alias}.recorded_at <= ${knownAtParam}::timestamptz AND (${alias}.superseded_at IS NULL OR ${alias}.superseded_at > ${knownAtParam}::timestamptz))`;
}

/** Today's date (UTC) at the moment the request arrived, 'YYYY-MM-DD'. */
export const todayOf = (arrivedAt: Date): string => arrivedAt.toISOString().slice(0, 10);

/** How a request settles a knownAt (settleKnownAt on its own database unless told otherwise). */
export type Settle = (value: Date, field: string, options: SettleOptions) => Promise<KnownAt>;

/** Per request: each knownAt settled once, however many fields ask. */
export class RequestClock {
  private readonly settled = new Map<string, Promise<KnownAt>>();

  constructor(
    private readonly prisma: Db,
    readonly arrivedAt: Date = new Date(),
    /** A read on a standby settles through settleKnownAtOnStandby (src/db/replicas.ts). */
    private readonly settle: Settle = (value, field, options) => settleKnownAt(this.prisma, value, field, options),
  ) {}

  get today(): string {
    return todayOf(this.arrivedAt);
  }

  knownAt(value: Date | null | undefined, field = 'knownAt'): Promise<KnownAt> {
    if (value === null || value === undefined) return Promise.resolve(null);
    const key = `${field}|${value instanceof Date ? value.getTime() : String(value)}`;
    let settled = this.settled.get(key);
    if (!settled) {
      settled = this.settle(value, field, { arrivedAt: this.arrivedAt });
      this.settled.set(key, settled);
    }
    return settled;
  }
}
