// Throughput of the tree query alone, for profiling the request path:
//   DATABASE_URL=postgresql://.../postgres_bench_100k node --max-semi-space-size=64 --import tsx \
//     [--cpu-prof --cpu-prof-dir=/tmp/prof] bench/profile-tree.ts      (SECONDS=10 by default;
//     QUERY=treePositions for the tree with the first positions of every node and their instruments,
//     QUERY=typename for { __typename }: the fixed cost of a request)
// Starts the service on a seeded bench database and loads the largest fund's tree
// (all levels, position counts) at 50 connections with autocannon.
import { databaseConfigFrom } from '../src/config';
import { openDatabase } from '../src/db/database';
import { DEFAULT_LIMITS } from '../src/graphql/limits';
import { silentLogger } from '../src/logger';
import { createServer } from '../src/server';
import { runLoad } from './lib/load';
import { TREE_POSITIONS_FIRST, TREE_POSITIONS_QUERY, TREE_QUERY } from './lib/queries';

async function main() {
  const url = process.env.DATABASE_URL!;
  const db = await openDatabase(databaseConfigFrom(process.env));
  const service = await createServer({ config: { production: false, graphqlIntrospection: false, graphqlIde: false, auth: { mode: 'off' }, limits: { ...DEFAULT_LIMITS, maxCost: 100_000_000 }, logStatementCounts: false }, db, logger: silentLogger });
  const port = await service.listen(0, '127.0.0.1');
  const fund = (await db.sql.query<{ id: string }>(`SELECT n.id::text FROM portfolio_node n WHERE n.node_type = 'FUND' ORDER BY (SELECT count(*) FROM position p JOIN portfolio_node c ON c.id = p.portfolio_node_id WHERE c.fund_id = n.id) DESC LIMIT 1`))[0]!.id;
  const body = process.env.QUERY === 'treePositions'
    ? JSON.stringify({ query: TREE_POSITIONS_QUERY, variables: { id: fund, first: TREE_POSITIONS_FIRST } })
    : process.env.QUERY === 'typename'
      ? JSON.stringify({ query: '{ __typename }' })
      : JSON.stringify({ query: TREE_QUERY, variables: { id: fund } });
  const r = await runLoad({ url: `http://127.0.0.1:${port}/graphql`, bodies: [body], connections: Number(process.env.CONNECTIONS ?? 50), durationSeconds: Number(process.env.SECONDS ?? 10), warmupSeconds: 2 });
  console.log(url, r.requestsPerSecond.toFixed(1), 'req/s', r.latency, 'errors', r.errors, r.non2xx, r.mismatches);
  await service.stop();
  await db.close();
}
main().catch((e) => { console.error(e); process.exit(1); });
