// Runs one autocannon load test in its own process (spawned by load.ts), so
// that the load generator does not share an event loop with the servers
// under test. Input: a JSON LoadSpec as argv[2]; output: one JSON line on stdout.
import autocannon from 'autocannon';
import type { LoadSpec, LoadResult } from './load';

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const requests = spec.bodies.map((body) => ({ method: 'POST' as const, path: new URL(spec.url).pathname, headers: { 'content-type': 'application/json' }, body }));
  // A few distinct error messages, to say what the errors were.
  const samples = new Set<string>();
  const verify = (body: unknown): boolean => {
    const ok = typeof body === 'string' && body.startsWith('{"data"') && !body.includes('"errors":');
    if (!ok && samples.size < 5) {
      const text = typeof body === 'string' ? body : String(body);
      const m = text.match(/"message":"([^"]{0,200})/);
      samples.add(m ? m[1]! : text.slice(0, 200));
    }
    return ok;
  };
  const run = (duration: number) =>
    autocannon({
      url: spec.url,
      connections: spec.connections,
      duration,
      requests,
      timeout: 60,
      // A GraphQL error arrives with HTTP 200: it must count as an error, never as a fast answer.
      verifyBody: verify,
    });
  if (spec.warmupSeconds > 0) await run(spec.warmupSeconds);
  samples.clear();
  const r = await run(spec.durationSeconds);
  const result: LoadResult = {
    connections: r.connections,
    durationSeconds: r.duration,
    requests: r.requests.total,
    requestsPerSecond: r.requests.total / r.duration,
    latency: { p50: r.latency.p50, p90: r.latency.p90, p97_5: r.latency.p97_5, p99: r.latency.p99, mean: r.latency.average, max: r.latency.max },
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    mismatches: r.mismatches,
    errorSamples: [...samples],
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
