// Helpers of the live-update tests (subscriptions over a real WebSocket with graphql-ws's client on `ws`):
// a connection, one subscription's results read one at a time, the LiveEvents counting their subscribers,
// and a barrier through the database's own notifications.
//
// No wall-clock upper bounds here: every wait ends on an event, a close or a state reached. A test that
// wants a hang turned into a readable failure passes `within` (a time-out that names what was awaited).
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { LiveEvent, LiveEvents } from '../../src/live/events';

export type ExecutionResult = FormattedExecutionResult<Record<string, any>, unknown>;

/** Wraps a wait so that a hang fails saying what was awaited (identity by default: no time-out). */
export type Within = <T>(what: string, promise: Promise<T>) => Promise<T>;
const noTimeOut: Within = (_what, promise) => promise;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `condition` holds (polled every 10 ms). */
export async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await sleep(10);
}

export interface Counted extends LiveEvents {
  /** Subscribers of the LiveEvents right now. */
  active(): number;
}

/** The real LiveEvents, counting its subscribers: every subscription must let go of it. */
export function counted(events: LiveEvents): Counted {
  let active = 0;
  return {
    subscribe(listener) {
      active++;
      const off = events.subscribe(listener);
      let done = false;
      return () => {
        if (done) return;
        done = true;
        active--;
        off();
      };
    },
    close: () => events.close(),
    active: () => active,
  };
}

export interface Connection {
  client: Client;
  /** Resolves once the server acknowledged connection_init. */
  connected: Promise<void>;
  /** Resolves when the socket closes, with its code and when it closed. */
  closed: Promise<{ code: number; reason: string; at: number }>;
  isConnected(): boolean;
  isClosed(): boolean;
}

export interface ConnectOptions {
  /** `Authorization` value sent in connection_init (none when undefined). */
  authorization?: string;
  /** graphql-ws's lazy mode: connect on the first subscribe (default true). */
  lazy?: boolean;
  /** Every client opened is pushed here, for the test to dispose after itself. */
  clients?: Client[];
  within?: Within;
}

/** A graphql-ws client of `baseUrl` (http://host:port; the WebSocket is on /graphql). */
export function connect(baseUrl: string, options: ConnectOptions = {}): Connection {
  let onClosed!: (event: { code: number; reason: string; at: number }) => void;
  let onConnected!: () => void;
  let connectedNow = false;
  let closedNow = false;
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve) => (onClosed = resolve));
  const connected = new Promise<void>((resolve) => (onConnected = resolve));
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: options.authorization === undefined ? {} : { authorization: options.authorization },
    retryAttempts: 0,
    lazy: options.lazy ?? true,
    onNonLazyError: () => undefined,
    on: {
      connected: () => {
        connectedNow = true;
        onConnected();
      },
      closed: (event) => {
        closedNow = true;
        onClosed({ code: (event as { code: number }).code, reason: String((event as { reason: unknown }).reason), at: Date.now() });
      },
    },
  });
  options.clients?.push(client);
  const within = options.within ?? noTimeOut;
  return { client, connected: within('the connection_ack', connected), closed, isConnected: () => connectedNow, isClosed: () => closedNow };
}

/** One subscription's results, read one at a time; every result is also kept (with when it came) in `all`. */
export class Stream {
  private readonly queue: ExecutionResult[] = [];
  private waiter: ((result: ExecutionResult) => void) | null = null;
  readonly all: { result: ExecutionResult; at: number }[] = [];
  isEnded = false;
  readonly ended: Promise<{ error?: unknown }>;
  readonly stop: () => void;

  constructor(
    client: Client,
    query: string,
    variables: Record<string, unknown> = {},
    protected readonly options: { what?: string; within?: Within } = {},
  ) {
    let end!: (outcome: { error?: unknown }) => void;
    this.ended = new Promise((resolve) => (end = resolve));
    this.stop = client.subscribe({ query, variables }, {
      next: (result) => {
        this.all.push({ result: result as ExecutionResult, at: Date.now() });
        this.received(result as ExecutionResult);
        const waiter = this.waiter;
        this.waiter = null;
        if (waiter) waiter(result as ExecutionResult);
        else this.queue.push(result as ExecutionResult);
      },
      error: (error) => {
        this.isEnded = true;
        end({ error });
      },
      complete: () => {
        this.isEnded = true;
        end({});
      },
    });
  }

  /** Called with every result as it arrives (for subclasses that count some). */
  protected received(_result: ExecutionResult): void {}

  get what(): string {
    return this.options.what ?? 'the subscription';
  }

  /** Results received and not read yet. */
  get pending(): number {
    return this.queue.length;
  }

  /** The next result; fails if the stream ends first. */
  next(): Promise<ExecutionResult> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    const within = this.options.within ?? noTimeOut;
    return within(
      `the next result of ${this.what}`,
      Promise.race([
        new Promise<ExecutionResult>((resolve) => (this.waiter = resolve)),
        this.ended.then((outcome) => Promise.reject(new Error(`${this.what} ended: ${JSON.stringify(outcome.error ?? 'complete')}`))),
      ]),
    ).finally(() => (this.waiter = null));
  }

  /** The data of the next result, which must have no errors. */
  async data<T = Record<string, any>>(): Promise<T> {
    const result = await this.next();
    if (result.errors) throw new Error(`${this.what} sent errors: ${JSON.stringify(result.errors)}`);
    return result.data as T;
  }
}

/** The errors a refused subscription gets (graphql-ws's error message). */
export async function refusal(stream: Stream): Promise<{ message: string; extensions?: Record<string, unknown> }[]> {
  const { error } = await stream.ended;
  if (!Array.isArray(error)) throw new Error(`expected the subscription to be refused with GraphQL errors, got ${JSON.stringify(error)}`);
  return error as { message: string; extensions?: Record<string, unknown> }[];
}

/**
 * Every LiveEvent `listener` hears up to and including a marker notification sent now through `db`
 * (notifications arrive in commit order, so the events before the marker are all of the earlier commits').
 */
export async function barrier(listener: LiveEvents, db: { sql: { query(text: string, params?: unknown[]): Promise<unknown> } }): Promise<LiveEvent[]> {
  const marker = crypto.randomUUID();
  const seen: LiveEvent[] = [];
  let off = () => undefined as void;
  const reached = new Promise<void>((resolve) => {
    off = listener.subscribe((event) => {
      seen.push(event);
      if (event.type === 'change' && event.fundIds[0] === marker) resolve();
    });
  });
  await db.sql.query(`SELECT pg_notify('pds_live', json_build_object('k', 'REFERENCE_DATA', 'f', json_build_array($1::text), 'n', NULL)::text)`, [marker]);
  await reached;
  off();
  return seen;
}
