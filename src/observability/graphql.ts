// Apollo plugin: each HTTP operation's duration by type and (bounded) name,
// the codes of the errors its client was sent, and, while statements are
// counted (LOG_STATEMENT_COUNTS), its SQL statements. Subscriptions over
// WebSocket are observed by the transport (src/graphql/websocket.ts,
// webSocketObserver below).
import type { ApolloServerPlugin } from '@apollo/server';
import type { Context } from '../context';
import { currentStatementScope } from '../db/statementScope';
import type { WebSocketObserver } from '../graphql/websocket';
import type { OperationType, ServiceMetrics } from './metrics';

/** The operation_name label: the document's name, "anonymous" without one, "unknown" when none was resolved. */
function operationLabel(metrics: ServiceMetrics, resolved: boolean, name: string | null | undefined): string {
  if (!resolved) return 'unknown';
  return name ? metrics.operationNames.label(name) : 'anonymous';
}

const codeOf = (error: object) => {
  const code = (error as { extensions?: Record<string, unknown> }).extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
};

export function metricsPlugin(metrics: ServiceMetrics): ApolloServerPlugin<Context> {
  return {
    // Refused before an operation starts: a bad token (UNAUTHENTICATED), a malformed request (BAD_REQUEST).
    async contextCreationDidFail({ error }) {
      metrics.countError(codeOf(error));
    },
    async invalidRequestWasReceived({ error }) {
      metrics.countError(codeOf(error));
    },
    async requestDidStart({ contextValue }) {
      const started = performance.now();
      // The ingestion resolvers report what they store through the context.
      contextValue.metrics = metrics;
      return {
        async willSendResponse({ operation, operationName, response }) {
          const type: OperationType = operation?.operation ?? 'unknown';
          metrics.operationDuration.observe(
            { operation_type: type, operation_name: operationLabel(metrics, operation !== undefined, operationName) },
            (performance.now() - started) / 1000,
          );
          if (response.body.kind === 'single') {
            for (const error of response.body.singleResult.errors ?? []) metrics.countError(codeOf(error));
          }
          const scope = currentStatementScope();
          if (scope) metrics.operationStatements.observe({ operation_type: type }, scope.statements);
        },
      };
    },
  };
}

/** What the WebSocket transport reports (src/graphql/websocket.ts), into the same metrics as HTTP's. */
export function webSocketObserver(metrics: ServiceMetrics): WebSocketObserver {
  return {
    subscribed(): void {
      metrics.subscriptions.inc();
    },
    completed(operationName: string | null, seconds: number): void {
      metrics.subscriptions.dec();
      metrics.operationDuration.observe({ operation_type: 'subscription', operation_name: operationLabel(metrics, true, operationName) }, seconds);
    },
    errored(code: string): void {
      metrics.countError(code);
    },
  };
}
