// liveExposure as a live query: subscribers asking the same question (node,
// dimension, currency, look-through, top) form one group, and a group computes
// once per change for all its members, through the analytics cache (so a
// change that left the inputs as they were costs one fingerprint statement).
//
// A group recomputes when a committed write may have changed its answer: a
// write to its fund, a firm-wide write of reference data, FX rates or ratings,
// or a resync; a write naming its nodes only concerns the groups of those
// nodes and their ancestors. Bursts are throttled: a group sends at least one
// interval (1 s) after its previous send, and its next computation starts as
// long before that as the last one took (so a change waits at most about an
// interval); the last change of a burst is always followed by one. At most
// four computations run at once (they share the request pool), and a value
// goes to a group's members in chunks, letting the event loop run between
// them. A member receives a value only when it differs from the last one sent
// (its first value always). A member joining while a computation is running
// or due waits for it (at most about one interval) rather than being sent the
// value it is about to replace, so that its first two events are not closer
// than that either. A write to another fund costs this group nothing.
import type { Prisma as Db } from '../db/database';
import { databaseFailure } from '../db/database';
import { notFound } from '../errors';
import type { Logger } from '../logger';
import { computeExposure, type Dimension, type ExposureResult } from '../services/analytics/exposure';
import type { AnalyticsCache } from '../services/analytics/cache';
import { findNodesByIds } from '../services/portfolio/nodes';
import { findEntitiesByIds } from '../services/reference/entities';
import { prismaRead } from '../db/driverRows';
import { todayOf } from '../services/time/knownAt';
import { AncestorMap } from './ancestors';
import { Channel } from './channel';
import { fanOut, Limiter } from './fanOut';
import type { LiveEvent, LiveEvents } from './events';

export interface ExposureQuestion {
  nodeId: string;
  /** The node's fund: which writes concern the group. */
  fundId: string | null;
  dimension: Dimension;
  currency: string | null;
  lookThrough: boolean;
  top: number | null;
}

/** One computation's outcome for a day (UTC): the exposure, or the error to report (e.g. FX_RATE_NOT_FOUND). */
export type ExposureUpdate = { day: string; exposure: ExposureResult } | { day: string; error: unknown };

interface Group {
  key: string;
  question: ExposureQuestion;
  members: Set<Channel<ExposureUpdate>>;
  /** Members that have not had a first value yet. */
  waiting: Set<Channel<ExposureUpdate>>;
  latest: ExposureUpdate | null;
  dirty: boolean;
  running: boolean;
  /** A change came while computing: compute again afterwards. */
  rerun: boolean;
  timer: NodeJS.Timeout | null;
  /** Computations in a row that failed for a passing database failure (a time-out, a lost connection): retried with backoff. */
  failures: number;
  /** When the group last sent (or would have sent) a value to its members; 0 before the first. */
  lastSentAt: number;
  /** How long the last computation took: the next one starts that much before its send is due. */
  lastDuration: number;
}

/** The longest wait before a computation that failed for a passing database failure is tried again. */
const MAX_RETRY_MS = 30_000;

/** Firm-wide writes that can change an exposure: reference data, and FX or rating feeds. */
function firmWideMatters(event: Extract<LiveEvent, { type: 'change' }>): boolean {
  if (event.kinds.includes('REFERENCE_DATA')) return true;
  if (!event.kinds.includes('MARKET_DATA')) return false;
  return !event.feed || event.feed.feedType === 'FX_SPOT' || event.feed.feedType === 'RATING';
}

const signature = (update: ExposureUpdate) =>
  'exposure' in update ? JSON.stringify(update.exposure) : `error:${(update.error as { code?: string })?.code ?? ''}:${(update.error as Error)?.message}`;

export class LiveExposures {
  private readonly groups = new Map<string, Group>();
  private readonly byFund = new Map<string, Set<Group>>();
  /** Which nodes' subtrees a write touched (cached ancestors; dropped on STRUCTURE and resync). */
  private readonly ancestors: AncestorMap;
  /** Computations at once, all groups together: they share the request pool. */
  private readonly limiter: Limiter;
  private unsubscribe: (() => void) | null = null;
  private dayTimer: NodeJS.Timeout | null = null;
  /** Computations started since the process began (one per group and change, whatever the number of members). */
  computations = 0;

