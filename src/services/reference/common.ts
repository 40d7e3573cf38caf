// What the reference-data services share: the handle type that works both
// outside and inside a transaction, optional-field and id normalisation, and
// (unique violations map to CONFLICT in ../prismaErrors.ts).
import type { Prisma as PrismaNamespace } from '../../generated/prisma/client';
import { notFound } from '../../errors';
import { isUuid } from '../inputs';

/** The Prisma client or an interactive transaction on it (reads work on both). */
export type Db = PrismaNamespace.TransactionClient;

/**
 * Partial-update semantics of the upsert inputs: a field left out (undefined)
 * keeps what is stored, an explicit null (or blank text) clears it.
 */
export function given<T, R>(value: T | null | undefined, normalise: (value: T) => R | null): R | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  return normalise(value);
}

/** An id naming a row that must exist; one that is not a UUID cannot exist, so it is NOT_FOUND without a query. */
export function optionalId(value: string | null | undefined, field: string): string | null | undefined {
  return given(value, (id) => {
    const text = id.trim();
    if (text === '') return null;
    if (!isUuid(text)) throw notFound(field, `${field} "${text.slice(0, 40)}" does not exist`);
    return text.toLowerCase();
  });
}
