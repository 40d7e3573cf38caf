// `npm start` with no DATABASE_URL: the real entry point in a child process
// comes up on the embedded database, migrates and seeds the demo world on first
// run, serves GraphQL and health, stops cleanly on SIGTERM, and keeps its data
// across restarts without seeding twice.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { graphql } from '../support/http';

const ROOT = join(__dirname, '../..');
const dataDir = mkdtempSync(join(tmpdir(), 'pds-embedded-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  url: string;
  log: string[];
}

function start(): Promise<Started> {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  delete env.DATABASE_URL;
  delete env.NODE_OPTIONS;
  // As npm start runs it: node with tsx as a loader, so signals reach the service itself.
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], { env, cwd: ROOT });
  const log: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${log.join('')}`)), 90_000);
    child.stderr.on('data', (d) => log.push(String(d)));
    child.stdout.on('data', (d: Buffer) => {
      for (const line of String(d).split('\n').filter(Boolean)) {
        log.push(line);
        const entry = JSON.parse(line) as { msg: string; port?: number };
        if (entry.msg === 'portfolio data service listening') {
          clearTimeout(timer);
          resolve({ child, url: `http://127.0.0.1:${entry.port}`, log });
        }
      }
    });
    child.on('exit', (code) => reject(new Error(`service exited with ${code}:\n${log.join('\n')}`)));
  });
}

function stop(s: Started): Promise<number | null> {
  return new Promise((resolve) => {
    s.child.on('exit', (code) => resolve(code));
    s.child.kill('SIGTERM');
  });
}

const ROOTS = '{ portfolioRoots { id name nodeType children { name nodeType parent { id } } } }';

it('starts on the embedded database with demo data, and restarts without reseeding', async () => {
  const first = await start();
  let roots: unknown;
  try {
    expect(first.log.join('\n')).toMatch(/seeding the demo world/);
    expect(await (await fetch(`${first.url}/livez`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${first.url}/readyz`);
    expect(ready.status).toBe(200);
    const res = await graphql(first.url, ROOTS);
    expect(res.errors).toBeUndefined();
    const funds = res.data!.portfolioRoots as { id: string; nodeType: string; children: { nodeType: string; parent: { id: string } }[] }[];
    expect(funds).toHaveLength(3);
    for (const fund of funds) {
      expect(fund.nodeType).toBe('FUND');
      expect(fund.children.length).toBeGreaterThan(0);
      expect(fund.children.every((c) => c.nodeType === 'DESK' && c.parent.id === fund.id)).toBe(true);
    }
    roots = res.data;
  } finally {
    expect(await stop(first)).toBe(0);
  }
  expect(first.log.join('\n')).toMatch(/"msg":"stopped"/);

  const second = await start();
  try {
    expect(second.log.join('\n')).not.toMatch(/seeding the demo world/);
    expect((await graphql(second.url, ROOTS)).data).toEqual(roots);
  } finally {
    expect(await stop(second)).toBe(0);
  }
  // Two cold starts of a child process (tsx, PGlite, migrations, the demo world's seed): well under a
  // minute on an idle machine, but each start() may take up to 90 s on a loaded one.
}, 240_000);
