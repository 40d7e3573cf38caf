// One place where errors become what a client sees. DomainErrors carry the
// contract's code and the offending field; GraphQL's own request errors
// (syntax, validation, variable coercion) pass through; everything else is
// masked as INTERNAL_SERVER_ERROR (the requestLogging plugin logs it and adds
// the request id, so an operator can find it).
import { unwrapResolverError } from '@apollo/server/errors';
import type { GraphQLFormattedError } from 'graphql';
import { DATABASE_FAILURE_MESSAGES, databaseFailure } from '../db/database';
import { DomainError } from '../errors';

const PASS_THROUGH = new Set([
  'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT', 'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED', 'PERSISTED_QUERY_NOT_ALLOWED', 'OPERATION_RESOLUTION_FAILURE',
  'UNAUTHENTICATED', 'FORBIDDEN', 'QUERY_TOO_COMPLEX',
]);

/** True when the error is one we mean to show (and so need not log as unexpected). */
export function isExpectedError(error: unknown): boolean {
  const original = unwrapResolverError(error);
  if (original instanceof DomainError) return true;
  const code = (error as { extensions?: { code?: unknown } })?.extensions?.code;
  return typeof code === 'string' && PASS_THROUGH.has(code);
}

/**
 * The input path named by graphql-js in a variable coercion error, e.g.
 * 'Variable "$input" got invalid value "usd" at "input.baseCurrency"; ...' -> "input.baseCurrency".
 */
export function coercionField(message: string): string | undefined {
  const at = /^Variable "\$[\w]+" got invalid value .*? at "([^"]+)"/s.exec(message);
  if (at) return at[1];
  return /^Variable "\$([\w]+)"/.exec(message)?.[1];
}

export function createErrorFormatter(options: { production: boolean }) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    if (original instanceof DomainError) {
      return {
        message: original.message,
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: original.code, ...(original.field ? { field: original.field } : {}), ...original.details },
      };
    }
    // Limits reported during validation arrive wrapped as GRAPHQL_VALIDATION_FAILED.
    const inner = (error as { originalError?: { extensions?: { code?: unknown } } } | undefined)?.originalError?.extensions?.code;
    if (inner === 'QUERY_TOO_COMPLEX' || formatted.extensions?.code === 'QUERY_TOO_COMPLEX') {
      return { message: formatted.message.replace(/^Syntax Error: /, ''), extensions: { code: 'QUERY_TOO_COMPLEX' } };
    }
    // graphql-js stops after 50 bad variables with a message of its own, without a code.
    if (/^Too many errors processing variables/.test(formatted.message)) {
      return { message: formatted.message, extensions: { code: 'BAD_USER_INPUT', field: 'variables' } };
    }
    const code = formatted.extensions?.code;
    if (typeof code === 'string' && PASS_THROUGH.has(code)) {
      const { stacktrace, ...extensions } = formatted.extensions ?? {};
      const field = code === 'BAD_USER_INPUT' ? coercionField(formatted.message) : undefined;
      return {
        ...formatted,
        extensions: { ...extensions, ...(field ? { field } : {}), ...(options.production ? {} : { stacktrace }) },
      };
    }
    // The database down, restarting or too slow: still INTERNAL_SERVER_ERROR, but saying so
    // (the requestLogging plugin answers HTTP 503), so that a client knows to retry.
    const failure = databaseFailure(original);
    return {
      message: failure ? DATABASE_FAILURE_MESSAGES[failure] : 'Internal server error',
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    };
  };
}
