// Live updates (issue 13): what every instance learns about committed writes.
// The database announces each committed write with a small id-only
// notification (NOTIFY, one per statement and fund); each instance's listener
// (src/live/listener.ts) turns them into LiveEvents for its subscribers.

/** The contract's PortfolioChangeKind. */
export type PortfolioChangeKind = 'POSITIONS' | 'VALUATIONS' | 'STRUCTURE' | 'SNAPSHOTS' | 'REFERENCE_DATA' | 'MARKET_DATA';

/** A committed write, as announced by the database. */
export interface ChangeEvent {
  type: 'change';
  /** What changed; empty for an event that only reports a batch's progress (`batchId`). */
  kinds: PortfolioChangeKind[];
  /**
   * The funds (root node ids) whose subtrees the write touched; empty for firm-wide changes (reference and
   * market data, a TRUNCATE), which concern every fund. The database sends one notification per statement
   * and fund, so a change event names one fund or none. For a batch event: the batch's fund_ids as stored
   * (empty until the batch finishes).
   */
  fundIds: string[];
  /**
   * The nodes the write touched (positions', valuations' and snapshots' nodes; an inserted, edited, moved or
   * deleted node together with its parent, before and after), or null when too many to name (over 100) and for
   * firm-wide changes: then every node of `fundIds` (of every fund when `fundIds` is empty) may have changed.
   * Empty for a batch event.
   */
  nodeIds: string[] | null;
  /** A stored market data feed (MARKET_DATA), with its type. */
  feed?: { id: string; feedType: string };
  /** An ingestion batch whose status or counts changed. */
  batchId?: string;
  /**
   * When the writing transaction committed (the database's clock, ISO 8601), or when it was announced. The
   * listener (src/live/listener.ts) gives the moment the notification reached this process: the payload carries
   * no time (the triggers run before the commit, and a payload without one repeats exactly, so PostgreSQL sends
   * repeats of one transaction once).
   */
  committedAt: string;
}

/** The listener lost its connection and is listening again: events may have been missed, subscribers must refetch. */
export interface ResyncEvent {
  type: 'resync';
  at: string;
}

export type LiveEvent = ChangeEvent | ResyncEvent;

/** The events of one process: every committed write of the database, by whichever instance or client. */
export interface LiveEvents {
  /** Calls `listener` for every event from now on; returns the unsubscribe function. */
  subscribe(listener: (event: LiveEvent) => void): () => void;
  /** Stops listening (closes the dedicated connection). */
  close(): Promise<void>;
}
