// Rows of hot reads sent through the driver (Database.read) rather than Prisma's raw-query path,
// typed as Prisma types them. Prisma decodes every value of a raw result by its column type
// (a Decimal per NUMERIC, a Date per DATE and TIMESTAMPTZ): for a tree's position pages (600 rows)
// that decoding was a sixth of the request's CPU. The statements select NUMERIC and DATE columns
// as text (the drivers would read a DATE at local midnight, pg and PGlite differently) and
// TIMESTAMPTZ as milliseconds since the epoch (pg parses a timestamp's text with a regular
// expression: 7 % of that CPU again), and these turn them into what Prisma returns: a Decimal, a
// Date at UTC midnight, a Date to the millisecond (Prisma truncates microseconds too). JSON, uuid,
// enums and integers arrive from both drivers as Prisma returns them.
import { Prisma } from '../generated/prisma/client';

/** The SQL text and parameters of a Prisma.sql statement, for Database.read. */
export const driverQuery = (sql: Prisma.Sql): [string, unknown[]] => [sql.text, sql.values];

export const decimalOf = (text: string): Prisma.Decimal => new Prisma.Decimal(text);

/** A DATE's text (YYYY-MM-DD, as PostgreSQL writes it) as a Date at UTC midnight; other forms (years past 9999) parsed as before. */
export const dateOf = (text: string): Date => {
  if (text.length === 10 && text.charCodeAt(4) === 45 && text.charCodeAt(7) === 45) {
    // Digits read in place: no ISO string built and parsed per value (a page of 600 positions has 1,800 dates).
    const year = text.charCodeAt(0) * 1000 + text.charCodeAt(1) * 100 + text.charCodeAt(2) * 10 + text.charCodeAt(3) - 53_328; // 48 * 1111
    const ms = Date.UTC(year, text.charCodeAt(5) * 10 + text.charCodeAt(6) - 529, text.charCodeAt(8) * 10 + text.charCodeAt(9) - 528);
    // Date.UTC maps years 0-99 to 1900-1999; such dates (and anything malformed) take the ISO parser.
    if (text.charCodeAt(0) !== 48 && !Number.isNaN(ms)) return new Date(ms);
  }
  return new Date(`${text}T00:00:00.000Z`);
};

export const optionalDateOf = (text: string | null): Date | null => (text === null ? null : dateOf(text));

/** SQL: a TIMESTAMPTZ column as whole milliseconds since the epoch (numeric arithmetic, then an exact float8). */
export const epochMs = (column: string, alias: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8 AS "${alias}"`;

export const instantOf = (ms: number): Date => new Date(ms);

/** A Prisma client (or transaction) as a Database.read: statements with $1.. parameters, rows decoded as the driver's. */
export const prismaRead = (db: { $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): PromiseLike<T> }) =>
  <T>(sql: string, params: unknown[] = []): Promise<T[]> => Promise.resolve(db.$queryRawUnsafe<T[]>(sql, ...params));
