// Role checks at the roots of the schema, before any resolver runs: every
// query needs VIEWER (or more); each mutation the role of its kind of change.
// A refused call does nothing. Entitlements (which funds) are applied by the
// services on every read and write.
import { hasRole, type Role } from '../auth/caller';
import type { Context } from '../context';
import { DomainError } from '../errors';
import type { MutationResolvers } from './generated/resolvers';

export const MUTATION_ROLES: Record<keyof MutationResolvers, Role> = {
  createPortfolioNode: 'ADMIN',
  movePortfolioNode: 'ADMIN',
  upsertReferenceEntity: 'ADMIN',
  upsertInstrument: 'ADMIN',
  recordRating: 'INGESTOR',
  openPosition: 'INGESTOR',
  adjustPosition: 'INGESTOR',
  closePosition: 'INGESTOR',
  deletePosition: 'INGESTOR',
  recordValuations: 'INGESTOR',
  ingestMarketData: 'INGESTOR',
  uploadPositions: 'INGESTOR',
  createPortfolioSnapshot: 'INGESTOR',
};

type AnyResolver = (parent: unknown, args: unknown, ctx: Context, info: unknown) => unknown;

export function requireRole(ctx: Context, role: Role, what: string): void {
  if (!hasRole(ctx.caller, role)) {
    throw new DomainError('FORBIDDEN', `${what} needs the ${role} role${role === 'VIEWER' ? ' (or INGESTOR or ADMIN)' : role === 'INGESTOR' ? ' (or ADMIN)' : ''}`);
  }
}

/** The same resolvers, each first checking the caller's role. */
export function guarded<T extends object>(resolvers: T, roleOf: (field: string) => Role): T {
  return Object.fromEntries(
    Object.entries(resolvers).map(([field, resolve]) => [
      field,
      (parent: unknown, args: unknown, ctx: Context, info: unknown) => {
        requireRole(ctx, roleOf(field), field);
        return (resolve as AnyResolver)(parent, args, ctx, info);
      },
    ]),
  ) as T;
}

type AnySubscription = { subscribe: AnyResolver; resolve?: AnyResolver };

/** The same subscription resolvers, each checking the caller's role before it subscribes. */
export function guardedSubscriptions<T extends object>(resolvers: T, role: Role): T {
  return Object.fromEntries(
    Object.entries(resolvers).map(([field, resolver]) => {
      const { subscribe, resolve } = resolver as AnySubscription;
      const checked: AnyResolver = (parent, args, ctx, info) => {
        requireRole(ctx, role, field);
        return subscribe(parent, args, ctx, info);
      };
      return [field, { subscribe: checked, ...(resolve ? { resolve } : {}) }];
    }),
  ) as T;
}
