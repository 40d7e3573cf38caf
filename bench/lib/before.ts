// npm run bench -- --before <git-ref>: the service as it was at an earlier commit, measured in the
// same run as ours. The commit is checked out once in a git worktree (bench/.cache/before-<sha7>,
// git-ignored) with its own dependencies (`npm ci`; its postinstall generates its Prisma client).
// For each size, that commit's own migrations and seed generator fill a database
// `<db>_bench_<label>_before` next to ours (cached like ours: cachedDatabase in ./datasets, with a
// marker naming the commit, the seed and the size), and that commit's own src/main.ts serves it
// from a child process on a free loopback port: authentication off, analytics cache off, quiet,
// no migration or demo seed on start (the settings of its src/config.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { BENCH_SEED, benchDatabaseName, cachedDatabase, sizeLabel, type Dataset, type DatasetFacts, type PresentFacts } from './datasets';
import type { QuerySpec } from './queries';

const ROOT = resolve(__dirname, '../..');

export interface BeforeCommit {
  /** As given to --before. */
  ref: string;
  commit: string;
  short: string;
  /** The worktree. */
  dir: string;
}

/**
 * The queries measured on the earlier commit too: the present-day ones. Not `history` (the two
 * clocks are the work being compared), not the snapshots (they write) and not the cached variants
 * (its analytics cache is off).
 */
export const measuredBefore = (spec: QuerySpec): boolean => spec.group !== 'history' && spec.group !== 'snapshot' && !spec.cached;

/** The variables of the present-day queries need no `history`, which the earlier data set does not have: reading it throws. */
export function factsForVariables(facts: PresentFacts): DatasetFacts {
  return {
    ...facts,
    get history(): never {
      throw new Error('the data set of --before has no two-clock facts');
    },
  };
}

const tail = (text: string, lines = 15) => text.trimEnd().split('\n').slice(-lines).join('\n');

/**
 * Runs a command to completion and resolves with its stdout; rejects with the end of its output.
 * Each stderr line also goes to onLine (progress).
 */
function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void }): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (!options.onLine) return;
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) options.onLine(line);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolvePromise(stdout);
      else reject(new Error(`${command} ${args.join(' ')} (in ${options.cwd}) failed (${signal ?? `exit ${code}`}):\n${tail(`${stdout}\n${stderr}`)}`));
    });
  });
}

/**
 * Resolves the ref, checks the commit out in its worktree (reused when it is there) and installs
 * its dependencies once (again only when its package-lock.json changes: a marker in node_modules
 * holds the lock file's hash, and `npm ci` empties node_modules first, so an interrupted install
 * has no marker).
 */
export async function prepareBeforeCommit(ref: string, log: (line: string) => void): Promise<BeforeCommit> {
  const commit = (await run('git', ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`], { cwd: ROOT })).trim();
  const short = commit.slice(0, 7);
  const dir = join(ROOT, 'bench', '.cache', `before-${short}`);
  if (existsSync(dir)) {
    // Its own checkout at the commit, not a leftover directory inside ours.
    const [top, head] = (await run('git', ['rev-parse', '--show-toplevel', 'HEAD'], { cwd: dir }).catch(() => '')).trim().split('\n');
    if (top !== dir || head !== commit) {
      throw new Error(`${dir} is not a worktree at ${commit}: remove it (git worktree remove --force ${relative(ROOT, dir)}, or delete the directory and run git worktree prune) and run again`);
    }
    log(`before: ${ref} = ${commit}, worktree ${relative(ROOT, dir)} (cached)`);
  } else {
    mkdirSync(dirname(dir), { recursive: true });
    log(`before: ${ref} = ${commit}, git worktree add --detach ${relative(ROOT, dir)}`);
    // --force: a worktree at this path that was deleted without `git worktree remove` is still registered.
    await run('git', ['worktree', 'add', '--force', '--detach', dir, commit], { cwd: ROOT });
  }
  const lock = createHash('sha256').update(readFileSync(join(dir, 'package-lock.json'))).digest('hex');
  const installed = join(dir, 'node_modules', '.pds-bench-installed');
  if (existsSync(installed) && readFileSync(installed, 'utf8').trim() === lock) {
    log(`before: dependencies of ${short} installed (cached)`);
  } else {
    const started = Date.now();
    log(`before: npm ci --no-audit --no-fund in ${relative(ROOT, dir)} (once per commit; its postinstall generates its Prisma client)`);
    await run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir });
    writeFileSync(installed, `${lock}\n`);
    log(`before: installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  return { ref, commit, short, dir };
}

/**
 * Run inside the worktree (cwd) by its own tsx: migrates and seeds the database of DATABASE_URL with
 * that commit's runner and generator, with the options of its own bench (seedOptionsFor of its
 * bench/lib/datasets.ts) and the seed asked, as its prepareDataset does. Progress on stderr, the
 * options and the summary as JSON on stdout.
 */
const SEED_SCRIPT = `// Written by bench/lib/before.ts of a later commit (npm run bench -- --before); run with this worktree as cwd.
import { seedOptionsFor } from './bench/lib/datasets';
import { databaseConfigFrom } from './src/config';
import { openDatabase } from './src/db/database';
import { migrate } from './src/db/migrate';
import { loadWorld } from './src/services/seed/load';
import { buildWorld } from './src/services/seed/world';

async function main(): Promise<void> {
  const [positions, seed] = process.argv.slice(2).map(Number);
  const options = { ...seedOptionsFor(positions!), seed: seed! };
  const db = await openDatabase(databaseConfigFrom({ DATABASE_URL: process.env.DATABASE_URL, DB_STATEMENT_TIMEOUT_MS: '3600000', DB_POOL_MAX: '2' }));
  try {
    await migrate(db.sql);
    const started = Date.now();
    let last = 0;
    const summary = await loadWorld(db.sql, buildWorld(options), {
      reset: true,
      onProgress: (p) => {
        if (Date.now() - last < 10_000 && p.positions < p.totalPositions) return;
        last = Date.now();
        console.error(\`\${p.positions.toLocaleString('en')}/\${p.totalPositions.toLocaleString('en')} positions, \${p.valuations.toLocaleString('en')} valuations, \${((Date.now() - started) / 1000).toFixed(0)} s\`);
      },
    });
    console.log(JSON.stringify({ options, summary }));
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
`;

/** The data set of one size for the earlier commit: `<db>_bench_<label>_before`, built by that commit's code. */
export async function prepareBeforeDataset(before: BeforeCommit, adminUrl: string, positions: number, log: (line: string) => void): Promise<Dataset> {
  const database = `${benchDatabaseName(adminUrl, positions)}_before`;
  const marker = `pds-bench-before seed=${BENCH_SEED} positions=${positions} commit=${before.commit}`;
  const prepared = await cachedDatabase(adminUrl, database, marker, log, {
    build: async (url) => {
      const script = join(before.dir, '.pds-bench-seed.ts');
      writeFileSync(script, SEED_SCRIPT);
      const out = await run(process.execPath, ['--import', 'tsx', script, String(positions), String(BENCH_SEED)], {
        cwd: before.dir,
        env: { ...process.env, DATABASE_URL: url },
        onLine: (line) => log(`  ${database}: ${line}`),
      });
      log(`  ${database}: loaded by ${before.short} ${out.trim().split('\n').pop()}`);
    },
  });
  return { positionsAsked: positions, label: sizeLabel(positions), database, marker, ...prepared };
}

export interface BeforeService {
  /** The GraphQL endpoint. */
  url: string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Signals the child's process group (it is detached: its own group, out of reach of the terminal's Ctrl-C). */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Gone already.
  }
}

