// The per-request context: the database, the caller, fresh DataLoaders (never
// shared between requests, so one caller never sees another's cache), and the
// request's id and logger.
import { fundFilter, type Caller } from './auth/caller';
import type { Database } from './db/database';
import { ingestionLoaders } from './loaders/ingestion';
import { marketDataLoaders } from './loaders/marketData';
import { portfolioLoaders } from './loaders/portfolio';
import { referenceLoaders } from './loaders/reference';
import { snapshotLoaders } from './loaders/snapshots';
import type { Logger } from './logger';
import type { AnalyticsCache } from './services/analytics/cache';
import { RequestClock } from './services/time/knownAt';

export function createLoaders(db: Database, caller: Caller) {
  return {
    ...portfolioLoaders(db.prisma, db.read, fundFilter(caller)),
    ...referenceLoaders(db.prisma),
    ...marketDataLoaders(db.prisma),
    ...ingestionLoaders(db.prisma, caller),
    ...snapshotLoaders(db.prisma),
  };
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
}

export function createContext(db: Database, caller: Caller, requestId: string, logger: Logger, analytics: AnalyticsCache): Context {
  return { db, caller, loaders: createLoaders(db, caller), requestId, logger, analytics, clock: new RequestClock(db.prisma) };
}
