// npm run bench:observability -- [--rounds 3] [--duration 5] [--connections 10]
//
// What metrics and tracing cost a request (bench/lib/observability.ts): the real
// service in three settings (metrics off; metrics on and tracing off, the
// default; every request traced to an OTLP receiver), taking turns round after
// round; median requests/s, p99 and CPU per request of each.
//
// Queries: `{ __typename }` (no database: the whole cost is the HTTP and
// GraphQL path, where the observation happens) and a small read of the demo
// world. On DATABASE_URL when set (migrated and seeded), else on embedded
// databases in temporary directories (seeded with the demo world at start).
// `npm run bench` measures the same on its own data set, with its tree query.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureObservability } from './lib/observability';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '10' },
  },
});

async function main(): Promise<void> {
  const dataDirs: string[] = [];
  const rounds = Number(values.rounds);
  const durationSeconds = Number(values.duration);
  const connections = Number(values.connections);
  console.log(`observability bench: ${rounds} rounds of ${durationSeconds} s, ${connections} connections, ${process.env.DATABASE_URL ? 'PostgreSQL' : 'embedded databases'}, LOG_LEVEL=info`);
  try {
    const result = await measureObservability({
      rounds,
      durationSeconds,
      connections,
      database: (setting): Record<string, string> => {
        if (process.env.DATABASE_URL) return { DATABASE_URL: process.env.DATABASE_URL };
        dataDirs.push(mkdtempSync(join(tmpdir(), `pds-bench-obs-${setting}-`)));
        return { DATA_DIR: dataDirs.at(-1)! };
      },
      queries: [
        { name: 'typename', query: '{ __typename }' },
        { name: 'roots', query: 'query Roots { portfolioRoots { id name nodeType } }' },
      ],
    });
    for (const q of result.queries) {
      console.log(`\n${q.name}: ${q.query}`);
      for (const f of q.figures) {
        console.log(`  ${f.setting.padEnd(8)} ${f.rps.toFixed(0).padStart(7)} req/s (${f.rounds.map((x) => x.toFixed(0)).join(', ')})  ` +
          `${(f.ofOff * 100).toFixed(1).padStart(5)} % of off  p99 ${f.p99Ms} ms  ` +
          `CPU ${f.cpuUs.toFixed(0)} us/request (${f.cpuRounds.map((x) => x.toFixed(0)).join(', ')}), ${(f.cpuOverOff * 100).toFixed(1)} % over off  errors ${f.errors}`);
      }
    }
    console.log(`\nOTLP exports received from the traced service: ${result.otlpExports}`);
  } finally {
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
