// Every operation of the corpus (bench/corpus/*.graphql: what a risk front-end
// and an analyst send) is valid against schema.graphql, answers through HTTP
// on two seeded data sets of different size, and costs the same number of SQL
// statements on both: bounded by the operation's shape, never by rows (except
// the operations of KNOWN_GROWTH, a finding asserted as such). Each answer is
// compared with graphql-js' (a second service with compiled plans off).
//
// The two data sets come from the project's seed generator (positions with
// several statuses, versions, corrected valuations, ratings, FX feeds), plus a
// few upload batches and snapshots written through the API. The large one has
// about three times the nodes of the small one in the fund the operations ask
// about, seven times its positions, another fund, and more batches and
// snapshots (the seeds were picked for that; the test checks it holds).
// The analytics cache is off: the statements counted are the computation's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, parse, validate } from 'graphql';
import { corpusFacts, loadCorpus, placeholdersOf, resolveVariables, type CorpusFacts, type CorpusOperation } from '../../bench/lib/corpus';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS, type World } from '../../src/services/seed/world';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

const corpus = loadCorpus();

interface Size {
  label: string;
  seed: number;
  positions: number;
  funds: number;
  /** Upload batches written through the API (one of them with rejected rows), and snapshots of the fund. */
  batches: number;
  snapshots: number;
}

const SMALL: Size = { label: 'small', seed: 34, positions: 500, funds: 2, batches: 2, snapshots: 1 };
const LARGE: Size = { label: 'large', seed: 23, positions: 5_000, funds: 3, batches: 5, snapshots: 3 };

/**
 * Operations whose statements grow with rows: a finding asserted as such (the answers are still
 * checked), red once fixed until the entry is removed and equality asserted again. None today: the
 * last one (changesSinceMonthEnd: holdingsChange node by node) is one statement per level since the
 * analytics fields are batched per level (src/loaders/analytics.ts).
 */
const KNOWN_GROWTH: Record<string, string> = {};

interface DataSet {
  size: Size;
  t: TestDatabase;
  api: RunningService;
  /** The same database served by graphql-js only (GRAPHQL_COMPILE_ON_REQUEST=0): api runs compiled plans. */
  plain: RunningService;
  facts: CorpusFacts;
  /** Nodes and positions in the fund the operations ask about. */
  fundNodes: number;
  fundPositions: number;
}

type Data = Record<string, any>;
type Check = (data: Data, facts: CorpusFacts) => void;

/** Every node of a tree answer (the node, then its children's subtrees). */
const nodesOf = (node: Data): Data[] => [node, ...(node.children ?? []).flatMap(nodesOf)];
const total = (nodes: Data[], count: (n: Data) => number) => nodes.reduce((sum, n) => sum + count(n), 0);
const fundTree = (data: Data, facts: CorpusFacts): Data[] => {
  expect(data.portfolioNode.id).toBe(facts.fund);
  expect(data.portfolioNode.children.length).toBeGreaterThan(0);
  return nodesOf(data.portfolioNode);
};
const buckets = (exposure: Data) => {
  expect(exposure.buckets.length).toBeGreaterThan(0);
  expect(Number(exposure.total)).not.toBe(0);
};
const nonEmptyPage = (connection: Data) => {
  expect(connection.totalCount).toBeGreaterThan(0);
  expect(connection.edges.length).toBeGreaterThan(0);
};
const everyFund = (data: Data) => expect(data.portfolioRoots.length).toBeGreaterThanOrEqual(2);

