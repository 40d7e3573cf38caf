// Benchmark of the two clocks (issue 12): median and p95 through HTTP against the real
// service on the database in DATABASE_URL (seeded with history: npm run seed), analytics
// cache off, at the largest fund:
//   - exposure(ISSUER, look-through) and marketValue as of the latest date known now
//     (compare with bench/analytics.ts at the commit before the time work), as of a past
//     month-end, and as of the latest date known at a past moment;
//   - holdingsChange between two month-ends, and between two moments for one date;
//   - a position's history, holding and valuationVersions, an issuer's rating(knownAt),
//     fxRate(knownAt): lookups of one row each.
//   DATABASE_URL=postgresql://... npx tsx bench/time.ts [--runs 15] [--currency JPY] [--known-at ISO] [--json out.json]
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { databaseConfigFrom } from '../src/config';
import { openDatabase } from '../src/db/database';
import { silentLogger } from '../src/logger';
import { createServer } from '../src/server';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '15' }, currency: { type: 'string', default: 'JPY' },
    'known-at': { type: 'string' }, json: { type: 'string' },
  },
});
const runs = Number(values.runs);

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p95: at(0.95), min: sorted[0]! };
}

async function main() {
  const config = databaseConfigFrom(process.env);
  if (config.kind !== 'postgres') throw new Error('set DATABASE_URL to a seeded PostgreSQL database (npm run seed -- --positions 1000000)');
  const db = await openDatabase(config);
  const service = await createServer({ config: { production: false, graphqlIntrospection: false, graphqlIde: false, auth: { mode: 'off' }, analyticsCacheBytes: 0, logStatementCounts: false }, db, logger: silentLogger });
  const port = await service.listen(0, '127.0.0.1');
  const [fund] = await db.sql.query<{ id: string; name: string; positions: number }>(`
    SELECT n.fund_id AS id, (SELECT name FROM portfolio_node WHERE id = n.fund_id) AS name, count(*)::int AS positions
    FROM position p JOIN portfolio_node n ON n.id = p.portfolio_node_id GROUP BY n.fund_id ORDER BY 3 DESC LIMIT 1`);
  const dates = (await db.sql.query<{ d: string }>(`SELECT DISTINCT to_char(as_of_date, 'YYYY-MM-DD') AS d FROM market_data_feed WHERE feed_type = 'FX_SPOT' ORDER BY 1 DESC`)).map((r) => r.d);
  const monthEnds = dates.filter((d) => Number(d.slice(8)) >= 28);
  const [latest, previous, past] = [monthEnds[0]!, monthEnds[1]!, monthEnds[Math.min(2, monthEnds.length - 1)]!];
  const knownAt = values['known-at'] ?? new Date(Date.now() - 7 * 86_400_000).toISOString();
  const [position] = await db.sql.query<{ id: string; d: string }>(`
    SELECT v.position_id::text AS id, to_char(v.as_of_date, 'YYYY-MM-DD') AS d FROM valuation_result v
    WHERE v.superseded_at IS NOT NULL ORDER BY v.id LIMIT 1`);
  const [anyPosition] = await db.sql.query<{ id: string; d: string }>(`SELECT id::text AS id, to_char(opened_on, 'YYYY-MM-DD') AS d FROM position WHERE status = 'ACTIVE' ORDER BY id LIMIT 1`);
  const [issuer] = await db.sql.query<{ id: string }>(`SELECT entity_id::text AS id FROM rating_history ORDER BY id LIMIT 1`);
  const target = position ?? anyPosition!;
  const [{ total }] = (await db.sql.query<{ total: number }>('SELECT count(*)::int AS total FROM position')) as [{ total: number }];
  const [{ versions }] = (await db.sql.query<{ versions: number }>('SELECT count(*)::int AS versions FROM position_version')) as [{ versions: number }];
  console.log(`database: ${total.toLocaleString('en')} positions, ${versions.toLocaleString('en')} position versions; largest fund "${fund!.name}" ` +
    `(${fund!.positions.toLocaleString('en')} positions); month-ends ${latest}, ${previous}, ${past}; knownAt ${knownAt}; currency ${values.currency}`);

  const node = (field: string) => `query($id: ID!, $ccy: Currency${field.includes('$k') ? ', $k: DateTime' : ''}) { portfolioNode(id: $id) { ${field} } }`;
  const cases: [string, string, Record<string, unknown>][] = [
    ['exposure ISSUER look-through, latest date, known now', node(`exposure(dimension: ISSUER, lookThrough: true, asOf: "${latest}", currency: $ccy) { total }`), {}],
    ['marketValue, latest date, known now', node(`marketValue(asOf: "${latest}", currency: $ccy) { amount }`), {}],
    [`exposure ISSUER look-through, as of ${past}`, node(`exposure(dimension: ISSUER, lookThrough: true, asOf: "${past}", currency: $ccy) { total }`), {}],
    [`marketValue, as of ${past}`, node(`marketValue(asOf: "${past}", currency: $ccy) { amount }`), {}],
    ['exposure ISSUER look-through, latest date, knownAt in the past', node(`exposure(dimension: ISSUER, lookThrough: true, asOf: "${latest}", currency: $ccy, knownAt: $k) { total }`), { k: knownAt }],
    ['marketValue, latest date, knownAt in the past', node(`marketValue(asOf: "${latest}", currency: $ccy, knownAt: $k) { amount }`), { k: knownAt }],
    [`holdingsChange ${previous} -> ${latest}`, node(`holdingsChange(from: { asOf: "${previous}" }, to: { asOf: "${latest}" }, currency: $ccy) { marketValueFrom marketValueTo changes(first: 50) { totalCount edges { node { kind marketValueFrom marketValueTo } } } }`), {}],
    [`holdingsChange ${latest} known at knownAt -> now`, node(`holdingsChange(from: { asOf: "${latest}", knownAt: $k }, to: { asOf: "${latest}" }, currency: $ccy) { marketValueFrom marketValueTo changes(first: 50) { totalCount edges { node { kind } } } }`), { k: knownAt }],
    ['Position.history', `query($p: ID!) { position(id: $p) { history { validFrom validTo quantity status recordedAt supersededAt } } }`, { p: target.id }],
    ['Position.holding (knownAt)', `query($p: ID!, $d: Date!, $k: DateTime) { position(id: $p) { holding(asOf: $d, knownAt: $k) { quantity status } } }`, { p: target.id, d: latest, k: knownAt }],
    ['Position.valuationVersions', `query($p: ID!, $d: Date!) { position(id: $p) { valuationVersions(asOfDate: $d) { marketValue recordedAt supersededAt } } }`, { p: target.id, d: target.d }],
    ['ReferenceEntity.rating (knownAt)', `query($e: ID!, $d: Date!, $k: DateTime) { referenceEntity(id: $e) { rating(agency: SP, asOf: $d, knownAt: $k) { rating } } }`, { e: issuer!.id, d: latest, k: knownAt }],
    ['fxRate (knownAt)', `query($d: Date!, $k: DateTime) { fxRate(base: "EUR", quote: "JPY", asOf: $d, knownAt: $k) { rate } }`, { d: latest, k: knownAt }],
  ];
  const results: { name: string; median: number; p95: number; min: number }[] = [];
  console.log('| query | median ms | p95 ms | min ms |\n|---|---|---|---|');
  for (const [name, query, extra] of cases) {
    const body = JSON.stringify({ query, variables: { id: fund!.id, ccy: values.currency, ...extra } });
    const samples: number[] = [];
    const lookup = !query.includes('portfolioNode');
    for (let i = 0; i < (lookup ? runs * 4 : runs) + 3; i++) {
      const started = process.hrtime.bigint();
      const res = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const json = (await res.json()) as { errors?: unknown };
      if (json.errors) throw new Error(`${name}: ${JSON.stringify(json.errors)}`);
      if (i >= 3) samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    const s = stats(samples);
    results.push({ name, ...s });
    console.log(`| ${name} | ${s.median.toFixed(1)} | ${s.p95.toFixed(1)} | ${s.min.toFixed(1)} |`);
  }
  if (values.json) writeFileSync(values.json, JSON.stringify({ total, versions, fund: fund!.positions, latest, previous, past, knownAt, results }, null, 2));
  await service.stop();
  await db.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
