// A private, throw-away PostgreSQL cluster for fault tests: its own data
// directory in a temp dir, its own free port on 127.0.0.1, started and stopped
// with pg_ctl. Fault tests stop, crash and slow down this one only; the shared
// server in TEST_DATABASE_URL keeps serving the other test files.
//
// PostgreSQL refuses to run as root, so when the tests run as root every
// initdb/pg_ctl call goes through `runuser -u postgres` and the directory is
// handed to that user.
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);
const asRoot = process.getuid?.() === 0;

/** initdb/pg_ctl (or another PostgreSQL tool) as the postgres user when we are root; async, so a stop never blocks the event loop. */
export async function pg(command: string, args: string[]): Promise<string> {
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  const { stdout } = await run(file, argv, { timeout: 60_000 });
  return stdout;
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** A port nobody listens on right now (the kernel's pick; the tiny race before postgres binds is acceptable in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PgCluster {
  dir: string;
  port: number;
  /** postgresql://postgres@127.0.0.1:PORT/<database> */
  url(database?: string): string;
  start(): Promise<void>;
  /** `immediate` is a crash (no checkpoint, backends killed); `fast` is an orderly stop. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  running(): boolean;
  /** Creates a database with C collation (like the shared test server's) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server if it runs and deletes the directory. */
  destroy(): Promise<void>;
}

/** A fresh temporary directory the postgres user owns (when we are root), for a data directory. */
export async function clusterDirectory(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'pds-pg-'));
  if (asRoot) {
    const { uid, gid } = await postgresUser();
    chownSync(dir, uid, gid);
  }
  return dir;
}

export async function createPgCluster(options: { settings?: Record<string, string | number> } = {}): Promise<PgCluster> {
  const dir = await clusterDirectory();
  const data = join(dir, 'data');
  const port = await freePort();
  // -N: no fsync during initdb (seconds saved; the cluster is thrown away).
  await pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '-N']);
  const cluster = clusterAt(dir, port, options.settings);
  await cluster.start();
  return cluster;
}

/** The cluster whose data directory is `dir`/data (made by initdb or pg_basebackup), served on `port`; not started. */
export function clusterAt(dir: string, port: number, extraSettings: Record<string, string | number> = {}): PgCluster {
  const data = join(dir, 'data');
  const settings = { listen_addresses: '127.0.0.1', max_connections: 100, ...extraSettings };
  const serverOptions = [`-p ${port}`, `-k ${dir}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
  let up = false;

  const cluster: PgCluster = {
    dir,
    port,
    url: (database = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${database}`,
    async start() {
      await pg('pg_ctl', ['-D', data, '-o', serverOptions, '-l', join(dir, 'log'), '-w', '-t', '30', 'start']);
      up = true;
    },
    async stop(mode = 'fast') {
      await pg('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '30', 'stop']);
      up = false;
    },
    running: () => up,
    async createDatabase(name) {
      const client = new Client({ connectionString: cluster.url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`);
      } finally {
        await client.end();
      }
      return cluster.url(name);
    },
    async destroy() {
      if (up) await cluster.stop('immediate').catch(() => undefined);
      // KEEP_PG_CLUSTER=1 keeps the directory (and the server's log) for a post-mortem.
      if (!process.env.KEEP_PG_CLUSTER) rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}
