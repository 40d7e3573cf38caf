// Traces of the real entry point (src/main.ts as its own process, on
// PostgreSQL) exported over OTLP/HTTP to a receiver this test runs: the
// exporter sends JSON (@opentelemetry/exporter-trace-otlp-http), decoded
// here. A query with a secret in a variable and in a literal gives an HTTP
// server span, the GraphQL operation span named by type and name with the
// semantic conventions' attributes, and SQL statement spans beneath it; a
// mutation whose error message quotes a secret is traced too. No secret
// appears anywhere in what was exported: not the variables, nor the literal
// (the document is sanitised), nor the SQL parameters, nor the error message.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInstrument } from '../support/factories';
import { graphql } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { startMain, type MainProcess } from './helpers';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: OtlpValue }[];
  events: { name: string; attributes: { key: string; value: OtlpValue }[] }[];
  status: { code: number; message?: string };
  scope: string;
}

const SERVER_KIND = 2;
// Upper case: the ticker is upper-cased before it reaches SQL, where it must not appear either.
const SECRET_VARIABLE = 'SEKRETVARIABLE7Q';
const SECRET_LITERAL = 'SEKRETLITERAL8R';
const SECRET_IN_ERROR = 'sekret-in-an-error-9s';

let t: TestDatabase;
let receiver: Server;
let endpoint: string;
/** Every request body the receiver got, as sent. */
const bodies: string[] = [];
let main: MainProcess | undefined;
let instrumentId: string;

function spansOf(body: string): OtlpSpan[] {
  const request = JSON.parse(body) as { resourceSpans: { scopeSpans: { scope: { name: string }; spans: Omit<OtlpSpan, 'scope'>[] }[] }[] };
  return request.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((span) => ({ ...span, scope: s.scope.name }))));
}

const allSpans = () => bodies.flatMap(spansOf);
const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes.find((a) => a.key === key)?.value;
  return value?.stringValue ?? value?.intValue ?? value?.boolValue;
};

/** The span's ancestors, nearest first (within what was exported). */
function ancestors(span: OtlpSpan, byId: Map<string, OtlpSpan>): OtlpSpan[] {
  const chain: OtlpSpan[] = [];
  for (let parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined; parent; parent = parent.parentSpanId ? byId.get(parent.parentSpanId) : undefined) {
    chain.push(parent);
  }
  return chain;
}

const until = async (condition: () => boolean) => {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
};

beforeAll(async () => {
  t = await createTestDatabase();
  instrumentId = (await createInstrument(t.db, { name: 'Traced instrument' })).id;
  receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) bodies.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  main?.kill();
  await new Promise((resolve) => receiver?.close(resolve));
  await t?.drop();
});

it('exports HTTP, GraphQL operation and SQL spans, parent to child, with no argument value, parameter or error message', async () => {
  main = await startMain({ DATABASE_URL: t.url!, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '50', DB_POOL_MAX: '2' });
  const base = `http://127.0.0.1:${main.port}`;
  const QUERY = `query Secretive($ticker: String) {
    byVariable: instrumentByIdentifier(ticker: $ticker) { id }
    byLiteral: instrumentByIdentifier(ticker: "${SECRET_LITERAL}") { id }
  }`;
  const answer = await graphql(base, QUERY, { ticker: SECRET_VARIABLE });
  expect(answer.errors).toBeUndefined();
  expect(answer.data).toEqual({ byVariable: null, byLiteral: null });
  const refused = await graphql(base, 'mutation Refused($input: OpenPositionInput!) { openPosition(input: $input) { id } }', {
    input: { nodeId: SECRET_IN_ERROR, instrumentId, quantity: '1', baseCurrency: 'USD' },
  });
  expect(refused.errors?.[0]?.message).toContain(SECRET_IN_ERROR);

  // Spans are exported in batches as they end; the HTTP span of a request ends last.
  await until(() => ['query Secretive', 'mutation Refused'].every((name) => {
    const operation = allSpans().find((s) => s.name === name);
    return operation !== undefined && allSpans().some((s) => s.traceId === operation.traceId && s.kind === SERVER_KIND);
  }));
  // SIGTERM flushes what is still batched, so that every span of the run is in `bodies`.
  main.proc.kill('SIGTERM');
  expect(await main.exited).toBe(0);

  const spans = allSpans();
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const operation = spans.find((s) => s.name === 'query Secretive')!;
  expect(operation.scope).toBe('@opentelemetry/instrumentation-graphql');
  expect(attribute(operation, 'graphql.operation.type')).toBe('query');
  expect(attribute(operation, 'graphql.operation.name')).toBe('Secretive');
  expect(attribute(operation, 'graphql.source')).toContain('ticker: "*"');

  // HTTP -> GraphQL operation -> SQL, in one trace.
  const http = ancestors(operation, byId).at(-1)!;
  expect(http.kind).toBe(SERVER_KIND);
  expect(http.scope).toBe('@opentelemetry/instrumentation-http');
  expect(http.parentSpanId ?? '').toBe('');
  expect(attribute(http, 'http.request.method') ?? attribute(http, 'http.method')).toBe('POST');
  const statements = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-pg' && ancestors(s, byId).includes(operation));
  expect(statements.length).toBeGreaterThanOrEqual(2);
  for (const statement of statements) {
    expect(statement.traceId).toBe(operation.traceId);
    const text = String(attribute(statement, 'db.query.text') ?? attribute(statement, 'db.statement'));
    expect(text).toMatch(/\$1/);
  }

  // The refused mutation's span says it failed, not why.
  const mutation = spans.find((s) => s.name === 'mutation Refused')!;
  const failed = spans.filter((s) => s.traceId === mutation.traceId && s.events.some((e) => e.name === 'exception'));
  expect(failed.length).toBeGreaterThan(0);

  expect(bodies.length).toBeGreaterThan(0);
  for (const body of bodies) {
    for (const secret of [SECRET_VARIABLE, SECRET_LITERAL, SECRET_IN_ERROR]) expect(body).not.toContain(secret);
  }
});