let exitHandlers = false;
/** Whatever way the bench ends, the services it started end with it. */
function killOnExit(): void {
  if (exitHandlers) return;
  exitHandlers = true;
  process.on('exit', () => {
    for (const child of running) signalGroup(child, 'SIGKILL');
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      for (const child of running) signalGroup(child, 'SIGKILL');
      process.exit(128 + os.constants.signals[signal]);
    });
  }
}

/**
 * Preloaded into the child: it exits when its IPC channel to the bench closes, so a bench that is
 * killed outright (SIGKILL, no exit handler) leaves no service behind.
 */
const EXIT_WITH_BENCH = `data:text/javascript,${encodeURIComponent("process.on('disconnect', () => process.exit(0));")}`;

function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolvePromise(port));
    });
  });
}

/**
 * Starts the earlier commit's service (its src/main.ts with its own tsx, as its `npm start` does)
 * on the database `url`, and waits for its /readyz. `maxCost`: the query cost limit our instance
 * runs with (the bench's queries are large on purpose).
 */
export async function startBeforeService(before: BeforeCommit, url: string, maxCost: number, log: (line: string) => void): Promise<BeforeService> {
  killOnExit();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // The settings of that commit's src/config.ts (loadConfig), as our in-process instance is configured.
    DATABASE_URL: url,
    HOST: '127.0.0.1',
    PORT: String(port),
    AUTH_MODE: 'off',
    ANALYTICS_CACHE_MB: '0',
    LOG_LEVEL: 'silent',
    LOG_STATEMENT_COUNTS: 'false',
    MIGRATE_ON_START: 'false',
    SEED_DEMO: 'false',
    GRAPHQL_INTROSPECTION: 'false',
    GRAPHQL_IDE: 'false',
    MAX_QUERY_COST: String(maxCost),
    CORS_ORIGINS: '',
  };
  delete env.NODE_ENV; // production (NODE_ENV=production) refuses AUTH_MODE=off
  const child = spawn(process.execPath, ['--max-semi-space-size=64', '--import', EXIT_WITH_BENCH, '--import', 'tsx', 'src/main.ts'], {
    cwd: before.dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  running.add(child);
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let stopping = false;
  const exited = new Promise<string>((resolveExit) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      const how = signal ?? `exit ${code}`;
      if (!stopping) log(`  before: the service at ${before.short} ended unexpectedly (${how}): ${tail(output, 5)}`);
      resolveExit(how);
    });
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    stopping = true;
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };

  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the service at ${before.short} ended before it was ready:\n${tail(output)}`);
      const ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (ready) break;
      if (Date.now() - started > 120_000) throw new Error(`the service at ${before.short} was not ready after 120 s:\n${tail(output)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  log(`  before: the service at ${before.short} (pid ${child.pid}) ready at ${base} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { url: `${base}/graphql`, stop };
}
