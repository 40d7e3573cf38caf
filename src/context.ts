// The per-request context: the database, the caller, fresh DataLoaders (never
// shared between requests, so one caller never sees another's cache), and the
// request's id and logger. A subscription's context lives as long as the
// subscription: each of its events gets fresh loaders (renewForEvent). A query
// may be moved to a read replica once its operation is known (useDatabase).
import { fundFilter, type Caller } from './auth/caller';
import type { Database } from './db/database';
import type { DatabaseChoice } from './db/replicas';
import { analyticsLoaders } from './loaders/analytics';
import { ingestionLoaders } from './loaders/ingestion';
import { marketDataLoaders } from './loaders/marketData';
import { portfolioLoaders, type RelatedLoaders } from './loaders/portfolio';
import { referenceLoaders } from './loaders/reference';
import { snapshotLoaders } from './loaders/snapshots';
import type { LiveHub } from './live/hub';
import type { Logger } from './logger';
import type { IngestionMetrics } from './observability/metrics';
import type { AnalyticsCache } from './services/analytics/cache';
import { RequestClock } from './services/time/knownAt';

interface LoaderArgs {
  db: Database;
  caller: Caller;
  analytics: AnalyticsCache;
  clock?: RequestClock;
}

/**
 * The loaders of each domain, built for a request when it first uses one of them: a tree of counts
 * reads through the portfolio loaders alone, and building all ~35 DataLoaders of every domain was
 * ~24 KB and a few hundred objects per request. `loaders` is the request's loaders object (a
 * position page primes the instruments and issuers its statement reads beside the positions).
 */
const GROUPS = {
  reference: (a: LoaderArgs) => referenceLoaders(a.db.read),
  // A planned tree's counts as known at a moment settle it with the request's clock, as the field would.
  portfolio: (a: LoaderArgs, loaders: RelatedLoaders) =>
    portfolioLoaders(a.db.prisma, a.db.read, fundFilter(a.caller), loaders, a.clock ? (value) => a.clock!.knownAt(value) : undefined),
  analytics: (a: LoaderArgs) => analyticsLoaders(a.db.prisma, a.analytics),
  marketData: (a: LoaderArgs) => marketDataLoaders(a.db.prisma),
  ingestion: (a: LoaderArgs) => ingestionLoaders(a.db.prisma, a.caller),
  snapshots: (a: LoaderArgs) => snapshotLoaders(a.db.prisma),
};
type Groups = { [G in keyof typeof GROUPS]: ReturnType<(typeof GROUPS)[G]> };
type AllLoaders = Groups['reference'] & Groups['portfolio'] & Groups['analytics'] & Groups['marketData'] & Groups['ingestion'] & Groups['snapshots'];

const ARGS = Symbol('loaderArgs');
const BUILT = Symbol('loaderGroups');
interface LazyLoaders {
  [ARGS]: LoaderArgs;
  [BUILT]: Partial<Groups>;
}

/** The prototype of every request's loaders: a getter per loader, building its domain's group on first use (built once, from the groups' keys). */
let loaderPrototype: object | null = null;
function prototypeFrom(groups: Groups): object {
  const proto: PropertyDescriptorMap = {};
  for (const [group, loaders] of Object.entries(groups) as [keyof Groups, object][]) {
    for (const key of Object.keys(loaders)) {
      if (key in proto) throw new Error(`loader ${key} is in two groups`);
      proto[key] = {
        get(this: LazyLoaders) {
          const built = this[BUILT];
          const found = (built[group] ??= GROUPS[group](this[ARGS], this as unknown as RelatedLoaders) as never);
          return (found as Record<string, unknown>)[key];
        },
        enumerable: true,
      };
    }
  }
  return Object.create(Object.prototype, proto);
}

export function createLoaders(db: Database, caller: Caller, analytics: AnalyticsCache, clock?: RequestClock): AllLoaders {
  const args: LoaderArgs = { db, caller, analytics, clock };
  const built: Partial<Groups> = {};
  if (!loaderPrototype) {
    // The first request's loaders: every group built, to learn the keys of each.
    const loaders = { [ARGS]: args, [BUILT]: built } as LazyLoaders;
    for (const group of Object.keys(GROUPS) as (keyof Groups)[]) (built as Record<string, unknown>)[group] = GROUPS[group](args, loaders as unknown as RelatedLoaders);
    loaderPrototype = prototypeFrom(built as Groups);
    // The groups were given this object as their related loaders: it answers through the prototype's getters from now on.
    return Object.setPrototypeOf(loaders, loaderPrototype) as AllLoaders;
  }
  const loaders = Object.create(loaderPrototype) as LazyLoaders;
  loaders[ARGS] = args;
  loaders[BUILT] = built;
  return loaders as unknown as AllLoaders;
}

