// Errors the service means to show to a client, with the codes of the API
// contract. Services throw these (never GraphQLError); the GraphQL layer maps
// them to `extensions.code` (src/graphql/formatError.ts). Anything else is an
// internal error and is masked.

export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'NOT_FOUND'
  | 'HIERARCHY_VIOLATION'
  | 'FX_RATE_NOT_FOUND'
  | 'CONFLICT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'QUERY_TOO_COMPLEX'
  | 'INTERNAL_SERVER_ERROR';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Path of the offending input, e.g. "input.quantity" or "rows[3].isin". */
    readonly field?: string,
    /** More machine-readable detail for clients, e.g. { pairs: ['EURJPY'] }. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

export const badInput = (field: string, message: string) => new DomainError('BAD_USER_INPUT', message, field);
export const notFound = (field: string, message: string) => new DomainError('NOT_FOUND', message, field);
