// Cursor pagination shared by every list: page-size rules of the contract
// (default 50, at most 500) and opaque cursors (base64url of the sort key).
import { badInput } from '../errors';

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

/** The sort key in a cursor, checked against the expected shape; null when there is no cursor. */
export function decodeCursor(cursor: string | null | undefined, shape: readonly ('string' | 'number')[], field = 'after'): (string | number)[] | null {
  if (cursor === null || cursor === undefined) return null;
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(key) && key.length === shape.length && key.every((v, i) => typeof v === shape[i])) return key as (string | number)[];
  } catch {
    // fall through to the error below
  }
  throw badInput(field, `${field} is not a cursor returned by this list`);
}

/** Builds a page from rows fetched with limit first + 1 (the extra row only tells that more follow). */
export function pageFrom<T>(rows: T[], first: number, totalCount: number, after: unknown, keyOf: (row: T) => (string | number)[]): Page<T> {
  return {
    rows: rows.slice(0, first),
    hasNextPage: rows.length > first,
    hasPreviousPage: after !== null && after !== undefined,
    totalCount,
    cursorOf: (row) => encodeCursor(keyOf(row)),
  };
}
