// A position's history on both clocks: its versions over valid time as known
// at a moment, what it held on a date, and every recorded version of a
// valuation. Batched for many positions (the loaders' batch functions); the
// positions were resolved through the caller's entitlements before.
import { dateOf, decimalOf, driverQuery, epochMs, instantOf, optionalDateOf } from '../../db/driverRows';
import { Prisma, type PositionStatus, type PositionVersion, type ValuationResult } from '../../generated/prisma/client';
import { isUuid } from '../inputs';
import { knownSqlOf, type KnownAt } from '../time/knownAt';
import type { Read } from './nodes';
import { VALUATION_ROWS, valuationOf } from './positions';

/** What a position held on a date (Holding). */
export interface HoldingRow {
  asOf: Date;
  quantity: string;
  status: PositionStatus;
}

/** position_version's columns (alias v) under the model's names, for Database.read: dates and NUMERIC as text, timestamps as epoch ms. */
const VERSION_COLUMNS = Prisma.raw(`v.id::text AS id, v.position_id AS "positionId", v.valid_from::text AS "validFrom", v.valid_to::text AS "validTo",
  v.quantity::text AS quantity, v.status, ${epochMs('v.recorded_at', 'recordedAt')}, ${epochMs('v.superseded_at', 'supersededAt')}`);

/** A version as Prisma returns it, from the JSON of its VERSION_COLUMNS. */
const versionOf = (row: Record<string, unknown>): PositionVersion => ({
  ...(row as unknown as PositionVersion),
  id: BigInt(row.id as string),
  validFrom: dateOf(row.validFrom as string),
  validTo: optionalDateOf(row.validTo as string | null),
  quantity: decimalOf(row.quantity as string),
  recordedAt: instantOf(row.recordedAt as number),
  supersededAt: row.supersededAt === null ? null : instantOf(row.supersededAt as number),
});

/** position_version v with x its VERSION_COLUMNS (to_json(x): a version as one JSON object, for a row per key). */
const VERSION_ROWS = Prisma.sql`position_version v CROSS JOIN LATERAL (SELECT ${VERSION_COLUMNS}) x`;

/** A position and a moment (null: now): Position.history(knownAt). */
export interface VersionsKey {
  positionId: string;
  knownAt: KnownAt;
}

/** A position, a date and a moment: Position.holding(asOf, knownAt). */
export interface VersionOnKey extends VersionsKey {
  asOf: string;
}

const idsOf = (keys: readonly { positionId: string }[]) => keys.map((k) => (isUuid(k.positionId) ? k.positionId : null));

/**
 * For each key, the position's versions as known at its moment, oldest valid date first: one statement
 * for every key, whatever their moments (a row per key; an index range on (position_id, valid_from) each).
 */
export async function findVersions(read: Read, keys: readonly VersionsKey[]): Promise<PositionVersion[][]> {
  if (keys.length === 0) return [];
  const rows = await read<{ versions: Record<string, unknown>[] | null }>(...driverQuery(Prisma.sql`
    SELECT (SELECT json_agg(to_json(x) ORDER BY v.valid_from, v.id) FROM ${VERSION_ROWS}
            WHERE v.position_id = k.id AND ${knownSqlOf('v', Prisma.sql`k.known_at`)}) AS versions
    FROM unnest(${idsOf(keys)}::uuid[], ${keys.map((k) => k.knownAt)}::timestamptz[]) WITH ORDINALITY AS k (id, known_at, n)
    ORDER BY k.n`));
  return rows.map((row) => (row.versions ?? []).map(versionOf));
}

/** For each key, the position's version covering the date as known at the moment (null: none covers it): one statement for every key. */
export async function findVersionsOn(read: Read, keys: readonly VersionOnKey[]): Promise<(PositionVersion | null)[]> {
  if (keys.length === 0) return [];
  const rows = await read<{ version: Record<string, unknown> | null }>(...driverQuery(Prisma.sql`
    SELECT (SELECT to_json(x) FROM ${VERSION_ROWS}
            WHERE v.position_id = k.id AND ${knownSqlOf('v', Prisma.sql`k.known_at`)}
              AND v.valid_from <= k.as_of AND (v.valid_to IS NULL OR v.valid_to > k.as_of)
            ORDER BY v.valid_from DESC LIMIT 1) AS version
    FROM unnest(${idsOf(keys)}::uuid[], ${keys.map((k) => k.asOf)}::date[], ${keys.map((k) => k.knownAt)}::timestamptz[])
      WITH ORDINALITY AS k (id, as_of, known_at, n)
    ORDER BY k.n`));
  return rows.map((row) => (row.version ? versionOf(row.version) : null));
}

/**
 * For each key (a position and a date), every recorded version of its valuation of that date, newest
 * recorded first: one statement for every key.
 */
export async function findValuationVersions(read: Read, keys: readonly { positionId: string; asOfDate: string }[]): Promise<ValuationResult[][]> {
  if (keys.length === 0) return [];
  const rows = await read<{ versions: Record<string, unknown>[] | null }>(...driverQuery(Prisma.sql`
    SELECT (SELECT json_agg(to_json(x) ORDER BY v.recorded_at DESC, v.id) FROM ${VALUATION_ROWS}
            WHERE v.position_id = k.id AND v.as_of_date = k.as_of_date) AS versions
    FROM unnest(${idsOf(keys)}::uuid[], ${keys.map((k) => k.asOfDate)}::date[]) WITH ORDINALITY AS k (id, as_of_date, n)
    ORDER BY k.n`));
  return rows.map((row) => (row.versions ?? []).map(valuationOf));
}
