// Analytics benchmark (issue 4): median and p95 of exposure(ISSUER, look-through),
// exposure(SECTOR/GEOGRAPHY/CURRENCY) and marketValue at the largest fund, through
// HTTP against the real service on the database in DATABASE_URL, plus the
// EXPLAIN ANALYZE summary of the exposure statement (--full-plan: all of it). The
// analytics cache is off: every figure is a computation.
//   DATABASE_URL=postgresql://... npx tsx bench/analytics.ts [--runs 30] [--currency JPY] [--full-plan]
import { parseArgs } from 'node:util';
import { databaseConfigFrom } from '../src/config';
import { openDatabase } from '../src/db/database';
import { silentLogger } from '../src/logger';
import { createServer } from '../src/server';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, currency: { type: 'string', default: 'JPY' }, 'as-of': { type: 'string', default: '2026-10-30' }, 'full-plan': { type: 'boolean', default: false } } });
const runs = Number(values.runs);

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p95: at(0.95), min: sorted[0]! };
}

async function main() {
  const config = databaseConfigFrom(process.env);
  if (config.kind !== 'postgres') throw new Error('set DATABASE_URL to a seeded PostgreSQL database (npm run seed -- --positions 100000)');
  const db = await openDatabase(config);
  const service = await createServer({ config: { production: false, graphqlIntrospection: false, graphqlIde: false, auth: { mode: 'off' }, analyticsCacheBytes: 0, logStatementCounts: false }, db, logger: silentLogger });
  const port = await service.listen(0, '127.0.0.1');
  const [fund] = await db.sql.query<{ id: string; name: string; positions: number }>(`
    WITH RECURSIVE s (root, id) AS (SELECT id, id FROM portfolio_node WHERE parent_id IS NULL
      UNION ALL SELECT s.root, c.id FROM s JOIN portfolio_node c ON c.parent_id = s.id)
    SELECT s.root AS id, (SELECT name FROM portfolio_node WHERE id = s.root) AS name, count(p.id)::int AS positions
    FROM s JOIN position p ON p.portfolio_node_id = s.id GROUP BY s.root ORDER BY 3 DESC LIMIT 1`);
  const [{ total }] = (await db.sql.query<{ total: number }>('SELECT count(*)::int AS total FROM position')) as [{ total: number }];
  console.log(`database: ${total.toLocaleString('en')} positions; largest fund "${fund!.name}" with ${fund!.positions.toLocaleString('en')} positions; as of ${values['as-of']} in ${values.currency}`);
  const queries: Record<string, string> = {
    'exposure ISSUER lookThrough': `exposure(dimension: ISSUER, lookThrough: true, asOf: $asOf, currency: $ccy) { total buckets { key marketValue } }`,
    'exposure SECTOR': `exposure(dimension: SECTOR, asOf: $asOf, currency: $ccy) { total buckets { key marketValue } }`,
    'exposure GEOGRAPHY': `exposure(dimension: GEOGRAPHY, asOf: $asOf, currency: $ccy) { total buckets { key marketValue } }`,
    'exposure CURRENCY': `exposure(dimension: CURRENCY, asOf: $asOf, currency: $ccy) { total buckets { key marketValue } }`,
    marketValue: `marketValue(asOf: $asOf, currency: $ccy) { amount }`,
  };
  console.log('| query | median ms | p95 ms | min ms |\n|---|---|---|---|');
  for (const [name, field] of Object.entries(queries)) {
    const body = JSON.stringify({ query: `query($id: ID!, $asOf: Date!, $ccy: Currency) { portfolioNode(id: $id) { ${field} } }`, variables: { id: fund!.id, asOf: values['as-of'], ccy: values.currency } });
    const samples: number[] = [];
    for (let i = 0; i < runs + 3; i++) {
      const started = process.hrtime.bigint();
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const json = (await res.json()) as { errors?: unknown };
      if (json.errors) throw new Error(JSON.stringify(json.errors));
      if (i >= 3) samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const s = stats(samples);
    console.log(`| ${name} | ${s.median.toFixed(1)} | ${s.p95.toFixed(1)} | ${s.min.toFixed(1)} |`);
  }
  await explain(db, port, fund!.id, values['as-of'], values.currency);
  await service.stop();
  await db.close();
}

/** Captures the SQL of exposure(ISSUER, lookThrough) as the service sends it, and prints its EXPLAIN ANALYZE. */
async function explain(db: Awaited<ReturnType<typeof openDatabase>>, port: number, id: string, asOf: string, ccy: string) {
  let captured: { query: string; params: string } | null = null;
  const stop = db.onQuery((e) => {
    if (e.query.includes('fx_conv')) captured = e;
  });
  const query = `query($id: ID!, $asOf: Date!, $ccy: Currency) { portfolioNode(id: $id) { exposure(dimension: ISSUER, lookThrough: true, asOf: $asOf, currency: $ccy) { total } } }`;
  await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables: { id, asOf, ccy } }) });
  stop();
  if (!captured) throw new Error('exposure statement not captured');
  const { query: sql, params } = captured as { query: string; params: string };
  const plan = await db.sql.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, JSON.parse(params) as unknown[]);
  const lines = plan.map((r) => r['QUERY PLAN']);
  console.log('\nEXPLAIN ANALYZE of exposure(ISSUER, lookThrough) (main nodes):');
  const shown = values['full-plan'] ? lines : lines.filter((l) => /(Scan|Join|Aggregate|Loop|Memoize|Limit|CTE|Execution Time|Planning Time)/.test(l)).slice(0, 40);
  for (const line of shown) console.log(line);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
