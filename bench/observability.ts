// npm run bench:observability -- [--rounds 3] [--duration 5] [--connections 10]
//
// What metrics and tracing cost a request: the real service (src/main.ts, one
// child process per setting, on 127.0.0.1) with
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
// Queries: `{ __typename }` (no database: the whole cost is the HTTP and
// GraphQL path, where the observation happens) and a small read of the demo
// world. On DATABASE_URL when set (migrated and seeded), else on embedded
// databases in temporary directories (seeded with the demo world at start).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
  },
});
const ROUNDS = Number(values.rounds);
const DURATION_S = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const ROOT = join(__dirname, '..');

const QUERIES = {
  typename: '{ __typename }',
  roots: 'query Roots { portfolioRoots { id name nodeType } }',
};

interface Running {
  name: string;
  proc: ChildProcess;
  port: number;
}

function startService(name: string, env: Record<string, string>): Promise<Running> {
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
            resolve({ name, proc, port: Number(entry.port) });
          }
        } catch {
          // not a log line
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`${name}: src/main.ts exited (${code}) before listening`)));
  });
}

/** CPU seconds (user + system) a process has used so far (Linux). */
function cpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are the 12th and 13th.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ, 100 on Linux
}

async function load(service: Running, query: string): Promise<{ rps: number; p99: number; errors: number; cpuUs: number }> {
  const port = service.port;
  const cpuBefore = cpuSeconds(service.proc.pid!);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
    connections: CONNECTIONS,
    duration: DURATION_S,
  });
  const cpuUs = ((cpuSeconds(service.proc.pid!) - cpuBefore) * 1e6) / Math.max(1, result.requests.total);
  return { rps: result.requests.average, p99: result.latency.p99, errors: result.errors + result.non2xx, cpuUs };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  // The OTLP receiver: reads each export and answers 200, as a collector would.
  let exports = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;

  const dataDirs: string[] = [];
  const database = (name: string): Record<string, string> => {
    if (process.env.DATABASE_URL) return { DATABASE_URL: process.env.DATABASE_URL };
    dataDirs.push(mkdtempSync(join(tmpdir(), `pds-bench-obs-${name}-`)));
    return { DATA_DIR: dataDirs.at(-1)! };
  };
  const settings: [string, Record<string, string>][] = [
    ['off', { METRICS_ENABLED: 'false' }],
    ['metrics', {}],
    ['traced', { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }],
  ];
  const services: Running[] = [];
  try {
    for (const [name, env] of settings) services.push(await startService(name, { ...database(name), ...env }));
    console.log(`observability bench: ${ROUNDS} rounds of ${DURATION_S} s, ${CONNECTIONS} connections, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded databases'}, LOG_LEVEL=info`);
    for (const [queryName, query] of Object.entries(QUERIES)) {
      const figures = new Map<string, { rps: number[]; p99: number[]; cpuUs: number[]; errors: number }>(
        services.map((s) => [s.name, { rps: [], p99: [], cpuUs: [], errors: 0 }]),
      );
      for (const service of services) await load(service, query); // warm-up round, not counted
      for (let round = 0; round < ROUNDS; round++) {
        // Each round starts with another setting.
        for (let i = 0; i < services.length; i++) {
          const service = services[(i + round) % services.length]!;
          const result = await load(service, query);
          const f = figures.get(service.name)!;
          f.rps.push(result.rps);
          f.cpuUs.push(result.cpuUs);
          f.p99.push(result.p99);
          f.errors += result.errors;
        }
      }
      const base = median(figures.get('off')!.rps);
      const baseCpu = median(figures.get('off')!.cpuUs);
      console.log(`\n${queryName}: ${query}`);
      for (const [name, f] of figures) {
        const rps = median(f.rps);
        const cpu = median(f.cpuUs);
        console.log(`  ${name.padEnd(8)} ${rps.toFixed(0).padStart(7)} req/s (${f.rps.map((x) => x.toFixed(0)).join(', ')})  ` +
          `${((rps / base) * 100).toFixed(1).padStart(5)} % of off  p99 ${median(f.p99)} ms  ` +
          `CPU ${cpu.toFixed(0)} us/request (${f.cpuUs.map((x) => x.toFixed(0)).join(', ')}), ${((cpu / baseCpu - 1) * 100).toFixed(1)} % over off  errors ${f.errors}`);
      }
    }
    console.log(`\nOTLP exports received from the traced service: ${exports}`);
  } finally {
    await Promise.all(services.map((service) => new Promise((resolve) => {
      if (service.proc.exitCode !== null || service.proc.signalCode !== null) return resolve(null);
      service.proc.once('exit', resolve);
      service.proc.kill('SIGTERM');
    })));
    receiver.close();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
