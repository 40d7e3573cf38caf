// A position's history on both clocks: its versions over valid time as known
// at a moment, what it held on a date, and every recorded version of a
// valuation. Batched for many positions (the loaders' batch functions); the
// positions were resolved through the caller's entitlements before.
import type { Prisma as Db } from '../../db/database';
import { Prisma, type PositionStatus, type PositionVersion, type ValuationResult } from '../../generated/prisma/client';
import { validIds } from '../inputs';
import { knownSql, type KnownAt } from '../time/knownAt';

/** What a position held on a date (Holding). */
export interface HoldingRow {
  asOf: Date;
  quantity: string;
  status: PositionStatus;
}

// Column lists are constants of this file, never user text.
const raw = (sql: string) => Prisma.raw(sql);

const VERSION_COLUMNS = `v.id, v.position_id AS "positionId", v.valid_from AS "validFrom", v.valid_to AS "validTo", v.quantity,
  v.status, v.recorded_at AS "recordedAt", v.superseded_at AS "supersededAt"`;

/** The versions of each position as known at K, oldest valid date first. */
export function findVersions(prisma: Db, positionIds: readonly string[], knownAt: KnownAt): Promise<PositionVersion[]> {
  const ids = validIds(positionIds);
  if (ids.length === 0) return Promise.resolve([]);
  return prisma.$queryRaw<PositionVersion[]>`
    SELECT ${raw(VERSION_COLUMNS)} FROM position_version v
    WHERE v.position_id = ANY (${ids}::uuid[]) AND ${knownSql('v', knownAt)}
    ORDER BY v.position_id, v.valid_from`;
}

/** For each position, its version covering `asOf` as known at K (absent when none covers it). */
export function findVersionsOn(prisma: Db, positionIds: readonly string[], asOf: string, knownAt: KnownAt): Promise<PositionVersion[]> {
  const ids = validIds(positionIds);
  if (ids.length === 0) return Promise.resolve([]);
  return prisma.$queryRaw<PositionVersion[]>`
    SELECT ${raw(VERSION_COLUMNS)} FROM position_version v
    WHERE v.position_id = ANY (${ids}::uuid[]) AND ${knownSql('v', knownAt)}
      AND v.valid_from <= ${asOf}::date AND (v.valid_to IS NULL OR v.valid_to > ${asOf}::date)`;
}

/** Every recorded version of each position's valuation for one date, newest recorded first. */
export function findValuationVersions(prisma: Db, positionIds: readonly string[], asOfDate: string): Promise<ValuationResult[]> {
  const ids = validIds(positionIds);
  if (ids.length === 0) return Promise.resolve([]);
  return prisma.$queryRaw<ValuationResult[]>`
    SELECT v.id, v.position_id AS "positionId", v.as_of_date AS "asOfDate", v.market_value AS "marketValue", v.currency,
           v.valid_to AS "validTo", v.recorded_at AS "recordedAt", v.superseded_at AS "supersededAt",
           v.created_at AS "createdAt", v.updated_at AS "updatedAt"
    FROM valuation_result v
    WHERE v.position_id = ANY (${ids}::uuid[]) AND v.as_of_date = ${asOfDate}::date
    ORDER BY v.position_id, v.recorded_at DESC, v.id`;
}