/** What each answer must hold (beyond no errors): the data the screen shows is there. */
const CORPUS_CHECKS: Record<string, Check> = {
  treeCounts: (d, f) => expect(total(fundTree(d, f), (n) => n.positions.totalCount)).toBeGreaterThan(0),
  treeActiveCounts: (d, f) => expect(total(fundTree(d, f), (n) => n.positions.totalCount)).toBeGreaterThan(0),
  treeStatusCounts: (d, f) => {
    const nodes = fundTree(d, f);
    for (const status of ['active', 'closed', 'deleted']) expect(total(nodes, (n) => n[status].totalCount)).toBeGreaterThan(0);
    for (const n of nodes) expect(n.notDeleted.totalCount).toBe(n.active.totalCount + n.closed.totalCount);
  },
  treeCountsAsOf: (d, f) => expect(total(fundTree(d, f), (n) => n.positions.totalCount)).toBeGreaterThan(0),
  treeCountsKnownAt: (d, f) => expect(total(fundTree(d, f), (n) => n.positions.totalCount)).toBeGreaterThan(0),
  treeMarketValue: (d, f) => {
    const nodes = fundTree(d, f);
    expect(nodes.every((n) => n.marketValue.currency === 'USD')).toBe(true);
    expect(Number(d.portfolioNode.marketValue.amount)).not.toBe(0);
  },
  descendantsCounts: (d, f) => {
    const { descendants } = d.portfolioNode;
    expect(descendants.length).toBeGreaterThan(0);
    const depth = new Map<string, number>([[f.fund, 0], ...descendants.map((n: Data) => [n.id, n.depth] as [string, number])]);
    for (const n of descendants) expect(n.depth).toBe(depth.get(n.parent.id)! + 1);
    expect(total(descendants, (n) => n.positions.totalCount)).toBeGreaterThan(0);
  },
  portfolioTree: (d) => {
    everyFund(d);
    expect(d.portfolioRoots.every((r: Data) => r.nodeType === 'FUND' && r.children.length > 0)).toBe(true);
  },
  exposureByChild: (d) => {
    expect(d.portfolioNode.children.length).toBeGreaterThan(0);
    for (const child of d.portfolioNode.children) buckets(child.exposure);
  },
  exposureChildBuckets: (d) => buckets(d.portfolioNode.exposure),
  exposureIssuerLookThrough: (d) => {
    buckets(d.portfolioNode.exposure);
    expect(d.portfolioNode.exposure.buckets.some((b: Data) => b.entity?.name)).toBe(true);
  },
  exposureDashboard: (d) => {
    for (const table of ['bySector', 'byCountry', 'byCurrency', 'byRating', 'byAssetClass']) buckets(d.portfolioNode[table]);
  },
  exposurePastKnownAt: (d) => {
    buckets(d.portfolioNode.exposure);
    expect(d.portfolioNode.exposure.total).toBe(d.portfolioNode.knownThen.amount);
  },
  asOfMonthEnd: (d) => {
    everyFund(d);
    for (const fund of d.portfolioRoots) nonEmptyPage(fund.positions);
  },
  asKnownLastWeek: (d) => {
    everyFund(d);
    for (const fund of d.portfolioRoots) nonEmptyPage(fund.positions);
  },
  bookPositionsPage: (d, f) => {
    expect(d.portfolioNode.id).toBe(f.book);
    nonEmptyPage(d.portfolioNode.positions);
    expect(d.portfolioNode.positions.edges.every((e: Data) => e.node.instrument.name)).toBe(true);
  },
  fundPositionsAllLevels: (d) => {
    const page = d.portfolioNode.positions;
    nonEmptyPage(page);
    expect(page.edges.length).toBe(Math.min(100, page.totalCount));
    expect(page.edges.every((e: Data) => e.node.status === 'ACTIVE')).toBe(true);
  },
  fundPositionsPastAsOf: (d, f) => {
    nonEmptyPage(d.portfolioNode.positions);
    expect(d.portfolioNode.positions.edges.every((e: Data) => e.node.holding?.asOf === f.pastAsOf)).toBe(true);
  },
  fundPositionsKnownAt: (d) => nonEmptyPage(d.portfolioNode.positions),
  bookPositions: (d) => {
    nonEmptyPage(d.portfolioNodes);
    expect(total(d.portfolioNodes.edges, (e) => e.node.positions.edges.length)).toBeGreaterThan(0);
  },
  deskBookPages: (d) => {
    expect(d.portfolioNode.children.length).toBeGreaterThan(0);
    expect(total(d.portfolioNode.children, (c) => c.positions.edges.length)).toBeGreaterThan(0);
  },
  nodeList: (d, f) => {
    nonEmptyPage(d.portfolioNodes);
    expect(d.portfolioNodes.edges.every((e: Data) => e.node.parent.id === f.desk)).toBe(true);
  },
  breadcrumbs: (d, f) => {
    expect(d.portfolioNode).toMatchObject({ id: f.book, nodeType: 'BOOK', depth: 2, parent: { id: f.desk } });
    expect(d.portfolioNode.ancestors.map((a: Data) => a.id)).toEqual([f.fund, f.desk]);
  },
  instrumentByIsin: (d, f) => {
    expect(d.instrumentByIdentifier).toMatchObject({ id: f.instrument, isin: f.isin });
    expect(d.instrumentByIdentifier.issuer.name).toBeTruthy();
  },
  instrumentAsKnown: (d, f) => {
    expect(d.now.id).toBe(f.instrument);
    expect(d.then.id).toBe(f.instrument);
  },
  issuerSearch: (d, f) => {
    nonEmptyPage(d.referenceEntities);
    expect(d.referenceEntities.edges.every((e: Data) => e.node.name.toLowerCase().includes(f.search.toLowerCase()))).toBe(true);
  },
  issuerRatings: (d) => expect(d.referenceEntities.edges.some((e: Data) => e.node.ratings.length > 0)).toBe(true),
  issuerProfile: (d, f) => {
    expect(d.referenceEntity.id).toBe(f.issuer);
    expect(['sp', 'moodys', 'fitch', 'dbrs'].some((agency) => d.referenceEntity[agency])).toBe(true);
  },
  fxRates: (d) => {
    expect([d.eurUsd.derivation, d.usdGbp.derivation, d.gbpJpy.derivation]).toEqual(['DIRECT', 'INVERSE', 'TRIANGULATED']);
    expect(d.eurUsdThen.feed.id).toBeTruthy();
  },
  positionHistory: (d, f) => {
    expect(d.position.id).toBe(f.position);
    expect(d.position.history.length).toBeGreaterThan(0);
    expect(d.position.valuationVersions.length).toBeGreaterThan(0);
  },
  holdingsChangeDates: (d, f) => {
    expect(d.portfolioNode.holdingsChange).toMatchObject({ from: f.pastAsOf, to: f.asOf, currency: 'USD' });
    nonEmptyPage(d.portfolioNode.holdingsChange.changes);
  },
  holdingsChangeKnownAt: (d, f) => expect(d.portfolioNode.holdingsChange).toMatchObject({ from: f.asOf, to: f.asOf }),
  changesSinceMonthEnd: (d) => {
    everyFund(d);
    for (const fund of d.portfolioRoots) nonEmptyPage(fund.sinceMonthEnd.changes);
  },
  ratingHistory: (d, f) => {
    expect(d.referenceEntity.id).toBe(f.issuer);
    expect(d.referenceEntity.ratings.length).toBeGreaterThan(1);
    expect(d.asRecorded.name).toBe(d.referenceEntity.name);
  },
  fundSnapshots: (d) => {
    nonEmptyPage(d.portfolioNode.snapshots);
    expect(d.portfolioNode.snapshotAsOf.node.name).toBe(d.portfolioNode.name);
  },
  ingestionBatches: (d) => {
    nonEmptyPage(d.ingestionBatches);
    expect(d.ingestionBatches.edges.some((e: Data) => e.node.errors.length > 0)).toBe(true);
  },
  marketDataFeeds: (d) => {
    nonEmptyPage(d.marketDataFeeds);
    expect(d.marketDataFeeds.edges.every((e: Data) => e.node.checks.length > 0)).toBe(true);
  },
};

