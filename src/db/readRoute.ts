// The database of one read-only operation served by a replica: a Database whose
// every statement (Prisma's, Database.read's, SqlRunner's) runs on the replica
// until one fails for the replica's sake (the replica went down, or a recovery
// conflict cancelled the statement); that statement is run again on the
// primary, and so is everything after it in the operation. The switch is one
// way: the primary is at least as far along as the replica, so an operation's
// reads only ever move forward in time, as they do on one database while
// others write.
//
// Prisma's calls are lazy (a PrismaPromise runs when awaited), so a call made
// through the route is a RoutedCall that remembers its method and arguments
// and runs them on the route's current database when awaited; a batch
// $transaction of such calls is built on whichever database runs it.
import type { Database, Prisma } from './database';
import { databaseFailure, errorChain } from './database';
import type { SqlRunner } from './sql';

// A standby cancels a query whose snapshot conflicts with replay (40001), or a deadlock with the
// startup process (40P01), or when the database is dropped on the primary (57P04).
const RECOVERY_CONFLICT_CODES = new Set(['40001', '40P01', '57P04']);
const RECOVERY_CONFLICT = /conflict with recovery/i;
const NEVER_CONNECTED = /timeout exceeded when trying to connect/i;

/** Why a statement that failed on a replica is run again on the primary; null when it is not. */
export function replicaFailure(error: unknown): 'unavailable' | 'conflict' | null {
  if (databaseFailure(error) === 'unavailable') return 'unavailable';
  for (const e of errorChain(error)) {
    const codes = [e.code, e.originalCode].filter((c): c is string => typeof c === 'string');
    const messages = [e.message, e.originalMessage].filter((m): m is string => typeof m === 'string');
    if (codes.some((c) => RECOVERY_CONFLICT_CODES.has(c)) || messages.some((m) => RECOVERY_CONFLICT.test(m))) return 'conflict';
    // The pool gave up connecting: nothing ran there.
    if (messages.some((m) => NEVER_CONNECTED.test(m))) return 'unavailable';
  }
  return null;
}

/** The primary of a route's Prisma client: where the few maintenance writes of a read path go (src/services/analytics/cache.ts). */
const writers = new WeakMap<object, Prisma>();

/** The client to write with: the primary's for a routed read's client, else the client itself. */
export function writerOf(prisma: Prisma): Prisma {
  return writers.get(prisma) ?? prisma;
}

const RAW_CALLS = new Set(['$queryRaw', '$queryRawUnsafe', '$executeRaw', '$executeRawUnsafe', '$queryRawTyped']);

interface Call {
  path: string[];
  args: unknown[];
}

function invoke(prisma: Prisma, call: Call): PromiseLike<unknown> {
  let owner: any = prisma;
  for (const key of call.path.slice(0, -1)) owner = owner[key];
  return owner[call.path[call.path.length - 1]!](...call.args);
}

class RoutedCall<T = unknown> implements PromiseLike<T> {
  private promise: Promise<T> | null = null;

  constructor(
    private readonly route: ReadRoute,
    readonly call: Call,
  ) {}

  private run(): Promise<T> {
    return (this.promise ??= this.route.run((db) => invoke(db.prisma, this.call) as PromiseLike<T>));
  }

  then<A = T, B = never>(onFulfilled?: ((value: T) => A | PromiseLike<A>) | null, onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.run().then(onFulfilled, onRejected);
  }

  catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<T | B> {
    return this.run().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<T> {
    return this.run().finally(onFinally);
  }

  get [Symbol.toStringTag]() {
    return 'PrismaPromise';
  }
}

export class ReadRoute {
  private onPrimary = false;
  private readonly switched = new Set<(why: string) => void>();
  /** The operation's Database (see the file comment). */
  readonly db: Database;

  constructor(
    private readonly replica: Database,
    private readonly primary: Database,
    /** Told when a statement failed on the replica and went to the primary (the replica may be down). */
    private readonly onReplicaFailure: (error: unknown, reason: 'unavailable' | 'conflict') => void,
  ) {
    this.db = this.database();
  }

  /** Where the operation reads now. */
  get current(): Database {
    return this.onPrimary ? this.primary : this.replica;
  }

  get usesPrimary(): boolean {
    return this.onPrimary;
  }

  /** From now on the operation reads the primary. */
  toPrimary(why: string): void {
    if (this.onPrimary) return;
    this.onPrimary = true;
    for (const listener of this.switched) listener(why);
  }

  /** Called once if the operation moves to the primary, with why (for its log line). */
  onSwitch(listener: (why: string) => void): void {
    this.switched.add(listener);
  }

  /** Runs `call` on the current database; a failure for the replica's sake runs it again on the primary. */
  async run<T>(call: (db: Database) => PromiseLike<T>): Promise<T> {
    const db = this.current;
    try {
      return await call(db);
    } catch (error) {
      const reason = db === this.primary ? null : replicaFailure(error);
      if (!reason) throw error;
      this.toPrimary(reason === 'conflict' ? 'recovery conflict' : 'replica unavailable');
      this.onReplicaFailure(error, reason);
      return call(this.primary);
    }
  }

  private database(): Database {
    const route = this;
    const sql: SqlRunner = {
      query: (text, params) => route.run((db) => db.sql.query(text, params)),
      exec: (script) => route.run((db) => db.sql.exec(script)),
      transaction: (fn) => route.run((db) => db.sql.transaction(fn)),
    };
    const prisma = this.prismaClient();
    writers.set(prisma, this.primary.prisma);
    return {
      kind: this.replica.kind,
      prisma,
      sql,
      read: (text, params) => route.run((db) => db.read(text, params)),
      onQuery: (listener) => {
        const offReplica = route.replica.onQuery(listener);
        const offPrimary = route.primary.onQuery(listener);
        return () => {
          offReplica();
          offPrimary();
        };
      },
      ping: () => route.current.ping(),
      // The route owns no connection: the replica's and the primary's pools outlive it.
      close: async () => undefined,
    };
  }

  private prismaClient(): Prisma {
    const route = this;
    const delegates = new Map<string, object>();
    const delegate = (model: string) =>
      new Proxy({}, {
        get(_target, method) {
          const value = (route.current.prisma as any)[model][method];
          if (typeof method !== 'string' || typeof value !== 'function') return value;
          return (...args: unknown[]) => new RoutedCall(route, { path: [model, method], args });
        },
      });
    const transaction = (input: unknown, options?: unknown) => {
      if (typeof input === 'function') return route.run((db) => (db.prisma.$transaction as any)(input, options));
      const items = input as unknown[];
      return route.run((db) =>
        db.prisma.$transaction(items.map((item) => (item instanceof RoutedCall ? invoke(db.prisma, item.call) : item)) as any, options as any),
      );
    };
    return new Proxy({} as Prisma, {
      get(_target, prop) {
        if (prop === '$transaction') return transaction;
        if (typeof prop === 'string' && RAW_CALLS.has(prop)) return (...args: unknown[]) => new RoutedCall(route, { path: [prop], args });
        const client = route.current.prisma as any;
        const value = client[prop];
        if (typeof prop === 'string' && !prop.startsWith('$') && value !== null && typeof value === 'object') {
          let proxy = delegates.get(prop);
          if (!proxy) delegates.set(prop, (proxy = delegate(prop)));
          return proxy;
        }
        return typeof value === 'function' ? value.bind(client) : value;
      },
    });
  }
}
