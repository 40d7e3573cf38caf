// Who is calling: their roles and the funds (root nodes) they may see.
// Roles nest: ADMIN can do all an INGESTOR can, an INGESTOR all a VIEWER can.

export type Role = 'VIEWER' | 'INGESTOR' | 'ADMIN';
export const ROLES: readonly Role[] = ['VIEWER', 'INGESTOR', 'ADMIN'];
const RANK: Record<Role, number> = { VIEWER: 1, INGESTOR: 2, ADMIN: 3 };

/** The funds a caller may see: every fund, or the listed FUND node ids. */
export type FundScope = 'ALL' | ReadonlySet<string>;

export interface Caller {
  /** The token's `sub`, or "local" when authentication is off. */
  subject: string;
  roles: ReadonlySet<Role>;
  funds: FundScope;
  /** False only in open mode (AUTH_MODE=off). */
  authenticated: boolean;
}

/** The caller of open mode: a local user with every role and every fund. */
export const OPEN_CALLER: Caller = { subject: 'local', roles: new Set(ROLES), funds: 'ALL', authenticated: false };

export function hasRole(caller: Caller, needed: Role): boolean {
  return [...caller.roles].some((role) => RANK[role] >= RANK[needed]);
}

/**
 * What a service may show: the FUND ids whose nodes (and everything under them)
 * the caller may see, or null for every fund.
 */
export type Scope = readonly string[] | null;

/** The fund ids to filter by, or null when the caller sees every fund. */
export function fundFilter(caller: Caller): Scope {
  return caller.funds === 'ALL' ? null : [...caller.funds];
}

export function seesFund(caller: Caller, fundId: string | null | undefined): boolean {
  return caller.funds === 'ALL' || (fundId !== null && fundId !== undefined && caller.funds.has(fundId));
}
