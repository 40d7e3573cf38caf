// Search filters take the user's text literally: `%`, `_` and `\` are
// characters to find, never LIKE wildcards or escapes (issue 11, item 3).
import { createIssuer, createNode } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;

// Names chosen so that a wildcard reading of each probe matches more than the literal one.
const NAMES = ['Investment Grade Core', '100% Equity', 'Rates_Book', 'Rates Book', 'Back\\Slash Desk', 'Backslash Desk', 'Plain'];

beforeAll(async () => {
  t = await createTestDatabase();
  const fund = await createNode(t.db, { nodeType: 'FUND', name: 'Literal Fund' });
  for (const name of NAMES) await createNode(t.db, { nodeType: 'DESK', name, parentId: fund.id });
  for (const name of NAMES) await createIssuer(t.db, { name: `Issuer ${name}` });
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

/** [probe, names that contain it literally (case-insensitive)] */
const PROBES: [string, string[]][] = [
  ['%', ['100% Equity']],
  ['_', ['Rates_Book']],
  ['\\', ['Back\\Slash Desk']],
  ['E%Core', []],
  ['Rates_', ['Rates_Book']],
  ['Back\\S', ['Back\\Slash Desk']],
  ['\\%', []],
  ['%%', []],
];

it.each(PROBES)('portfolioNodes(filter: { nameContains: %j }) matches the text literally', async (probe, expected) => {
  const res = await graphql(api.url, 'query($f: PortfolioNodeFilter) { portfolioNodes(filter: $f, first: 500) { totalCount edges { node { name } } } }', {
    f: { nameContains: probe, nodeType: 'DESK' },
  });
  expect(res.errors).toBeUndefined();
  expect(res.data!.portfolioNodes.edges.map((e: { node: { name: string } }) => e.node.name).sort()).toEqual([...expected].sort());
  expect(res.data!.portfolioNodes.totalCount).toBe(expected.length);
});

it.each(PROBES)('referenceEntities(search: %j) matches the text literally', async (probe, expected) => {
  const res = await graphql(api.url, 'query($s: String) { referenceEntities(entityType: ISSUER, search: $s, first: 500) { totalCount edges { node { name } } } }', { s: probe });
  expect(res.errors).toBeUndefined();
  expect(res.data!.referenceEntities.edges.map((e: { node: { name: string } }) => e.node.name).sort()).toEqual(expected.map((n) => `Issuer ${n}`).sort());
  expect(res.data!.referenceEntities.totalCount).toBe(expected.length);
});
