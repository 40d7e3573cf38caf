// Apollo plugin: one structured log line per operation (request id, operation,
// duration, statement count), unexpected errors logged with the request id,
// and the request id attached to masked errors so a client can quote it.
import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from '../context';
import { databaseFailure } from '../db/database';
import { currentStatementScope } from '../db/statementScope';
import { isExpectedError } from './formatError';

export function requestLoggingPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue }) {
      const started = process.hrtime.bigint();
      return {
        async didEncounterErrors({ errors, response }) {
          for (const error of errors) {
            if (isExpectedError(error)) continue;
            const failure = databaseFailure(error.originalError);
            if (failure) {
              // Not a bug of ours: one short line, and 503 so that clients and load balancers retry.
              response.http.status = 503;
              contextValue.logger.warn({ failure, err: error.originalError?.message, path: error.path }, 'database failure');
            } else {
              contextValue.logger.error({ err: error.originalError ?? error, path: error.path }, 'unexpected error');
            }
          }
        },
        async willSendResponse({ response, operationName }) {
          if (response.body.kind === 'single') {
            for (const error of response.body.singleResult.errors ?? []) {
              if (error.extensions?.code === 'INTERNAL_SERVER_ERROR') {
                (error.extensions as Record<string, unknown>).requestId = contextValue.requestId;
              }
            }
          }
          contextValue.logger.info(
            { operation: operationName ?? null, durationMs: Number(process.hrtime.bigint() - started) / 1e6, statements: currentStatementScope()?.statements },
            'graphql operation',
          );
        },
      };
    },
  };
}
