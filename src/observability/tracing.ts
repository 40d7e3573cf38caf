// OpenTelemetry tracing: HTTP server spans, GraphQL parse/validate/execute
// spans (the operation span is named by its type, `query` / `mutation` /
// `subscription`, followed by its name, per the GraphQL semantic conventions,
// with graphql.operation.type, graphql.operation.name and the document with
// every literal replaced by "*"), and one span per SQL statement through `pg`,
// exported over OTLP/HTTP (JSON) to OTEL_EXPORTER_OTLP_ENDPOINT.
//
// Loaded by src/tracing.ts only when that variable is set, and before anything
// it instruments is required: the instrumentations patch `http`, `express`,
// `graphql` and `pg` as they load. Without it this file, the SDK and the
// instrumentations are never loaded.
//
// What never goes into a span: variables and argument values (allowValues
// false), SQL parameters (enhancedDatabaseReporting false: the statement text
// with its $1.. placeholders only), request headers, the query string of a
// GraphQL GET (redacted), and error messages: an exception recorded on a span
// keeps its type only, a failed span its status code only (a validation or
// input error quotes the value it refuses; see withoutMessages).
import type { IncomingMessage } from 'node:http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ExpressInstrumentation, ExpressLayerType } from '@opentelemetry/instrumentation-express';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { NodeSDK, type tracing } from '@opentelemetry/sdk-node';

/** Probes and scrapes: frequent, and of no interest in a trace. */
const UNTRACED_PATHS = new Set(['/livez', '/readyz', '/metrics']);

/**
 * Query-string parameters whose values never reach a span: a GraphQL GET carries the document, its variables
 * and extensions there (plus the instrumentation's own defaults, signed-URL parameters).
 */
const REDACTED_QUERY_PARAMS = ['query', 'variables', 'extensions', 'operationName', 'sig', 'Signature', 'AWSAccessKeyId', 'X-Goog-Signature'];

const pathOf = (request: IncomingMessage) => (request.url ?? '').split('?', 1)[0] as string;

/**
 * A span as exported, without error messages: exception events keep their type (and no message nor stack,
 * whose first line is the message), the status its code. The instrumentations record the messages as they
 * are, and "Int cannot represent non-integer value: ..." or a BAD_USER_INPUT message quotes what the
 * client sent. Other fields are read through from the span.
 */
function withoutMessages(span: tracing.ReadableSpan): tracing.ReadableSpan {
  const hasException = span.events.some((event) => event.name === 'exception');
  if (!hasException && span.status.message === undefined) return span;
  const events = span.events.map((event) =>
    event.name === 'exception' ? { ...event, attributes: { 'exception.type': event.attributes?.['exception.type'] ?? 'Error' } } : event);
  return Object.create(span, { events: { value: events }, status: { value: { code: span.status.code } } }) as tracing.ReadableSpan;
}

/** The OTLP exporter, fed spans without error messages. */
class MessageFreeExporter implements tracing.SpanExporter {
  constructor(private readonly inner: tracing.SpanExporter) {}

  export(spans: tracing.ReadableSpan[], done: Parameters<tracing.SpanExporter['export']>[1]): void {
    this.inner.export(spans.map(withoutMessages), done);
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export function startTracing(): NodeSDK {
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME?.trim() || 'portfolio-data-service',
    // OTLP/HTTP with JSON bodies, to OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT overrides).
    traceExporter: new MessageFreeExporter(new OTLPTraceExporter()),
    // Traces only: the SDK would otherwise also start OTLP metric and log exporters by default.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has(pathOf(request)),
        redactedQueryParamsServer: REDACTED_QUERY_PARAMS,
      }),
      // Routers and route handlers only: a span per middleware (CORS, the body gate, Apollo's) per request adds
      // cost and nothing a GraphQL operation's span does not say; GraphQL spans hang off the HTTP span.
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE] }),
      new GraphQLInstrumentation({
        allowValues: false,
        // A tree query resolves thousands of fields: spans for the root fields and their children only,
        // none for fields read straight off their parent object, list items merged (`positions.*.id`).
        depth: 2,
        ignoreTrivialResolveSpans: true,
        mergeItems: true,
      }),
      new PgInstrumentation({
        enhancedDatabaseReporting: false,
        // Statements outside any request (the live listener, background retries) would each start a trace.
        requireParentSpan: true,
        // A pool checkout per statement doubles the spans; waits for a connection show in db_pool_waiting_requests.
        ignoreConnectSpans: true,
      }),
    ],
  });
  sdk.start();
  return sdk;
}
