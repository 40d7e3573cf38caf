// The first import of src/main.ts: starts OpenTelemetry tracing when
// OTEL_EXPORTER_OTLP_ENDPOINT is set (src/observability/tracing.ts), before
// the modules it instruments (http, express, graphql, pg) are loaded by the
// imports that follow. When it is not set, nothing of the SDK is loaded and
// nothing is patched: the service runs exactly as without tracing.
import type { NodeSDK } from '@opentelemetry/sdk-node';
import type * as Tracing from './observability/tracing';

function start(): NodeSDK | null {
  if (!process.env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) return null;
  // A require, not an import: an import is always loaded, this only when tracing is on.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./observability/tracing') as typeof Tracing).startTracing();
}

/** The running SDK (null without OTEL_EXPORTER_OTLP_ENDPOINT): main.ts flushes it on shutdown. */
export const tracing = start();
