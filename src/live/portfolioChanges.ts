// portfolioChanged: one listener on the process's LiveEvents for every
// subscriber, so that which subtrees an event touched is worked out once per
// event (AncestorMap), not once per subscriber. Subscribers are indexed by the
// node they watch.
//
// Who gets an event:
//   - a write naming its nodes: the subscribers of those nodes and of every ancestor of one;
//   - a write too large to name them (nodeIds null): every subscriber of its funds;
//   - a firm-wide write (no funds: reference or market data): every subscriber;
//   - a resync (events may have been missed): every subscriber, with every kind.
import type { Prisma as Db } from '../db/database';
import type { Logger } from '../logger';
import { AncestorMap } from './ancestors';
import { Channel } from './channel';
import { fanOut } from './fanOut';
import type { ChangeEvent, LiveEvent, LiveEvents, PortfolioChangeKind } from './events';

/** What a portfolioChanged subscriber receives (the GraphQL PortfolioChange, before its node is read). */
export interface PortfolioChangeEvent {
  nodeId: string;
  kinds: PortfolioChangeKind[];
  committedAt: Date;
}

export const ALL_KINDS: PortfolioChangeKind[] = ['POSITIONS', 'VALUATIONS', 'STRUCTURE', 'SNAPSHOTS', 'REFERENCE_DATA', 'MARKET_DATA'];

/** The event's moment; now when the announcement carried none readable. */
export function momentOf(iso: string | undefined): Date {
  const at = new Date(iso ?? Date.now());
  return Number.isNaN(at.getTime()) ? new Date() : at;
}

/** Two events of one watcher as one: every kind of both, the later moment. */
export function mergeChanges(older: PortfolioChangeEvent, newer: PortfolioChangeEvent): PortfolioChangeEvent {
  const kinds = new Set([...older.kinds, ...newer.kinds]);
  return { ...newer, kinds: ALL_KINDS.filter((kind) => kinds.has(kind)) };
}

interface Watcher {
  nodeId: string;
  fundId: string | null;
  channel: Channel<PortfolioChangeEvent>;
}

export class PortfolioChangeFeed {
  private readonly byNode = new Map<string, Set<Watcher>>();
  /** Watchers per fund: an event of funds nobody watches costs nothing. */
  private readonly byFund = new Map<string, number>();
  private readonly ancestors: AncestorMap;
  private unsubscribe: (() => void) | null = null;
  /** Events are handled one after the other, in the order they came. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly events: LiveEvents,
    prisma: Db,
    private readonly logger: Logger,
  ) {
    this.ancestors = new AncestorMap(prisma);
  }

  /** The number of watchers (for tests and metrics). */
  get size(): number {
    let n = 0;
    for (const set of this.byNode.values()) n += set.size;
    return n;
  }

  /** A stream of the changes to the node's subtree; the node must be visible to the caller (checked before). */
  watch(node: { id: string; fundId: string | null }): Channel<PortfolioChangeEvent> {
    // Coalescing is safe: every event tells the client to refetch.
    // A slow reader's oldest event is folded into the next: its kinds are kept, the later moment wins.
    const watcher: Watcher = { nodeId: node.id, fundId: node.fundId, channel: new Channel(16, mergeChanges) };
    let set = this.byNode.get(node.id);
    if (!set) this.byNode.set(node.id, (set = new Set()));
    set.add(watcher);
    if (node.fundId) this.byFund.set(node.fundId, (this.byFund.get(node.fundId) ?? 0) + 1);
    this.unsubscribe ??= this.events.subscribe((event) => {
      this.queue = this.queue.then(() => this.dispatch(event)).catch((error: unknown) => {
        this.logger.error({ err: error }, 'portfolioChanged: an event could not be dispatched');
      });
    });
    watcher.channel.onClose(() => this.unwatch(watcher));
    return watcher.channel;
  }

  private unwatch(watcher: Watcher): void {
    const set = this.byNode.get(watcher.nodeId);
    set?.delete(watcher);
    if (set?.size === 0) this.byNode.delete(watcher.nodeId);
    const fund = watcher.fundId;
    if (fund) {
      const left = (this.byFund.get(fund) ?? 1) - 1;
      if (left > 0) this.byFund.set(fund, left);
      else this.byFund.delete(fund);
    }
    if (this.byNode.size === 0 && this.unsubscribe) {
      this.unsubscribe();
      this.unsubscribe = null;
      this.ancestors.clear();
    }
  }

  private async dispatch(event: LiveEvent): Promise<void> {
    if (event.type === 'resync') {
      this.ancestors.clear();
      await this.send(() => true, { kinds: ALL_KINDS, committedAt: momentOf(event.at) });
      return;
    }
    if (event.kinds.length === 0) return; // a batch's progress only
    if (event.kinds.includes('STRUCTURE')) this.ancestors.clear();
    if (event.fundIds.length > 0 && !event.fundIds.some((fund) => this.byFund.has(fund))) return;
    const change = { kinds: event.kinds, committedAt: momentOf(event.committedAt) };
    let scope: Awaited<ReturnType<PortfolioChangeFeed['touched']>>;
    try {
      scope = await this.touched(event);
    } catch (error) {
      // The ancestors could not be read: tell every watcher of the funds rather than nobody.
      this.logger.warn({ err: (error as Error)?.message }, 'portfolioChanged: ancestors not read; the event goes to every watcher of its funds');
      scope = event.fundIds.length > 0 ? { funds: new Set(event.fundIds) } : 'ALL';
    }
    if (scope === 'ALL') await this.send(() => true, change);
    else if (scope instanceof Set && scope.size > 0) await this.send((w) => scope.has(w.nodeId), change, scope);
    else if (scope && 'funds' in scope) await this.send((w) => w.fundId !== null && scope.funds.has(w.fundId), change);
  }

  /** Which watchers an event concerns: everyone, the watchers of these nodes, or of these funds. */
  private async touched(event: ChangeEvent): Promise<'ALL' | Set<string> | { funds: Set<string> } | null> {
    if (event.fundIds.length === 0 && event.nodeIds === null) return 'ALL';
    if (event.nodeIds === null) return { funds: new Set(event.fundIds) };
    // A STRUCTURE write names the nodes written and their parents before and after (a move: the old
    // parent in the old fund's event), so its nodes' ancestors, read after the write, cover every subtree.
    return event.nodeIds.length > 0 ? this.ancestors.withAncestors(event.nodeIds) : null;
  }

  /** To every matching watcher, in chunks (src/live/fanOut.ts); events are dispatched one after the other. */
  private async send(matches: (w: Watcher) => boolean, change: Omit<PortfolioChangeEvent, 'nodeId'>, nodes?: Set<string>): Promise<void> {
    const sets = nodes ? [...nodes].flatMap((id) => this.byNode.get(id) ?? []) : [...this.byNode.values()];
    const targets = sets.flatMap((set) => [...set].filter(matches));
    await fanOut(targets, (watcher) => watcher.channel.push({ nodeId: watcher.nodeId, ...change }));
  }
}
