// The compiled-plan executor (src/graphql/executor.ts) on its own: it compiles a document on the
// request set, keeps at most maxPlans plans (the oldest goes, and is compiled again when asked
// again), and answers the same whichever way a request runs.
import { makeExecutableSchema } from '@graphql-tools/schema';
import { getOperationAST, parse, type DocumentNode } from 'graphql';
import { compiledExecutor } from '../../src/graphql/executor';

const schema = makeExecutableSchema({
  typeDefs: 'type Query { echo(n: Int!): Int! twice(n: Int!): Int! }',
  resolvers: { Query: { echo: (_: unknown, { n }: { n: number }) => n, twice: (_: unknown, { n }: { n: number }) => 2 * n } },
});

async function runner(options: { compileOnRequest: number; maxPlans: number }) {
  const executor = compiledExecutor(schema, options);
  const { executor: execute } = await executor.gateway.load({ apollo: {} });
  const run = (document: DocumentNode, variables: Record<string, unknown>) =>
    execute!({ request: { variables }, document, operation: getOperationAST(document)!, operationName: null, context: {} } as never);
  return { executor, run };
}

const docs = [0, 1, 2].map((i) => parse(`query Q${i}($n: Int!) { echo(n: $n) twice(n: $n) k${i}: echo(n: ${i}) }`));

it('keeps at most maxPlans plans, the newest, and compiles an evicted document again when it is asked again', async () => {
  const { executor, run } = await runner({ compileOnRequest: 1, maxPlans: 2 });
  for (const [i, doc] of docs.entries()) expect(await run(doc, { n: 5 })).toEqual({ data: { echo: 5, twice: 10, [`k${i}`]: i } });
  expect(executor.stats()).toEqual({ compiled: 3, refused: 0, kept: 2 });
  // docs[1] and docs[2] are kept: asking them again compiles nothing.
  await run(docs[1]!, { n: 1 });
  await run(docs[2]!, { n: 1 });
  expect(executor.stats()).toEqual({ compiled: 3, refused: 0, kept: 2 });
  // docs[0] was evicted: compiled again (and docs[1], now the oldest, goes).
  expect(await run(docs[0]!, { n: 7 })).toEqual({ data: { echo: 7, twice: 14, k0: 0 } });
  expect(executor.stats()).toEqual({ compiled: 4, refused: 0, kept: 2 });
});

it('compiles a document on the request set, and never with 0', async () => {
  const second = await runner({ compileOnRequest: 2, maxPlans: 10 });
  await second.run(docs[0]!, { n: 1 });
  expect(second.executor.stats().compiled).toBe(0);
  expect(await second.run(docs[0]!, { n: 2 })).toEqual({ data: { echo: 2, twice: 4, k0: 0 } });
  expect(second.executor.stats().compiled).toBe(1);
  const never = await runner({ compileOnRequest: 0, maxPlans: 10 });
  for (let i = 0; i < 3; i++) expect(await never.run(docs[1]!, { n: i })).toEqual({ data: { echo: i, twice: 2 * i, k1: 1 } });
  expect(never.executor.stats()).toEqual({ compiled: 0, refused: 0, kept: 0 });
});
