// What metrics and tracing cost a request, on the real service (src/main.ts, one
// child process per setting, on 127.0.0.1):
//   off      METRICS_ENABLED=false, no OTEL_EXPORTER_OTLP_ENDPOINT
//   metrics  the default: /metrics on, tracing off (the SDK not even loaded)
//   traced   metrics on and every request traced, exported over OTLP/HTTP to a
//            receiver in this process that reads and drops the spans
// autocannon sends one query at a time per setting, the settings taking turns
// round after round (so that a noisy neighbour hurts them alike); the median
// requests/s of the rounds is reported, with its ratio to `off`, and the
// service's CPU time per request (user + system, from /proc/<pid>/stat), which
// other load on the machine disturbs much less than throughput.
//
// Used by `npm run bench` (on the data set of its smallest size, with the bench's
// own tree query) and by `npm run bench:observability` (bench/observability.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import autocannon from 'autocannon';

export const OBSERVABILITY_SETTINGS = ['off', 'metrics', 'traced'] as const;
export type ObservabilitySetting = (typeof OBSERVABILITY_SETTINGS)[number];

export interface ObservabilityQuery {
  name: string;
  query: string;
  variables?: Record<string, unknown>;
}

export interface ObservabilityOptions {
  rounds: number;
  durationSeconds: number;
  connections: number;
  /** Environment of the service for one setting: where its database is (DATABASE_URL or DATA_DIR). */
  database: (setting: ObservabilitySetting) => Record<string, string>;
  queries: ObservabilityQuery[];
  /** More environment for every service (e.g. MAX_QUERY_COST for the bench's large queries). */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface ObservabilityFigures {
  setting: ObservabilitySetting;
  /** Median requests/s over the rounds, and each round's. */
  rps: number;
  rounds: number[];
  /** rps as a share of `off` (1 = the same). */
  ofOff: number;
  p99Ms: number;
  /** Median CPU time of the service per request (user + system), and each round's. */
  cpuUs: number;
  cpuRounds: number[];
  /** CPU per request over `off` (0.05 = 5 % more). */
  cpuOverOff: number;
  errors: number;
}

export interface ObservabilityResult {
  rounds: number;
  durationSeconds: number;
  connections: number;
  queries: { name: string; query: string; figures: ObservabilityFigures[] }[];
  /** OTLP exports the traced service sent to the receiver (proof that it traced). */
  otlpExports: number;
}

interface Running {
  setting: ObservabilitySetting;
  proc: ChildProcess;
  port: number;
}

const ROOT = join(__dirname, '..', '..');

function startService(setting: ObservabilitySetting, env: Record<string, string>): Promise<Running> {
  const proc = spawn(process.execPath, ['--max-semi-space-size=64', '--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', HOST: '127.0.0.1', AUTH_MODE: 'off', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'portfolio data service listening') {
            // From here on its log lines are read and dropped, as a log shipper would.
            proc.stdout!.off('data', onData);
            proc.stdout!.resume();
            resolve({ setting, proc, port: Number(entry.port) });
          }
        } catch {
          // not a log line
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`${setting}: src/main.ts exited (${code}) before listening`)));
  });
}

function stopService(service: Running): Promise<unknown> {
  return new Promise((resolve) => {
    if (service.proc.exitCode !== null || service.proc.signalCode !== null) return resolve(null);
    service.proc.once('exit', resolve);
    service.proc.kill('SIGTERM');
  });
}

/** CPU seconds (user + system) a process has used so far (Linux). */
function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ, 100 on Linux
}

async function load(service: Running, body: string, options: ObservabilityOptions): Promise<{ rps: number; p99: number; errors: number; cpuUs: number }> {
  const cpuBefore = cpuSeconds(service.proc.pid!);
  let graphqlErrors = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${service.port}/graphql`,
    connections: options.connections,
    duration: options.durationSeconds,
    requests: [{
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      onResponse: (status, responseBody) => {
        if (status === 200 && responseBody.includes('"errors"')) graphqlErrors++;
      },
    }],
  });
  const cpuUs = ((cpuSeconds(service.proc.pid!) - cpuBefore) * 1e6) / Math.max(1, result.requests.total);
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx + graphqlErrors, cpuUs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function measureObservability(options: ObservabilityOptions): Promise<ObservabilityResult> {
  const log = options.log ?? (() => undefined);
  // The OTLP receiver: reads each export and answers 200, as a collector would.
  let otlpExports = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      otlpExports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const settingEnv: Record<ObservabilitySetting, Record<string, string>> = {
    off: { METRICS_ENABLED: 'false' },
    metrics: {},
    traced: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
  };
  const services: Running[] = [];
  const result: ObservabilityResult = { rounds: options.rounds, durationSeconds: options.durationSeconds, connections: options.connections, queries: [], otlpExports: 0 };
  try {
    for (const setting of OBSERVABILITY_SETTINGS) {
      services.push(await startService(setting, { ...options.database(setting), ...options.env, ...settingEnv[setting] }));
    }
    for (const q of options.queries) {
      const body = JSON.stringify({ query: q.query, variables: q.variables ?? {} });
      const raw = new Map<ObservabilitySetting, { rps: number[]; p99: number[]; cpuUs: number[]; errors: number }>(
        services.map((s) => [s.setting, { rps: [], p99: [], cpuUs: [], errors: 0 }]),
      );
      for (const service of services) await load(service, body, options); // warm-up round, not counted
      for (let round = 0; round < options.rounds; round++) {
        // Each round starts with another setting.
        for (let i = 0; i < services.length; i++) {
          const service = services[(i + round) % services.length]!;
          const r = await load(service, body, options);
          const f = raw.get(service.setting)!;
          f.rps.push(r.rps);
          f.cpuUs.push(r.cpuUs);
          f.p99.push(r.p99);
          f.errors += r.errors;
        }
      }
      const base = median(raw.get('off')!.rps);
      const baseCpu = median(raw.get('off')!.cpuUs);
      const figures: ObservabilityFigures[] = [...raw].map(([setting, f]) => ({
        setting,
        rps: median(f.rps),
        rounds: f.rps,
        ofOff: median(f.rps) / base,
        p99Ms: median(f.p99),
        cpuUs: median(f.cpuUs),
        cpuRounds: f.cpuUs,
        cpuOverOff: median(f.cpuUs) / baseCpu - 1,
        errors: f.errors,
      }));
      result.queries.push({ name: q.name, query: q.query, figures });
      for (const f of figures) {
        log(`    observability ${q.name.padEnd(10)} ${f.setting.padEnd(8)} ${f.rps.toFixed(0).padStart(7)} req/s (${f.rounds.map((x) => x.toFixed(0)).join(', ')})  ` +
          `${(f.ofOff * 100).toFixed(1).padStart(5)} % of off  p99 ${f.p99Ms} ms  CPU ${f.cpuUs.toFixed(0)} us/request, ${(f.cpuOverOff * 100).toFixed(1)} % over off  errors ${f.errors}`);
      }
    }
  } finally {
    await Promise.all(services.map(stopService));
    await new Promise((resolve) => receiver.close(resolve));
  }
  result.otlpExports = otlpExports;
  return result;
}
