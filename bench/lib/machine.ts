// What the figures were measured on: the machine (from os and /proc), the
// PostgreSQL server and its settings, and the versions of what was measured.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
  postgres: { version: string; settings: Record<string, string> };
  packages: Record<string, string>;
  git: { commit: string; dirty: boolean } | null;
}

function cpuModel(): string {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1]!.trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

function memTotalGiB(): number {
  try {
    const line = readFileSync('/proc/meminfo', 'utf8').split('\n').find((l) => l.startsWith('MemTotal:'));
    if (line) return Number(line.replace(/\D+/g, '')) / 1024 / 1024;
  } catch {
    // not Linux
  }
  return os.totalmem() / 1024 ** 3;
}

const ROOT = join(__dirname, '../..');

function installedVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

const PACKAGES = ['@apollo/server', 'express', 'graphql', '@prisma/client', '@prisma/adapter-pg', 'pg', 'dataloader', 'postgraphile', 'autocannon'];

const SETTINGS = ['shared_buffers', 'work_mem', 'effective_cache_size', 'random_page_cost', 'jit', 'max_connections', 'max_parallel_workers_per_gather'];

export async function machineInfo(adminUrl: string): Promise<MachineInfo> {
  const client = new Client({ connectionString: adminUrl, application_name: 'pds-bench-info' });
  await client.connect();
  let version = 'unknown';
  const settings: Record<string, string> = {};
  try {
    version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? version;
    const rows = await client.query<{ name: string; setting: string; unit: string | null }>(
      'SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1)',
      [SETTINGS],
    );
    for (const r of rows.rows) settings[r.name] = r.unit === '8kB' ? `${(Number(r.setting) * 8) / 1024} MB` : r.unit === 'kB' ? `${Number(r.setting) / 1024} MB` : r.setting;
  } finally {
    await client.end();
  }
  let git: MachineInfo['git'] = null;
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).trim().length > 0;
    git = { commit, dirty };
  } catch {
    // not a git checkout
  }
  return {
    cpuModel: cpuModel(),
    cores: os.cpus().length,
    ramGiB: Math.round(memTotalGiB() * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres: { version, settings },
    packages: Object.fromEntries(PACKAGES.map((p) => [p, installedVersion(p)])),
    git,
  };
}