  constructor(
    private readonly events: LiveEvents,
    private readonly prisma: Db,
    private readonly analytics: AnalyticsCache,
    private readonly logger: Logger,
    private readonly intervalMs = 1_000,
    maxConcurrent = 4,
  ) {
    this.ancestors = new AncestorMap(prisma);
    this.limiter = new Limiter(maxConcurrent);
  }

  /** Groups alive now (for tests and metrics). */
  get groupCount(): number {
    return this.groups.size;
  }

  /** The exposure now, then after every change; the node must be visible to the caller (checked before). */
  watch(question: ExposureQuestion): Channel<ExposureUpdate> {
    const channel = new Channel<ExposureUpdate>(1);
    const group = this.groupOf(question);
    group.members.add(channel);
    channel.onClose(() => this.leave(group, channel));
    const fresh = group.latest !== null && group.latest.day === todayOf(new Date());
    if (fresh && !group.dirty && !group.running && !group.timer) {
      channel.push(group.latest as ExposureUpdate); // current
      return channel;
    }
    // Computing, due to compute, or stale (a new group, or a new day): the member's first value is the next one.
    group.waiting.add(channel);
    if (!group.running && !group.timer) this.schedule(group);
    return channel;
  }

  private groupOf(question: ExposureQuestion): Group {
    const key = JSON.stringify([question.nodeId, question.dimension, question.currency, question.lookThrough, question.top]);
    let group = this.groups.get(key);
    if (group) return group;
    group = { key, question, members: new Set(), waiting: new Set(), latest: null, dirty: false, running: false, rerun: false, timer: null, lastSentAt: 0, lastDuration: 0, failures: 0 };
    this.groups.set(key, group);
    if (question.fundId) {
      let set = this.byFund.get(question.fundId);
      if (!set) this.byFund.set(question.fundId, (set = new Set()));
      set.add(group);
    }
    this.unsubscribe ??= this.events.subscribe((event) => this.onEvent(event));
    if (!this.dayTimer) this.armDayTimer();
    return group;
  }

  private leave(group: Group, channel: Channel<ExposureUpdate>): void {
    group.members.delete(channel);
    group.waiting.delete(channel);
    if (group.members.size > 0) return;
    if (group.timer) clearTimeout(group.timer);
    group.timer = null;
    this.groups.delete(group.key);
    const fund = group.question.fundId;
    const set = fund ? this.byFund.get(fund) : undefined;
    set?.delete(group);
    if (fund && set?.size === 0) this.byFund.delete(fund);
    if (this.groups.size === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = null;
    }
    if (this.groups.size === 0) this.ancestors.clear();
    if (this.groups.size === 0 && this.dayTimer) {
      clearTimeout(this.dayTimer);
      this.dayTimer = null;
    }
  }