const UPLOAD = `mutation Upload($input: PositionUploadInput!) { uploadPositions(input: $input) { id status rejectedCount } }`;
const SNAPSHOT = `mutation Snapshot($id: ID!, $date: Date!) { createPortfolioSnapshot(nodeId: $id, asOfDate: $date) { created } }`;

/** Upload batches through the API: small position files, the first with one row on a FUND (rejected). */
async function uploadBatches(api: RunningService, world: World, count: number): Promise<void> {
  const book = world.nodes.find((n) => n.node_type === 'BOOK')!;
  const fund = world.nodes.find((n) => n.node_type === 'FUND')!;
  const isins = world.instruments.filter((i) => i.isin).map((i) => i.isin!);
  for (let b = 0; b < count; b++) {
    const rows = [0, 1, 2].map((r) => ({ nodeId: book.id, isin: isins[(b * 3 + r) % isins.length], quantity: `${(b + 1) * 100 + r}`, baseCurrency: 'USD' }));
    if (b === 0) rows.push({ nodeId: fund.id, isin: isins[0], quantity: '1', baseCurrency: 'USD' });
    const res = await graphql(api.url, UPLOAD, { input: { sourceSystem: `corpus-${b}`, mode: 'SKIP_INVALID', idempotencyKey: `corpus-${b}`, rows } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.uploadPositions).toMatchObject({ status: 'COMPLETED', rejectedCount: b === 0 ? 1 : 0 });
  }
}

async function openDataSet(size: Size): Promise<DataSet> {
  const t = await createTestDatabase();
  const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, seed: size.seed, positions: size.positions, funds: size.funds });
  await loadWorld(t.db.sql, world);
  const api = await startService(t.db, { analyticsCacheBytes: 0 });
  await uploadBatches(api, world, size.batches);
  const facts = await corpusFacts((sql, params) => t.db.sql.query(sql, params));
  for (const date of world.valuationDates.slice(-size.snapshots)) {
    const res = await graphql(api.url, SNAPSHOT, { id: facts.fund, date });
    expect(res.errors).toBeUndefined();
  }
  const [fund] = await t.db.sql.query<{ nodes: number; positions: number }>(`
    WITH RECURSIVE sub AS (SELECT id FROM portfolio_node WHERE id = $1 UNION ALL SELECT n.id FROM portfolio_node n JOIN sub ON n.parent_id = sub.id)
    SELECT (SELECT count(*)::int FROM sub) AS nodes, (SELECT count(*)::int FROM position WHERE portfolio_node_id IN (SELECT id FROM sub)) AS positions`,
  [facts.fund]);
  const plain = await startService(t.db, { analyticsCacheBytes: 0, graphqlCompileOnRequest: 0 });
  return { size, t, api, plain, facts, fundNodes: fund!.nodes, fundPositions: fund!.positions };
}

