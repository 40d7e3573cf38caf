// Cursor pagination shared by every list: page-size rules of the contract
// (default 50, at most 500) and opaque cursors (base64url of the sort key).
import { jsonValueProblem } from '../domain/jsonSafety';
import { badInput } from '../errors';
import { isUuid } from './inputs';
import { Prisma } from '../generated/prisma/client';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

/** A page of rows, with what a Relay connection needs to describe it. */
export interface Page<T> {
  rows: T[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  totalCount: number;
  cursorOf(row: T): string;
}

export function pageSize(first: number | null | undefined, field = 'first'): number {
  if (first === null || first === undefined) return DEFAULT_PAGE_SIZE;
  if (!Number.isInteger(first) || first < 0) throw badInput(field, `${field} must be a whole number from 0 to ${MAX_PAGE_SIZE}`);
  if (first > MAX_PAGE_SIZE) throw badInput(field, `${field} must be at most ${MAX_PAGE_SIZE} (got ${first})`);
  return first;
}

export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/**
 * What each component of a cursor must be: free text (no NUL or broken Unicode), a UUID, a
 * calendar date (years 1 to 9999), a timestamp as this service writes it, or a number.
 * A forged cursor of the right shape must fail here, never in the database.
 */
export type CursorPart = 'string' | 'uuid' | 'date' | 'timestamp' | 'number';

const CURSOR_CHECKS: Record<CursorPart, (v: unknown) => boolean> = {
  string: (v) => typeof v === 'string' && v.length <= 1_000 && jsonValueProblem(v) === null,
  uuid: (v) => typeof v === 'string' && isUuid(v),
  date: (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v) && validDay(v),
  timestamp: (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(v) && validDay(v.slice(0, 10)),
  number: (v) => typeof v === 'number' && Number.isFinite(v),
};

function validDay(day: string): boolean {
  const date = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === day && day >= '0001-01-01';
}

/** The sort key in a cursor, checked part by part; null when there is no cursor. */
export function decodeCursor(cursor: string | null | undefined, shape: readonly CursorPart[], field = 'after'): (string | number)[] | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === shape.length && key.every((v, i) => CURSOR_CHECKS[shape[i] as CursorPart](v))) {
      return key as (string | number)[];
    }
  } catch {
    // fall through to the error below
  }
  throw badInput(field, `${field} is not a cursor returned by this list`);
}

/** Builds a page from rows fetched with limit first + 1 (the extra row only tells that more follow). */
export function pageFrom<T>(rows: T[], first: number, totalCount: number, after: unknown, keyOf: (row: T) => (string | number)[]): Page<T> {
  return new KeyedPage(rows.slice(0, first), rows.length > first, after !== null && after !== undefined, totalCount, keyOf);
}

/** The page with its rows replaced one for one (the same items in another shape): each cursor is its original row's. */
export function withRows<T, U>(page: Page<T>, rows: U[]): Page<U> {
  const original = new Map<U, T>(rows.map((row, i) => [row, page.rows[i]!]));
  return {
    rows, hasNextPage: page.hasNextPage, hasPreviousPage: page.hasPreviousPage, totalCount: page.totalCount,
    cursorOf: (row) => page.cursorOf(original.get(row)!),
  };
}

/**
 * A page whose cursors are its rows' keys. A class rather than an object literal with an arrow:
 * a tree builds a page per node, and each arrow was a new closure (named by the TypeScript
 * loader's keepNames, a defineProperty each).
 */
class KeyedPage<T> implements Page<T> {
  constructor(
    readonly rows: T[],
    readonly hasNextPage: boolean,
    readonly hasPreviousPage: boolean,
    readonly totalCount: number,
    private readonly keyOf: (row: T) => (string | number)[],
  ) {}

  cursorOf(row: T): string {
    return encodeCursor(this.keyOf(row));
  }
}

/**
 * A page's statement and, when its total is asked, the count in the same statement: one round trip
 * instead of two. The count's one row is left-joined to the page (LATERAL: a nested loop over that
 * one row, so the page's rows come in the page's own order); an empty page comes back as that row
 * alone, its page columns null. `count` null: the page's statement as it is (no total asked).
 * Read the rows with rowsAndTotal.
 */
export function withTotal(page: Prisma.Sql, count: Prisma.Sql | null): Prisma.Sql {
  if (count === null) return page;
  return Prisma.sql`SELECT p.*, t.total AS "totalCount" FROM (${count}) t (total) LEFT JOIN LATERAL (${page}) p ON true`;
}

/**
 * The page's rows and its total from a withTotal statement's rows (`key`: a page column never null).
 * Without a count the total is NaN: a connection whose totalCount nobody asked never shows it.
 */
export function rowsAndTotal<T>(rows: (T & { totalCount?: number | bigint })[], key: keyof T, counted: boolean): { rows: T[]; total: number } {
  const total = counted ? Number(rows[0]?.totalCount ?? 0) : Number.NaN;
  const page: T[] = [];
  for (const row of rows) {
    if (row[key] === null) continue;
    const { totalCount: _t, ...rest } = row;
    page.push(rest as T);
  }
  return { rows: page, total };
}
