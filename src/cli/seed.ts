// npm run seed -- [--positions N] [--seed S] [--funds F] [--dates D] [--as-of YYYY-MM-DD] [--reset]
// Generates the deterministic demo/benchmark world and bulk-loads it into the
// configured database (DATABASE_URL, or the embedded database in DATA_DIR).
import { parseArgs } from 'node:util';
import { databaseConfigFrom } from '../config';
import { openDatabase } from '../db/database';
import { migrate } from '../db/migrate';
import { loadWorld, type SeedProgress } from '../services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS, type SeedOptions } from '../services/seed/world';

const USAGE = `usage: npm run seed -- [--positions N] [--seed S] [--funds F] [--dates D] [--as-of YYYY-MM-DD] [--reset]
  --positions N   positions to generate (default ${DEFAULT_SEED_OPTIONS.positions})
  --seed S        random seed; the same seed gives the same data (default ${DEFAULT_SEED_OPTIONS.seed})
  --funds F       number of funds (default ${DEFAULT_SEED_OPTIONS.funds})
  --dates D       month-end valuation dates (default ${DEFAULT_SEED_OPTIONS.valuationDates})
  --as-of DATE    the last valuation date (default ${DEFAULT_SEED_OPTIONS.asOf})
  --reset         delete all data first (otherwise a non-empty database is refused)`;

function wholeNumber(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new Error(`--${name} must be a whole number from ${min} to ${max}, got "${value}"\n${USAGE}`);
  }
  return Number(value);
}

export function parseSeedArgs(argv: string[]): SeedOptions & { reset: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      positions: { type: 'string' }, seed: { type: 'string' }, funds: { type: 'string' },
      dates: { type: 'string' }, 'as-of': { type: 'string' }, reset: { type: 'boolean', default: false },
    },
  });
  const asOf = values['as-of'] ?? DEFAULT_SEED_OPTIONS.asOf;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(Date.parse(asOf))) throw new Error(`--as-of must be a date YYYY-MM-DD\n${USAGE}`);
  return {
    positions: wholeNumber('positions', values.positions, DEFAULT_SEED_OPTIONS.positions, 0, 10_000_000),
    seed: wholeNumber('seed', values.seed, DEFAULT_SEED_OPTIONS.seed, 0, 2 ** 31 - 1),
    funds: wholeNumber('funds', values.funds, DEFAULT_SEED_OPTIONS.funds, 1, 100),
    valuationDates: wholeNumber('dates', values.dates, DEFAULT_SEED_OPTIONS.valuationDates, 1, 120),
    asOf,
    reset: values.reset ?? false,
  };
}

function progressReporter(started: number) {
  let last = 0;
  return (p: SeedProgress) => {
    const now = Date.now();
    if (now - last < 1_000 && p.positions < p.totalPositions) return;
    last = now;
    const pct = p.totalPositions ? Math.round((100 * p.positions) / p.totalPositions) : 100;
    const rate = Math.round(p.positions / Math.max(0.001, (now - started) / 1000));
    process.stderr.write(`  positions ${p.positions.toLocaleString('en')}/${p.totalPositions.toLocaleString('en')} (${pct}%), valuations ${p.valuations.toLocaleString('en')}, ${rate.toLocaleString('en')} positions/s\n`);
  };
}

async function main(): Promise<void> {
  const options = parseSeedArgs(process.argv.slice(2));
  const db = await openDatabase(databaseConfigFrom(process.env));
  try {
    await migrate(db.sql);
    const started = Date.now();
    const world = buildWorld(options);
    console.log(`seeding ${db.kind} database: ${options.positions.toLocaleString('en')} positions, ${options.funds} funds, seed ${options.seed}`);
    const summary = await loadWorld(db.sql, world, { reset: options.reset, onProgress: progressReporter(started) });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.log(`done in ${seconds}s: ${JSON.stringify(summary)}`);
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