export type Loaders = ReturnType<typeof createLoaders>;

export interface Context {
  db: Database;
  /** Who is calling: roles and the funds they may see. */
  caller: Caller;
  loaders: Loaders;
  requestId: string;
  logger: Logger;
  /** Analytics results of this process, shared between requests and checked against the database on use. */
  analytics: AnalyticsCache;
  /** When the request arrived (today, a knownAt in the future), and its knownAt values settled once each. */
  clock: RequestClock;
  /** Live updates of this process (subscriptions); null when the service has no event listener. */
  live: LiveHub | null;
  /** Where this instance counts the batches and feeds it stores (set for HTTP operations by src/observability/graphql.ts). */
  metrics?: IngestionMetrics;
}

/** Where a context keeps its loaders once built: a non-enumerable own property (see contextPrototype). */
const LOADERS = Symbol('loaders');
type WithLoaders = Context & { [LOADERS]?: Loaders };

const keep = (ctx: WithLoaders, loaders: Loaders | undefined) =>
  Object.defineProperty(ctx, LOADERS, { value: loaders, writable: true, configurable: true, enumerable: false });

/**
 * Loaders built on first use, from the context's database at that moment: most subscription events read
 * through none, a `{ __typename }` or an introspection query neither, and a query's database is chosen
 * only once its operation is known (useDatabase). The getter lives on the prototype and the loaders in
 * a non-enumerable property: Apollo Server copies the context for each operation (Object.assign onto an
 * object of the same prototype), which would otherwise call an own getter and build every loader of
 * every request.
 */
const contextPrototype = {
  get loaders(): Loaders {
    const ctx = this as unknown as WithLoaders;
    return ctx[LOADERS] ?? keep(ctx, createLoaders(ctx.db, ctx.caller, ctx.analytics, ctx.clock))[LOADERS]!;
  },
  set loaders(value: Loaders) {
    keep(this as unknown as WithLoaders, value);
  },
};

export function createContext(
  db: Database, caller: Caller, requestId: string, logger: Logger, analytics: AnalyticsCache, live: LiveHub | null = null,
): Context {
  return Object.assign(Object.create(contextPrototype) as Context, { db, caller, requestId, logger, analytics, clock: new RequestClock(db.prisma), live });
}

/** Forgets the context's loaders: the next use builds new ones (from the context's database then). */
function lazyLoaders(ctx: Context): void {
  keep(ctx as WithLoaders, undefined);
}

/**
 * Points the context at the database chosen for its operation (a read replica for a query, src/db/replicas.ts),
 * before anything is read: loaders and the clock (its knownAt settling) follow, and the operation's log line
 * names the database. Called by src/graphql/readRouting.ts once the operation's type is known.
 */
export function useDatabase(ctx: Context, choice: DatabaseChoice): void {
  ctx.db = choice.db;
  lazyLoaders(ctx);
  ctx.clock = new RequestClock(choice.db.prisma, ctx.clock.arrivedAt, choice.settle);
  ctx.logger = ctx.logger.child({ database: choice.label });
  // A replica's operation may go on on the primary (src/db/readRoute.ts): its log line says so.
  choice.onSwitch?.((why) => (ctx.logger = ctx.logger.child({ switchedToPrimary: why })));
}

/**
 * Before a subscription's next event is resolved: new loaders and a new clock, so that the event reads
 * the database as it is now, not what the loaders cached for an earlier event. Events of one
 * subscription are resolved one after the other, so no resolution sees the swap half-way.
 */
export function renewForEvent(ctx: Context): void {
  // Lazily: most events (a portfolioChanged without its node, an exposure without bucket entities) read
  // through no loader, and a process with thousands of subscribers would otherwise build and keep ~27
  // DataLoaders per subscriber per event.
  lazyLoaders(ctx);
  ctx.clock = new RequestClock(ctx.db.prisma);
}
