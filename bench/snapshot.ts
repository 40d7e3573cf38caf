// Timing of createPortfolioSnapshot on the largest fund of a seeded database
// (not a test: speed targets live in benchmarks).
//   createdb -h localhost -p 5433 -U postgres bench_snap
//   DATABASE_URL=postgresql://postgres@localhost:5433/bench_snap npm run seed -- --positions 100000 --reset
//   DATABASE_URL=postgresql://postgres@localhost:5433/bench_snap npx tsx bench/snapshot.ts [--as-of 2026-10-30] [--runs 5]
// It deletes the fund's stored snapshots first, then times the new path (build,
// hash, check, insert) for three month-ends and the dedup path (build, hash,
// check) --runs times.
import { parseArgs } from 'node:util';
import { databaseConfigFrom } from '../src/config';
import { openDatabase, type Database } from '../src/db/database';
import { hashSnapshotPayload, snapshotPayload } from '../src/domain/snapshot';
import { readSnapshotContent } from '../src/services/snapshots/build';
import { createSnapshot } from '../src/services/snapshots/create';

async function largestFund(db: Database): Promise<{ id: string; name: string; positions: number }> {
  const [fund] = await db.sql.query<{ id: string; name: string; positions: number }>(`
    WITH RECURSIVE t (fund, id) AS (
      SELECT id, id FROM portfolio_node WHERE parent_id IS NULL
      UNION ALL SELECT t.fund, c.id FROM t JOIN portfolio_node c ON c.parent_id = t.id)
    SELECT f.id::text AS id, f.name, count(p.id)::int AS positions
    FROM t JOIN portfolio_node f ON f.id = t.fund JOIN position p ON p.portfolio_node_id = t.id AND p.status = 'ACTIVE'
    GROUP BY f.id, f.name ORDER BY positions DESC LIMIT 1`);
  if (!fund) throw new Error('no fund with positions: seed the database first');
  return fund;
}

const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;

async function timed<T>(label: string, fn: () => Promise<T> | T): Promise<T> {
  const start = process.hrtime.bigint();
  const result = await fn();
  console.log(`  ${label.padEnd(34)} ${ms(start).toFixed(1).padStart(8)} ms`);
  return result;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'as-of': { type: 'string', default: '2026-10-30' }, runs: { type: 'string', default: '5' } } });
  const asOf = new Date(`${values['as-of']}T00:00:00Z`);
  const db = await openDatabase(databaseConfigFrom(process.env));
  try {
    const fund = await largestFund(db);
    console.log(`${db.kind}: fund "${fund.name}" (${fund.id}), ${fund.positions.toLocaleString('en')} ACTIVE positions, as of ${values['as-of']}`);
    await db.sql.query('DELETE FROM snapshot_probe WHERE portfolio_node_id = $1', [fund.id]);
    await db.sql.query('DELETE FROM portfolio_snapshot WHERE portfolio_node_id = $1', [fund.id]);
    console.log('phases (warm-up of a dedup-free read):');
    const content = await timed('read content (1 statement)', () => readSnapshotContent(db.prisma, fund.id, values['as-of'] as string, null, new Date().toISOString()));
    const payload = await timed('canonical payload', () => snapshotPayload(content!.content));
    const hashed = await timed('RFC 8785 JSON + SHA-256', () => hashSnapshotPayload(payload));
    console.log(`  payload: ${payload.positions.length.toLocaleString('en')} positions, ${(hashed.canonical.length / 1e6).toFixed(1)} MB canonical JSON`);
    console.log('createPortfolioSnapshot (statement durations as Prisma reports them):');
    const durations: string[] = [];
    const off = db.onQuery((e) => durations.push(`${e.query.trim().split(/\s+/).slice(0, 2).join(' ')} ${e.durationMs} ms`));
    const run = async (label: string, date: Date, expectCreated: boolean) => {
      durations.length = 0;
      const result = await timed(label, () => createSnapshot(db.prisma, fund.id, date));
      if (result.created !== expectCreated) throw new Error(`${label}: expected created = ${expectCreated}`);
      console.log(`      ${durations.join('; ')}`);
      return result;
    };
    const dates = ['2026-10-30', '2026-09-30', '2026-08-31'].filter((d) => d <= (values['as-of'] as string));
    for (const d of dates) await run(`new snapshot as of ${d}`, new Date(`${d}T00:00:00Z`), true);
    for (let i = 0; i < Number(values.runs); i++) await run(`dedup path, run ${i + 1}`, asOf, false);
    off();
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
