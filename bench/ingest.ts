// Position importer benchmark (issue 5): writes a CSV of N rows (default
// 1,000,000) naming the BOOK/STRATEGY nodes and ISINs of the seeded database,
// runs `npm run ingest -- positions` on it in a child process, and prints
// rows/s and the child's peak RSS (from /usr/bin/time -v where present, else
// from the importer's own summary line, process.resourceUsage().maxRSS).
//   DATABASE_URL=postgresql://... npx tsx bench/ingest.ts [--rows 1000000] [--mode ALL_OR_NOTHING|SKIP_INVALID]
//     [--valued 0.5] [--bad-row N] [--keep]
// --bad-row N gives row N an invalid quantity: ALL_OR_NOTHING then validates the whole file, rolls back and exits 1.
// The database must be seeded first (npm run seed -- --positions 100000 --reset).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { databaseConfigFrom } from '../src/config';
import { openDatabase } from '../src/db/database';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' }, mode: { type: 'string', default: 'ALL_OR_NOTHING' },
    valued: { type: 'string', default: '0.5' }, 'bad-row': { type: 'string' }, keep: { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows);
const valuedShare = Number(values.valued);
const badRow = values['bad-row'] === undefined ? -1 : Number(values['bad-row']);

async function references(): Promise<{ nodes: string[]; isins: string[] }> {
  // Read and close again: an embedded database can be open in one process at a time.
  const db = await openDatabase(databaseConfigFrom(process.env));
  try {
    const nodes = await db.sql.query<{ id: string }>(`SELECT id::text AS id FROM portfolio_node WHERE node_type IN ('BOOK', 'STRATEGY') ORDER BY id`);
    const isins = await db.sql.query<{ isin: string }>('SELECT isin FROM instrument WHERE isin IS NOT NULL ORDER BY isin');
    if (nodes.length === 0 || isins.length === 0) throw new Error('the database has no BOOK/STRATEGY nodes or no ISINs: seed it first (npm run seed)');
    return { nodes: nodes.map((n) => n.id), isins: isins.map((i) => i.isin) };
  } finally {
    await db.close();
  }
}

/** A deterministic file: row i names node i mod n and ISIN i*7 mod m; decimals as text, never floats. */
async function writeCsv(path: string, refs: { nodes: string[]; isins: string[] }): Promise<void> {
  const out = createWriteStream(path);
  out.write('nodeId,instrumentId,isin,cusip,ticker,quantity,baseCurrency,marketValue,asOfDate\n');
  const every = valuedShare > 0 ? Math.round(1 / valuedShare) : 0;
  for (let i = 0; i < rows; i++) {
    const node = refs.nodes[i % refs.nodes.length]!;
    const isin = refs.isins[(i * 7) % refs.isins.length]!;
    const quantity = i + 1 === badRow ? 'not-a-number' : `${(i % 99_991) + 1}.${String(i % 10_000).padStart(4, '0')}`;
    const valued = every > 0 && i % every === 0;
    const line = `${node},,${isin},,,${quantity},USD,${valued ? `${(i % 7_919) * 13}.25,2026-11-30` : ','}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function runImporter(file: string): Promise<ChildResult> {
  const args = ['node_modules/tsx/dist/cli.mjs', 'src/cli/ingest.ts', 'positions', file, '--mode', values.mode!, '--source', 'bench-ingest'];
  const timed = existsSync('/usr/bin/time');
  const child = spawn(timed ? '/usr/bin/time' : process.execPath, timed ? ['-v', process.execPath, ...args] : args, { env: process.env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    const line = d.toString().split('\n').find((l) => l.startsWith('  rows '));
    if (line) process.stderr.write(`${line}\n`);
  });
  const started = Date.now();
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr, seconds: (Date.now() - started) / 1000 })));
}

async function main(): Promise<void> {
  const refs = await references();
  const file = join(tmpdir(), `bench-ingest-${process.pid}.csv`);
  const t0 = Date.now();
  await writeCsv(file, refs);
  console.log(`wrote ${rows.toLocaleString('en')} rows (${(statSync(file).size / 1048576).toFixed(0)} MB, ${refs.nodes.length} nodes, ${refs.isins.length} ISINs, ${valuedShare * 100}% valued) in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  try {
    const result = await runImporter(file);
    console.log(result.stdout.trim());
    const timeRss = /Maximum resident set size \(kbytes\): (\d+)/.exec(result.stderr)?.[1];
    const ownRss = /peak RSS (\d+) MB/.exec(result.stdout)?.[1];
    const peakMb = timeRss ? Math.round(Number(timeRss) / 1024) : Number(ownRss);
    console.log(`exit code ${result.code}; ${rows.toLocaleString('en')} rows in ${result.seconds.toFixed(1)}s wall (process start and migrations included): ` +
      `${Math.round(rows / result.seconds).toLocaleString('en')} rows/s; peak RSS ${peakMb} MB`);
    if (result.code !== 0) console.error(result.stderr.split('\n').filter((l) => !l.startsWith('  rows ')).slice(-30).join('\n'));
  } finally {
    if (!values.keep) rmSync(file, { force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