interface Run {
  /** The fewest statements of the counted requests, and the most. */
  statements: number;
  most: number;
  data: Record<string, any>;
}

/**
 * Requests counted per operation and data set. On PostgreSQL, fields that resolve on different
 * connections finish at different moments, and a loader batches what is asked in the same tick:
 * the number of batches (the same shape-bounded cost) can vary by one or two from request to
 * request. The fewest of a few requests is the cost of the shape; growth with rows shows in all.
 */
const COUNTED = 2;

/** The operation once to warm up (first-use costs of the client, a knownAt settled once), then counted. */
async function run(set: DataSet, op: CorpusOperation): Promise<Run> {
  const variables = resolveVariables(op.variableTemplate, set.facts);
  const first = await graphql(set.api.url, op.query, variables);
  expect({ op: op.name, set: set.size.label, errors: first.errors }).toEqual({ op: op.name, set: set.size.label, errors: undefined });
  const counts: number[] = [];
  let data: Record<string, any> = {};
  for (let i = 0; i < COUNTED; i++) {
    let statements = 0;
    const off = set.t.db.onQuery(() => statements++);
    let res;
    try {
      res = await graphql(set.api.url, op.query, variables);
    } finally {
      off();
    }
    expect({ op: op.name, set: set.size.label, status: res.status, errors: res.errors }).toEqual({ op: op.name, set: set.size.label, status: 200, errors: undefined });
    counts.push(statements);
    data = res.data!;
  }
  // graphql-js answers the same (api runs the operation as a compiled plan, src/graphql/executor.ts).
  const plain = await graphql(set.plain.url, op.query, variables);
  expect({ op: op.name, set: set.size.label, status: plain.status, errors: plain.errors, data: plain.data }).toEqual({ op: op.name, set: set.size.label, status: 200, errors: undefined, data });
  return { statements: Math.min(...counts), most: Math.max(...counts), data };
}