  /**
   * The exposure is as of today (UTC): at midnight every group computes again, whether or not anything was
   * written (a new day can change the positions held and the valuations in force).
   */
  private armDayTimer(): void {
    const now = Date.now();
    const midnight = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate() + 1);
    this.dayTimer = setTimeout(() => {
      this.dayTimer = null;
      for (const group of this.groups.values()) this.changed(group);
      if (this.groups.size > 0) this.armDayTimer();
    }, midnight - now + 1_000);
    this.dayTimer.unref();
  }

  private onEvent(event: LiveEvent): void {
    if (event.type === 'change' && event.kinds.length === 0) return; // a batch's progress only
    if (event.type === 'resync' || event.kinds.includes('STRUCTURE')) this.ancestors.clear();
    if (event.type === 'resync' || (event.fundIds.length === 0 && firmWideMatters(event))) {
      for (const group of this.groups.values()) this.changed(group);
      return;
    }
    const groups = new Set<Group>();
    for (const fund of event.fundIds) for (const group of this.byFund.get(fund) ?? []) groups.add(group);
    if (groups.size === 0) return; // a fund nobody here watches: nothing to read
    // A write naming its nodes changes only the exposures of those nodes and their ancestors (one cached
    // look-up); a structure change, or a write too large to name its nodes, may change any node of the fund.
    if (event.nodeIds === null || event.nodeIds.length === 0 || event.kinds.includes('STRUCTURE')) {
      for (const group of groups) this.changed(group);
      return;
    }
    this.ancestors.withAncestors(event.nodeIds).then(
      (touched) => {
        for (const group of groups) if (touched.has(group.question.nodeId)) this.changed(group);
      },
      (error: unknown) => {
        this.logger.warn({ err: (error as Error)?.message }, 'liveExposure: ancestors not read; every group of the fund computes again');
        for (const group of groups) this.changed(group);
      },
    );
  }

  private changed(group: Group): void {
    group.dirty = true;
    if (group.running) {
      group.rerun = true;
      return;
    }
    if (!group.timer) this.schedule(group);
  }

  /**
   * The next computation (at once for a new group): timed so that its value is ready when the next send is
   * due, an interval after the last one (it starts as long before as the last computation took); after
   * passing database failures, two, four... intervals after the last send, up to MAX_RETRY_MS.
   */
  private schedule(group: Group): void {
    const at = group.failures > 0
      ? group.lastSentAt + Math.min(this.intervalMs * 2 ** group.failures, MAX_RETRY_MS)
      : group.lastSentAt + this.intervalMs - Math.min(group.lastDuration, this.intervalMs);
    group.timer = setTimeout(() => {
      group.timer = null;
      void this.run(group);
    }, Math.max(0, at - Date.now()));
    group.timer.unref();
  }

  private async run(group: Group): Promise<void> {
    group.running = true;
    group.dirty = false;
    const started = Date.now();
    const update = await this.limiter.run(() => this.compute(group.question));
    group.lastDuration = Date.now() - started;
    // The contract's spacing: a value is sent at least an interval after the group's previous send.
    // Until the clock says so: a timer counts from the event loop's cached time, which on a busy loop lags
    // the clock by milliseconds, so one setTimeout may end that much before `due` (4 ms early under load).
    const due = group.lastSentAt > 0 ? group.lastSentAt + this.intervalMs : 0;
    while (Date.now() < due) await new Promise<void>((resolve) => setTimeout(resolve, due - Date.now()).unref());
    group.running = false;
    group.lastSentAt = Date.now();
    const changed = group.latest === null || signature(group.latest) !== signature(update);
    group.latest = update;
    const waited = group.waiting;
    group.waiting = new Set();
    const targets = [...group.members].filter((member) => changed || waited.has(member));
    // A passing database failure (time-out, connection lost) is sent, but not kept as the group's answer:
    // the group stays dirty, so a member joining gets the next computation, which is retried with backoff
    // without waiting for a write. Failures that would repeat (FX_RATE_NOT_FOUND, NOT_FOUND) are kept.
    const passing = 'error' in update && databaseFailure(update.error) !== null;
    group.failures = passing ? group.failures + 1 : 0;
    if ((passing || group.rerun) && group.members.size > 0) {
      group.rerun = false;
      this.changed(group);
    }
    await fanOut(targets, (member) => member.push(update));
  }

  private async compute(question: ExposureQuestion): Promise<ExposureUpdate> {
    this.computations++;
    const day = todayOf(new Date());
    try {
      const [node] = await findNodesByIds(prismaRead(this.prisma), [question.nodeId], null);
      if (!node) throw notFound('nodeId', `No portfolio node ${question.nodeId}`);
      const { dimension, currency, lookThrough, top } = question;
      const asOf = new Date(`${day}T00:00:00.000Z`);
      const exposure = await computeExposure(this.prisma, node, { dimension, asOf, currency, lookThrough, top, knownAt: null }, this.analytics);
      return { day, exposure: await this.labelled(exposure) };
    } catch (error) {
      this.logger.debug({ err: error, nodeId: question.nodeId }, 'liveExposure: computation failed');
      return { day, error };
    }
  }

  /**
   * Bucket labels read once per computation (node names for CHILD, entity names otherwise), so that
   * members do not each look them up for every event.
   */
  private async labelled(exposure: ExposureResult): Promise<ExposureResult> {
    const unlabelled = exposure.buckets.filter((b) => !b.label && b.key !== 'NONE' && b.key !== 'OTHER');
    if (unlabelled.length === 0) return exposure;
    const keys = unlabelled.map((b) => b.key);
    const names = new Map<string, string>(
      unlabelled[0]!.dimension === 'CHILD'
        ? (await findNodesByIds(prismaRead(this.prisma), keys, null)).map((n) => [n.id, n.name])
        : (await findEntitiesByIds(prismaRead(this.prisma), keys)).map((e) => [e.id, e.name]),
    );
    return { ...exposure, buckets: exposure.buckets.map((b) => (b.label ? b : { ...b, label: names.get(b.key) ?? b.key })) };
  }
}
