// liveExposure as a live query: subscribers asking the same question (node,
// dimension, currency, look-through, top) form one group, and a group computes
// once per change for all its members, through the analytics cache (so a
// change that left the inputs as they were costs one fingerprint statement).
//
// A group recomputes when a committed write may have changed its answer: a
// write to its fund, a firm-wide write of reference data, FX rates or ratings,
// or a resync. Bursts are throttled: at most one computation per interval
// (1 s) per group, the last change of a burst always followed by one. A member
// receives a value only when it differs from the last one sent (its first
// value always). A write to another fund costs this group nothing.
import type { Prisma as Db } from '../db/database';
import { notFound } from '../errors';
import type { Logger } from '../logger';
import { computeExposure, type Dimension, type ExposureResult } from '../services/analytics/exposure';
import type { AnalyticsCache } from '../services/analytics/cache';
import { findNodesByIds } from '../services/portfolio/nodes';
import { findEntitiesByIds } from '../services/reference/entities';
import { todayOf } from '../services/time/knownAt';
import { Channel } from './channel';
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
  lastRunAt: number;
}

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
  private unsubscribe: (() => void) | null = null;
  /** Computations started since the process began (one per group and change, whatever the number of members). */
  computations = 0;

  constructor(
    private readonly events: LiveEvents,
    private readonly prisma: Db,
    private readonly analytics: AnalyticsCache,
    private readonly logger: Logger,
    private readonly intervalMs = 1_000,
  ) {}

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
    const fresh = group.latest && group.latest.day === todayOf(new Date());
    if (fresh && (!group.dirty || group.timer)) {
      // Current, or about to be refreshed by the pending computation.
      channel.push(group.latest as ExposureUpdate);
    } else {
      group.waiting.add(channel);
      if (!group.running) void this.run(group);
    }
    return channel;
  }

  private groupOf(question: ExposureQuestion): Group {
    const key = JSON.stringify([question.nodeId, question.dimension, question.currency, question.lookThrough, question.top]);
    let group = this.groups.get(key);
    if (group) return group;
    group = { key, question, members: new Set(), waiting: new Set(), latest: null, dirty: false, running: false, rerun: false, timer: null, lastRunAt: 0 };
    this.groups.set(key, group);
    if (question.fundId) {
      let set = this.byFund.get(question.fundId);
      if (!set) this.byFund.set(question.fundId, (set = new Set()));
      set.add(group);
    }
    this.unsubscribe ??= this.events.subscribe((event) => this.onEvent(event));
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
  }

  private onEvent(event: LiveEvent): void {
    if (event.type === 'change' && event.kinds.length === 0) return; // a batch's progress only
    if (event.type === 'resync' || (event.fundIds.length === 0 && firmWideMatters(event))) {
      for (const group of this.groups.values()) this.changed(group);
      return;
    }
    const touched = new Set<Group>();
    for (const fund of event.fundIds) for (const group of this.byFund.get(fund) ?? []) touched.add(group);
    for (const group of touched) this.changed(group);
  }

  private changed(group: Group): void {
    group.dirty = true;
    if (group.running) {
      group.rerun = true;
      return;
    }
    if (group.timer) return;
    const delay = Math.max(0, group.lastRunAt + this.intervalMs - Date.now());
    group.timer = setTimeout(() => {
      group.timer = null;
      void this.run(group);
    }, delay);
    group.timer.unref();
  }

  private async run(group: Group): Promise<void> {
    group.running = true;
    group.dirty = false;
    group.lastRunAt = Date.now();
    const update = await this.compute(group.question);
    group.running = false;
    const changed = group.latest === null || signature(group.latest) !== signature(update);
    group.latest = update;
    for (const member of group.members) if (changed || group.waiting.has(member)) member.push(update);
    group.waiting.clear();
    if (group.rerun && group.members.size > 0) {
      group.rerun = false;
      this.changed(group);
    }
  }

  private async compute(question: ExposureQuestion): Promise<ExposureUpdate> {
    this.computations++;
    const day = todayOf(new Date());
    try {
      const [node] = await findNodesByIds(this.prisma, [question.nodeId], null);
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
        ? (await findNodesByIds(this.prisma, keys, null)).map((n) => [n.id, n.name])
        : (await findEntitiesByIds(this.prisma, keys)).map((e) => [e.id, e.name]),
    );
    return { ...exposure, buckets: exposure.buckets.map((b) => (b.label ? b : { ...b, label: names.get(b.key) ?? b.key })) };
  }
}