const sets: DataSet[] = [];
const measured: { name: string; kind: string; small: Run; large: Run }[] = [];

beforeAll(async () => {
  sets.push(await openDataSet(SMALL), await openDataSet(LARGE));
}, 120_000);

afterAll(async () => {
  for (const set of sets) {
    await set.plain.stop();
    await set.api.stop();
    await set.t.drop();
  }
  if (measured.length > 0) {
    const cell = (r: Run) => (r.most === r.statements ? `${r.statements}` : `${r.statements}-${r.most}`);
    // eslint-disable-next-line no-console
    console.log(`statements per corpus operation (fewest-most of ${COUNTED} requests; small / large data set):\n${measured
      .map((m) => `  ${m.name.padEnd(28)} ${m.kind.padEnd(9)} ${cell(m.small).padStart(5)} ${cell(m.large).padStart(5)}${m.small.statements === m.large.statements ? '' : '  GROWS'}`)
      .join('\n')}`);
  }
});

describe('the corpus', () => {
  it('holds at least 22 operations of every kind, each valid against schema.graphql', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(22);
    expect(new Set(corpus.map((op) => op.kind))).toEqual(new Set(['tree', 'page', 'exposure', 'lookup', 'history', 'other']));
    const schema = buildSchema(readFileSync(join(__dirname, '../../schema.graphql'), 'utf8'));
    for (const op of corpus) expect({ op: op.name, errors: validate(schema, parse(op.query)).map((e) => e.message) }).toEqual({ op: op.name, errors: [] });
  });

  it('has a check of its answer for every operation, and none for an operation it lacks', () => {
    expect(Object.keys(CORPUS_CHECKS).sort()).toEqual(corpus.map((op) => op.name).sort());
    for (const name of Object.keys(KNOWN_GROWTH)) expect(corpus.map((op) => op.name)).toContain(name);
  });

  it('resolves placeholders at any depth, sends other values as written, and refuses a placeholder without a fact', () => {
    expect(resolveVariables({ filter: { parentId: '$desk' }, ids: ['$fund', 'x'], note: 'costs $5', first: 5, after: null }, { desk: 'D', fund: 'F' }))
      .toEqual({ filter: { parentId: 'D' }, ids: ['F', 'x'], note: 'costs $5', first: 5, after: null });
    expect(() => resolveVariables({ id: '$nowhere' }, { fund: 'F' })).toThrow('no fact for placeholder $nowhere');
  });

  it('uses only placeholders the data-set facts provide', () => {
    const [set] = sets;
    for (const op of corpus) for (const p of placeholdersOf(op.variableTemplate)) expect({ op: op.name, p, known: p in set!.facts }).toEqual({ op: op.name, p, known: true });
  });

  it('is measured on data sets of clearly different size', () => {
    const [small, large] = sets as [DataSet, DataSet];
    expect(large.fundNodes).toBeGreaterThanOrEqual(2 * small.fundNodes);
    expect(large.fundPositions).toBeGreaterThanOrEqual(5 * small.fundPositions);
  });
});

describe.each(corpus.map((op) => [op.name, op] as const))('%s', (_name, op) => {
  const title = KNOWN_GROWTH[op.name]
    ? `answers on both data sets; statements grow with rows (known finding: ${KNOWN_GROWTH[op.name]})`
    : 'answers on both data sets, with statements bounded by its shape, not by rows';
  it(title, async () => {
    const [small, large] = sets as [DataSet, DataSet];
    const a = await run(small, op);
    const b = await run(large, op);
    CORPUS_CHECKS[op.name]!(a.data, small.facts);
    CORPUS_CHECKS[op.name]!(b.data, large.facts);
    measured.push({ name: op.name, kind: op.kind, small: a, large: b });
    expect(a.statements).toBeGreaterThan(0);
    if (KNOWN_GROWTH[op.name]) expect(b.statements).toBeGreaterThan(a.statements);
    else expect({ op: op.name, statements: b.statements }).toEqual({ op: op.name, statements: a.statements });
  });
});
