// npx tsx bench/bodyMemory.ts [--requests 40] [--mb 30]
//
// Memory of one service process under many large request bodies at once (issue 14, item 7): the
// service (a child process: createServer on an embedded database, as src/main.ts starts it) is sent
// --requests concurrent POSTs of --mb MB each, over loopback, in three settings:
//   jwt, no token       refused with 401 before the body is read
//   jwt, INGESTOR token  may send large bodies; at most MAX_CONCURRENT_LARGE_BODIES (2) at once, the
//                        rest refused with 503 before their bodies are read (the 30 MB bodies are under
//                        MAX_UPLOAD_BODY_BYTES, so the two admitted ones are read and parsed)
//   AUTH_MODE=off       the open caller may upload: as the INGESTOR
// It prints the service's resident memory (VmRSS) before, at its peak (sampled every 10 ms) and after,
// and the answers' statuses. Before this hardening, 40 x 30 MB took a process from 245 MB to 2.86 GB.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openDatabase } from '../src/db/database';
import { migrate } from '../src/db/migrate';
import { silentLogger } from '../src/logger';
import { createServer } from '../src/server';

const SECRET = 'body-memory-bench-secret-of-at-least-32-bytes';
/** Keep-alive connections, as browsers and HTTP client libraries use (a `Connection: close` request is answered and closed). */
const agent = new Agent({ keepAlive: true });

async function serve(): Promise<void> {
  const dataDir = process.env.BODYBENCH_DATA as string;
  const db = await openDatabase({ kind: 'embedded', dataDir });
  await migrate(db.sql);
  const auth = process.env.BODYBENCH_AUTH === 'jwt' ? { mode: 'jwt' as const, secret: SECRET, clockToleranceSec: 0 } : { mode: 'off' as const };
  const service = await createServer({ config: { production: true, graphqlIntrospection: false, graphqlIde: false, auth }, db, logger: silentLogger });
  const port = await service.listen(0, '127.0.0.1');
  process.send?.({ port });
}

const rssMb = (pid: number): number => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
};

/**
 * One POST of `body` with its Content-Length, sent whole as a plain client does even when the answer comes
 * first: the status, or the socket error when the server closed first.
 */
function post(port: number, body: Buffer, authorization: string | undefined): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/graphql', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length, ...(authorization ? { authorization } : {}) } });
    let outcome: string | null = null;
    let sent = false;
    const settle = () => {
      if (outcome === null || !sent) return;
      req.destroy();
      resolve(outcome);
    };
    req.on('response', (response) => {
      response.resume();
      response.on('end', () => {
        outcome = String(response.statusCode);
        settle();
      });
    });
    req.on('finish', () => {
      sent = true;
      settle();
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      outcome ??= error.code ?? 'error';
      sent = true;
      settle();
    });
    req.end(body);
  });
}

async function scenario(name: string, auth: 'jwt' | 'off', authorization: string | undefined, requests: number, body: Buffer): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'pds-bodybench-'));
  const child: ChildProcess = fork(__filename, [], { execArgv: ['--import', 'tsx'], env: { ...process.env, BODYBENCH_ROLE: 'server', BODYBENCH_DATA: dataDir, BODYBENCH_AUTH: auth }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      child.once('message', (message) => resolve(message as { port: number }));
      child.once('exit', (code) => reject(new Error(`service exited with ${code}`)));
    });
    const pid = child.pid as number;
    // Settle after start-up (migrations), then measure.
    await post(port, Buffer.from('{"query":"{ __typename }"}'), authorization);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const before = rssMb(pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 10);
    const started = Date.now();
    const outcomes = await Promise.all(Array.from({ length: requests }, () => post(port, body, authorization)));
    const seconds = (Date.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 500));
    clearInterval(sampler);
    const after = rssMb(pid);
    const counts = new Map<string, number>();
    for (const outcome of outcomes) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
    console.log(
      `${name.padEnd(22)} RSS before ${before.toFixed(0)} MB, peak ${peak.toFixed(0)} MB (+${(peak - before).toFixed(0)}), after ${after.toFixed(0)} MB; ` +
        `${requests} x ${(body.length / 1e6).toFixed(0)} MB in ${seconds.toFixed(1)} s; answers: ${[...counts].map(([k, v]) => `${k} x${v}`).join(', ')}`,
    );
  } finally {
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '40' }, mb: { type: 'string', default: '30' } } });
  const requests = Number(values.requests);
  const bytes = Number(values.mb) * 1000 * 1000;
  const head = '{"query":"{ __typename }","variables":{"padding":"';
  const body = Buffer.alloc(bytes, 'x');
  body.write(head, 0);
  body.write('"}}', bytes - 3);
  const jose = await import('jose');
  const ingestor = await new jose.SignJWT({ roles: ['INGESTOR'], funds: ['*'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('bench').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
  await scenario('jwt, no token', 'jwt', undefined, requests, body);
  await scenario('jwt, INGESTOR token', 'jwt', `Bearer ${ingestor}`, requests, body);
  await scenario('AUTH_MODE=off', 'off', undefined, requests, body);
}

if (process.env.BODYBENCH_ROLE === 'server') {
  serve().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
