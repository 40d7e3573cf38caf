// Shared pieces of the fault tests: a migrated, lightly seeded database on a
// private cluster, a dedicated BOOK and instrument for uploads (so a batch's
// rows can be counted exactly), and timing of HTTP calls.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Pool } from 'pg';
import type { DatabaseConfig } from '../../src/config';
import { openDatabase, type Database } from '../../src/db/database';
import { migrate } from '../../src/db/migrate';
import { pgRunner } from '../../src/db/sql';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { createChain, createInstrument } from '../support/factories';
import type { GraphQLResponse } from '../support/http';
import type { PgCluster } from '../support/pgCluster';

export const WORLD = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 300, funds: 2 });

/** Creates a database on the cluster, migrates it with our runner and loads a small world. */
export async function seededDatabase(cluster: PgCluster, name: string): Promise<string> {
  const url = await cluster.createDatabase(name);
  const pool = new Pool({ connectionString: url, max: 2 });
  try {
    await migrate(pgRunner(pool));
    await loadWorld(pgRunner(pool), WORLD);
  } finally {
    await pool.end();
  }
  return url;
}

export function postgresConfig(url: string, over: Partial<Extract<DatabaseConfig, { kind: 'postgres' }>> = {}): Extract<DatabaseConfig, { kind: 'postgres' }> {
  return { kind: 'postgres', url, poolMax: 5, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000, idleTimeoutMs: 10_000, jit: false, ...over };
}

/** A BOOK and an instrument of their own: every position on that BOOK comes from the test's uploads. */
export async function uploadTarget(url: string, prefix: string): Promise<{ bookId: string; instrumentId: string }> {
  const db = await openDatabase(postgresConfig(url, { poolMax: 1 }));
  try {
    const { book } = await createChain(db, prefix);
    const instrument = await createInstrument(db, { name: `${prefix} instrument` });
    return { bookId: book.id, instrumentId: instrument.id };
  } finally {
    await db.close();
  }
}

export const UPLOAD = `mutation($input: PositionUploadInput!) { uploadPositions(input: $input) { id status rowCount acceptedCount } }`;

export function uploadRows(target: { bookId: string; instrumentId: string }, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    nodeId: target.bookId, instrumentId: target.instrumentId, quantity: `${i + 1}.25`, baseCurrency: 'USD',
    marketValue: `${i + 1}.5`, asOfDate: '2026-10-30',
  }));
}

/** Position and valuation rows held by the BOOK (a direct count, outside the service). */
export async function rowsOf(url: string, bookId: string): Promise<{ positions: number; valuations: number }> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    const { rows } = await pool.query<{ positions: number; valuations: number }>(
      `SELECT (SELECT count(*) FROM position WHERE portfolio_node_id = $1)::int AS positions,
              (SELECT count(*) FROM valuation_result v JOIN position p ON p.id = v.position_id WHERE p.portfolio_node_id = $1)::int AS valuations`,
      [bookId],
    );
    return rows[0]!;
  } finally {
    await pool.end();
  }
}

export interface Timed<T> {
  startedAt: number;
  ms: number;
  value?: T;
  error?: unknown;
}

export async function timed<T>(fn: () => Promise<T>): Promise<Timed<T>> {
  const startedAt = Date.now();
  try {
    const value = await fn();
    return { startedAt, ms: Date.now() - startedAt, value };
  } catch (error) {
    return { startedAt, ms: Date.now() - startedAt, error };
  }
}

export const ok = (r: Timed<GraphQLResponse>) => r.value !== undefined && r.value.status === 200 && !r.value.errors;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `condition` holds; fails after `ms` saying what was awaited. */
export async function waitFor<T>(what: string, condition: () => T | Promise<T>, ms: number): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export async function readyz(baseUrl: string): Promise<number> {
  return (await fetch(`${baseUrl}/readyz`)).status;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface MainProcess {
  proc: ChildProcess;
  port: number;
  /** Every stdout line that parsed as JSON, in order. */
  logs: LogLine[];
  /** Everything the process wrote, stdout and stderr, as is. */
  output(): string;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** SIGKILL, for clean-up after a failed test. */
  kill(): void;
}

const ROOT = join(__dirname, '../..');

/**
 * Starts src/main.ts as one process (`node --import tsx`, see shutdown.test.ts for why not the tsx CLI),
 * resolves once it logs that it listens. The environment is only what is given (plus PATH and HOME).
 */
export function startMain(env: Record<string, string>): Promise<MainProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', AUTH_MODE: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let raw = '';
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const kill = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  };
  return new Promise((resolve, reject) => {
    let buffer = '';
    proc.stdout!.on('data', (chunk: Buffer) => {
      raw += chunk.toString('utf8');
      buffer += chunk.toString('utf8');
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as LogLine;
          logs.push(entry);
          if (entry.msg === 'portfolio data service listening') {
            resolve({ proc, port: Number(entry.port), logs, output: () => raw, exited, kill });
          }
        } catch {
          // not a log line
        }
      }
    });
    proc.stderr!.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
    void exited.then((code) => reject(new Error(`src/main.ts exited (${code}) before listening: ${raw}`)));
  });
}

export type { Database };
