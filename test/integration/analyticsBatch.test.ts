// marketValue, exposure and holdingsChange asked of many nodes at once (every
// node of a tree, every fund of portfolioRoots) are one computation per set of
// arguments (computeMarketValues, computeViews, computeHoldingsChanges):
// each figure and page equals the one-node computation (computeMarketValue,
// computeExposure, computeHoldingsChange) to the last decimal - now
// and as known at a past moment, in the node's currency and in another, in
// every dimension - and a node whose positions lack an FX rate fails alone,
// with the error its own computation gives.
import { computeExposure, type Dimension } from '../../src/services/analytics/exposure';
import { holdingsChange, PAGE_SCAN_ROOTS, type TimePoint } from '../../src/services/analytics/holdingsChange';
import { computeMarketValue } from '../../src/services/analytics/marketValue';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
let fundId: string;
const ASOF = DEFAULT_SEED_OPTIONS.asOf;

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 600, funds: 2 }));
  [{ id: fundId }] = (await t.db.sql.query<{ id: string }>(
    `SELECT n.id::text AS id FROM portfolio_node n WHERE n.parent_id IS NULL ORDER BY n.name LIMIT 1`)) as [{ id: string }];
  api = await startService(t.db, { analyticsCacheBytes: 0 });
}, 120_000);

afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

type Node = { id: string; name: string; baseCurrency: string; marketValue: { amount: string; currency: string } | null; children?: Node[] };
const flatten = (node: Node, out: Node[] = []): Node[] => {
  out.push(node);
  for (const child of node.children ?? []) flatten(child, out);
  return out;
};

/** The tree with every node's market value, and the statements it took. */
async function tree(args: string): Promise<{ nodes: Node[]; statements: number; errors: unknown[] }> {
  const level = `id name baseCurrency marketValue(${args}) { amount currency }`;
  let statements = 0;
  const off = t.db.onQuery(() => statements++);
  const res = await graphql(api.url, `query($id: ID!) { portfolioNode(id: $id) { ${level} children { ${level} children { ${level} children { ${level} } } } } }`, { id: fundId });
  off();
  return { nodes: flatten(res.data!.portfolioNode as Node), statements, errors: res.errors ?? [] };
}

/** A week before the last recorded position version: known then, the seed's world differs from now. */
async function pastMoment(): Promise<string> {
  const [{ at }] = (await t.db.sql.query<{ at: string }>(
    `SELECT to_char((max(recorded_at) - interval '7 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM position_version`)) as [{ at: string }];
  return at;
}

async function alone(node: Node, currency: string | null, knownAt: string | null) {
  const row = { id: node.id, name: node.name, baseCcy: node.baseCurrency };
  return computeMarketValue(t.db.prisma, row, new Date(`${ASOF}T00:00:00Z`), currency, undefined, knownAt);
}

it('gives every node of a tree the figure of its own computation, from one statement for the whole tree', async () => {
  const { nodes, statements, errors } = await tree(`asOf: "${ASOF}"`);
  expect(errors).toEqual([]);
  expect(nodes.length).toBeGreaterThan(10);
  for (const node of nodes) expect(node.marketValue).toEqual(await alone(node, null, null));
  // Not all the same, not all zero: the figures tell the nodes apart.
  expect(new Set(nodes.map((n) => n.marketValue!.amount)).size).toBeGreaterThan(5);
  // The subtree, the forest's ids and one statement: the levels come from the tree's one statement and
  // ask their values in one batch, the nodes of every level the roots of one statement.
  expect(statements).toBeLessThanOrEqual(1 + 2);
});

it('converts through FX and pins a past moment the same way', async () => {
  const at = await pastMoment();
  const { nodes, errors, statements } = await tree(`asOf: "${ASOF}", currency: "JPY", knownAt: "${at}"`);
  expect(errors).toEqual([]);
  // As above, the moment settled first.
  expect(statements).toBeLessThanOrEqual(1 + 2 + 1);
  for (const node of nodes) {
    expect(node.marketValue!.currency).toBe('JPY');
    expect(node.marketValue).toEqual(await alone(node, 'JPY', at));
  }
  // Figures that tell the nodes apart, and the moment apart from now.
  expect(new Set(nodes.map((n) => n.marketValue!.amount)).size).toBeGreaterThan(5);
  const now = await tree(`asOf: "${ASOF}", currency: "JPY"`);
  expect(now.nodes.map((n) => n.marketValue!.amount)).not.toEqual(nodes.map((n) => n.marketValue!.amount));
});

const DIMENSIONS: [Dimension, boolean][] = [['ISSUER', true], ['ISSUER', false], ['SECTOR', false], ['GEOGRAPHY', false], ['CURRENCY', false], ['RATING', false], ['ASSET_CLASS', false], ['CHILD', false]];

it('gives every node of a tree the exposure of its own computation, in every dimension, in a few statements', async () => {
  const at = await pastMoment();
  for (const [dimension, lookThrough] of DIMENSIONS) {
    // In each node's currency; in one for all (the levels' nodes, nested, grouped under their nearest asked node), now and pinned.
    for (const [currency, knownAt] of [[null, null], ['USD', null], ['JPY', at]] as const) {
      const exposure = `exposure(dimension: ${dimension}, lookThrough: ${lookThrough}, asOf: "${ASOF}", top: 5${currency ? `, currency: "${currency}"` : ''}${knownAt ? `, knownAt: "${knownAt}"` : ''}) {
        asOf currency total unvaluedPositionCount buckets { key marketValue weight positionCount } }`;
      const level = `id name baseCurrency ${exposure}`;
      let statements = 0;
      const off = t.db.onQuery(() => statements++);
      const res = await graphql(api.url, `query($id: ID!) { portfolioNode(id: $id) { ${level} children { ${level} children { ${level} } } } }`, { id: fundId });
      off();
      expect(res.errors).toBeUndefined();
      const nodes = flatten(res.data!.portfolioNode as Node);
      expect(nodes.length).toBeGreaterThan(5);
      // Not all the same: the figures tell the nodes apart.
      expect(new Set(nodes.map((n) => (n as Node & { exposure: { total: string } }).exposure.total)).size).toBeGreaterThan(3);
      for (const node of nodes as (Node & { exposure: Record<string, unknown> })[]) {
        const own = await computeExposure(t.db.prisma, { id: node.id, name: node.name, baseCcy: node.baseCurrency },
          { dimension, lookThrough, asOf: new Date(`${ASOF}T00:00:00Z`), currency, top: 5, knownAt });
        expect(node.exposure).toEqual({
          asOf: ASOF, currency: own.currency, total: own.total, unvaluedPositionCount: own.unvaluedPositionCount,
          buckets: own.buckets.map((b) => ({ key: b.key, marketValue: b.marketValue, weight: b.weight, positionCount: b.positionCount })),
        });
      }
      // The subtree, and per level the forest's ids and its statement (a settled knownAt, bucket labels aside).
      expect(statements).toBeLessThanOrEqual(1 + 3 * 2 + 2);
    }
  }
}, 120_000);

it('gives one node its market value and exposures in every dimension (a dashboard) from one statement, each that of its own computation', async () => {
  const at = await pastMoment();
  const asOf = new Date(`${ASOF}T00:00:00Z`);
  const [fund] = (await graphql(api.url, '{ portfolioRoots { id name baseCurrency } }')).data!.portfolioRoots as Node[];
  const node = { id: fund!.id, name: fund!.name, baseCcy: fund!.baseCurrency };
  const field = (dimension: Dimension, lookThrough: boolean, top: number | null, pin: string) =>
    `${dimension}_${lookThrough}_${top ?? 'all'}: exposure(dimension: ${dimension}, lookThrough: ${lookThrough}, asOf: "${ASOF}"${top ? `, top: ${top}` : ''}${pin}) {
      asOf currency total unvaluedPositionCount buckets { key marketValue weight positionCount } }`;
  // Every dimension, look-through or not, with and without top (two of the same exposure cut differently).
  const tables = [...DIMENSIONS.map(([d, l]) => [d, l, 3] as const), ['SECTOR', false, null] as const];
  for (const [currency, knownAt] of [[null, null], ['JPY', at]] as const) {
    const pin = `${currency ? `, currency: "${currency}"` : ''}${knownAt ? `, knownAt: "${knownAt}"` : ''}`;
    let statements = 0;
    const off = t.db.onQuery(() => statements++);
    const res = await graphql(api.url, `query($id: ID!) { portfolioNode(id: $id) { marketValue(asOf: "${ASOF}"${pin}) { amount currency }
      ${tables.map(([d, l, top]) => field(d, l, top, pin)).join('\n')} } }`, { id: node.id });
    off();
    expect(res.errors).toBeUndefined();
    expect(res.data!.portfolioNode.marketValue).toEqual(await alone(fund!, currency, knownAt));
    for (const [dimension, lookThrough, top] of tables) {
      const own = await computeExposure(t.db.prisma, node, { dimension, lookThrough, asOf, currency, top, knownAt });
      expect(res.data!.portfolioNode[`${dimension}_${lookThrough}_${top ?? 'all'}`]).toEqual({
        asOf: ASOF, currency: own.currency, total: own.total, unvaluedPositionCount: own.unvaluedPositionCount,
        buckets: own.buckets.map((b) => ({ key: b.key, marketValue: b.marketValue, weight: b.weight, positionCount: b.positionCount })),
      });
      expect(own.buckets.length).toBeGreaterThan(0);
    }
    // The node, the subtree's ids and one statement for the value and all nine tables (a pinned knownAt settled once; labels not asked).
    expect(statements).toBeLessThanOrEqual(knownAt ? 4 : 3);
  }
});

it('values every fund in its own currency, with its exposures, in one statement for all the fields (portfolioRoots)', async () => {
  const at = await pastMoment();
  for (const knownAt of [null, at]) {
    const pin = knownAt ? `, knownAt: "${knownAt}"` : '';
    let statements = 0;
    const off = t.db.onQuery(() => statements++);
    const res = await graphql(api.url, `{ portfolioRoots { id name baseCurrency marketValue(asOf: "${ASOF}"${pin}) { amount currency }
      exposure(dimension: ISSUER, lookThrough: true, asOf: "${ASOF}", top: 3${pin}) { currency total unvaluedPositionCount buckets { key marketValue weight positionCount } }
      byChild: exposure(dimension: CHILD, asOf: "${ASOF}"${pin}) { total buckets { key marketValue positionCount } } } }`);
    off();
    expect(res.errors).toBeUndefined();
    const funds = res.data!.portfolioRoots as (Node & { exposure: any; byChild: any })[];
    // The seed's funds are in different currencies: the batches mix reporting currencies.
    expect(new Set(funds.map((f) => f.baseCurrency)).size).toBeGreaterThan(1);
    for (const fund of funds) {
      expect(fund.marketValue).toEqual(await alone(fund, null, knownAt));
      const node = { id: fund.id, name: fund.name, baseCcy: fund.baseCurrency };
      const asOf = new Date(`${ASOF}T00:00:00Z`);
      const issuers = await computeExposure(t.db.prisma, node, { dimension: 'ISSUER', lookThrough: true, asOf, top: 3, knownAt });
      expect(fund.exposure).toEqual({ currency: issuers.currency, total: issuers.total, unvaluedPositionCount: issuers.unvaluedPositionCount,
        buckets: issuers.buckets.map((b) => ({ key: b.key, marketValue: b.marketValue, weight: b.weight, positionCount: b.positionCount })) });
      const children = await computeExposure(t.db.prisma, node, { dimension: 'CHILD', asOf, knownAt });
      expect(fund.byChild).toEqual({ total: children.total, buckets: children.buckets.map((b) => ({ key: b.key, marketValue: b.marketValue, positionCount: b.positionCount })) });
      expect(Number(fund.marketValue!.amount)).toBeGreaterThan(0);
    }
    // The roots, the forest's ids and one statement for the three fields (the positions read once; a
    // pinned knownAt settled first).
    expect(statements).toBeLessThanOrEqual(1 + 2 + (knownAt ? 1 : 0));
  }
});

/** A month-end a month before ASOF: positions opened, closed, resized and revalued since. */
const PREVIOUS = '2026-09-30';

type Change = {
  currency: string; marketValueFrom: string; marketValueTo: string;
  changes: { totalCount: number; pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { cursor: string; node: { kind: string; quantityFrom: string | null; quantityTo: string | null; marketValueFrom: string | null; marketValueTo: string | null; position: { id: string } } }[] };
};
const CHANGE = `currency marketValueFrom marketValueTo changes(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { kind quantityFrom quantityTo marketValueFrom marketValueTo position { id } } } }`;

/** The node's change computed alone (its own statement), as the API shows it. */
async function changeAlone(node: Node, from: TimePoint, to: TimePoint, currency: string | null, after: string | null): Promise<Omit<Change, 'currency'> & { currency: string }> {
  const result = holdingsChange(t.db.prisma, { id: node.id, name: node.name, baseCcy: node.baseCurrency }, from, to, currency);
  const page = await result.load(3, after);
  const rows = page.changes.rows;
  return {
    currency: result.currency, marketValueFrom: page.marketValueFrom, marketValueTo: page.marketValueTo,
    changes: {
      totalCount: page.changes.totalCount,
      pageInfo: { hasNextPage: page.changes.hasNextPage, endCursor: rows.length > 0 ? page.changes.cursorOf(rows[rows.length - 1]!) : null },
      edges: rows.map((item) => ({ cursor: page.changes.cursorOf(item), node: {
        kind: item.kind, quantityFrom: item.quantityFrom, quantityTo: item.quantityTo, marketValueFrom: item.marketValueFrom, marketValueTo: item.marketValueTo,
        position: { id: item.positionId } } })),
    },
  };
}

it('gives every node of a tree the holdings change of its own computation, between two dates and two moments, page after page', async () => {
  const at = await pastMoment();
  const cases: [string, TimePoint, TimePoint, string | null][] = [
    [`from: { asOf: "${PREVIOUS}" }, to: { asOf: "${ASOF}" }`, { asOf: PREVIOUS, knownAt: null }, { asOf: ASOF, knownAt: null }, null],
    [`from: { asOf: "${ASOF}", knownAt: "${at}" }, to: { asOf: "${ASOF}" }, currency: "JPY"`, { asOf: ASOF, knownAt: at }, { asOf: ASOF, knownAt: null }, 'JPY'],
    [`from: { asOf: "${PREVIOUS}", knownAt: "${at}" }, to: { asOf: "${ASOF}", knownAt: "${at}" }`, { asOf: PREVIOUS, knownAt: at }, { asOf: ASOF, knownAt: at }, null],
  ];
  // Each root's page by its own top-N (a level of few nodes), and all by one window (a level of many).
  const limit = PAGE_SCAN_ROOTS.limit;
  for (const [[args, from, to, currency], scanRoots] of cases.flatMap((c) => [[c, limit], [c, 0]] as const)) {
    PAGE_SCAN_ROOTS.limit = scanRoots;
    let after: string | null = null;
    for (let page = 0; page < 2; page++) {
      const level = `id name baseCurrency holdingsChange(${args}) { ${CHANGE} }`;
      let statements = 0;
      const off = t.db.onQuery(() => statements++);
      const res: { data?: Record<string, any>; errors?: unknown[] } = await graphql(api.url, `query($id: ID!, $after: String) { portfolioNode(id: $id) { ${level} children { ${level} children { ${level} } } } }`, { id: fundId, after });
      off();
      expect(res.errors).toBeUndefined();
      const nodes = flatten(res.data!.portfolioNode as Node) as (Node & { holdingsChange: Change })[];
      expect(nodes.length).toBeGreaterThan(5);
      // Figures and pages that tell the nodes apart.
      expect(new Set(nodes.map((n) => n.holdingsChange.marketValueTo)).size).toBeGreaterThan(3);
      expect(nodes.filter((n) => n.holdingsChange.changes.edges.length > 0).length).toBeGreaterThan(3);
      for (const node of nodes) expect(node.holdingsChange).toEqual(await changeAlone(node, from, to, currency, after));
      // The subtree, and per level the forests' ids (one per moment), the statement in its transaction
      // and the positions of the pages (one lookup for all): bounded by the depth, not the nodes.
      expect(statements).toBeLessThanOrEqual(1 + 3 * 7);
      // The next page: the root's cursor, sent to every node (the same cursor for all: one batch).
      after = (res.data!.portfolioNode as Node & { holdingsChange: Change }).holdingsChange.changes.pageInfo.endCursor;
      expect(after).not.toBeNull();
    }
  }
  PAGE_SCAN_ROOTS.limit = limit;
}, 120_000);

it('gives every fund its holdings change in its own currency, in one statement per field (portfolioRoots)', async () => {
  const at = await pastMoment();
  let statements = 0;
  const off = t.db.onQuery(() => statements++);
  const res = await graphql(api.url, `query($after: String) { portfolioRoots { id name baseCurrency
    sinceMonthEnd: holdingsChange(from: { asOf: "${PREVIOUS}" }, to: { asOf: "${ASOF}" }) { ${CHANGE} }
    sinceLastWeek: holdingsChange(from: { asOf: "${ASOF}", knownAt: "${at}" }, to: { asOf: "${ASOF}" }) { ${CHANGE} }
    inUsd: holdingsChange(from: { asOf: "${PREVIOUS}" }, to: { asOf: "${ASOF}" }, currency: "USD") { ${CHANGE} } } }`, { after: null });
  off();
  expect(res.errors).toBeUndefined();
  const funds = res.data!.portfolioRoots as (Node & { sinceMonthEnd: Change; sinceLastWeek: Change; inUsd: Change })[];
  expect(new Set(funds.map((f) => f.baseCurrency)).size).toBeGreaterThan(1);
  for (const fund of funds) {
    expect(fund.sinceMonthEnd).toEqual(await changeAlone(fund, { asOf: PREVIOUS, knownAt: null }, { asOf: ASOF, knownAt: null }, null, null));
    expect(fund.sinceLastWeek).toEqual(await changeAlone(fund, { asOf: ASOF, knownAt: at }, { asOf: ASOF, knownAt: null }, null, null));
    expect(fund.inUsd).toEqual(await changeAlone(fund, { asOf: PREVIOUS, knownAt: null }, { asOf: ASOF, knownAt: null }, 'USD', null));
    expect(fund.sinceMonthEnd.changes.totalCount).toBeGreaterThan(0);
    expect(fund.sinceLastWeek.changes.totalCount).toBeGreaterThan(0);
  }
  // The roots, the moment settled, then per field the forests' ids, the statement in its transaction, and the pages' positions.
  expect(statements).toBeLessThanOrEqual(2 + 3 * 6 + 1);
});

it('answers a holdings change selected through fragments with the statements of the same selection written inline', async () => {
  const at = await pastMoment();
  const fields = (selection: string) => `portfolioRoots { id
    sinceMonthEnd: holdingsChange(from: { asOf: "${PREVIOUS}" }, to: { asOf: "${ASOF}" }) { ${selection} }
    sinceLastWeek: holdingsChange(from: { asOf: "${ASOF}", knownAt: "${at}" }, to: { asOf: "${ASOF}" }) { ${selection} } }`;
  const run = async (query: string) => {
    let statements = 0;
    const off = t.db.onQuery(() => statements++);
    const res = await graphql(api.url, query, { after: null });
    off();
    expect(res.errors).toBeUndefined();
    return { data: res.data, statements };
  };
  await run(`query($after: String) { ${fields(CHANGE)} }`); // the moment settled once (later requests know it is final)
  const inline = await run(`query($after: String) { ${fields(CHANGE)} }`);
  const spread = await run(`query($after: String) { ${fields('...Change')} } fragment Change on HoldingsChange { ${CHANGE} }`);
  const nested = await run(`query($after: String) { ${fields(`... on HoldingsChange { currency ...Totals changes(first: 3, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { kind quantityFrom quantityTo marketValueFrom marketValueTo position { id } } } } }`)} }
    fragment Totals on HoldingsChange { marketValueFrom marketValueTo }`);
  expect(spread.data).toEqual(inline.data);
  expect(nested.data).toEqual(inline.data);
  // The totals come from the page's statement whichever way the selection is written: no statement of their own.
  expect(spread.statements).toBe(inline.statements);
  expect(nested.statements).toBe(inline.statements);
});

it('fails only the nodes whose positions lack a rate, with their own error', async () => {
  // A currency no feed knows, on one book's position: that book and the nodes above it cannot be valued.
  const [book] = await t.db.sql.query<{ id: string; position: string }>(
    `SELECT n.id::text AS id, p.id::text AS position FROM portfolio_node n JOIN position p ON p.portfolio_node_id = n.id
     WHERE n.fund_id = $1::uuid AND n.node_type = 'BOOK' AND p.status = 'ACTIVE' AND p.latest_as_of <= $2::date ORDER BY n.name, p.id LIMIT 1`, [fundId, ASOF]);
  await t.db.sql.query(`UPDATE valuation_result SET currency = 'XAU' WHERE position_id = $1::uuid`, [book!.position]);
  await t.db.sql.query(`UPDATE position SET latest_currency = 'XAU' WHERE id = $1::uuid`, [book!.position]);
  // Every node of the fund under its own alias, in one request (one batch): each answer stands alone.
  // (At most 30 aliases a request, three per node: the book, its ancestors and the first other nodes.)
  const ids = (await t.db.sql.query<{ id: string }>(
    `WITH RECURSIVE up (id) AS (SELECT $2::uuid UNION ALL SELECT n.parent_id FROM up JOIN portfolio_node n ON n.id = up.id WHERE n.parent_id IS NOT NULL)
     SELECT id::text AS id FROM (SELECT id, 0 AS o FROM up UNION SELECT id, 1 FROM portfolio_node WHERE fund_id = $1::uuid) x
     GROUP BY id ORDER BY min(o), id LIMIT 10`, [fundId, book!.id])).map((r) => r.id);
  const aliases = ids.flatMap((id, i) => [
    `n${i}: portfolioNode(id: "${id}") { id name baseCurrency marketValue(asOf: "${ASOF}", currency: "USD") { amount currency } }`,
    `e${i}: portfolioNode(id: "${id}") { exposure(dimension: CURRENCY, asOf: "${ASOF}", currency: "USD") { total } }`,
    `c${i}: portfolioNode(id: "${id}") { holdingsChange(from: { asOf: "${PREVIOUS}" }, to: { asOf: "${ASOF}" }, currency: "USD") { marketValueTo } }`,
  ]);
  let statements = 0;
  const off = t.db.onQuery(() => statements++);
  const res = await graphql(api.url, `{ ${aliases.join('\n')} }`);
  off();
  const failed = (res.errors ?? []) as { path: (string | number)[]; extensions: { code: string }; message: string }[];
  expect(failed.length).toBeGreaterThan(0);
  for (const error of failed) {
    expect(error.extensions.code).toBe('FX_RATE_NOT_FOUND');
    expect(error.message).toMatch(/XAUUSD/);
  }
  const answers = ids.map((id, i) => ({ id, node: res.data![`n${i}`] as Node | null }));
  for (const { id, node } of answers) {
    const [row] = await t.db.sql.query<{ name: string; base: string }>(`SELECT name, base_ccy AS base FROM portfolio_node WHERE id = $1::uuid`, [id]);
    const own = await alone({ id, name: row!.name, baseCurrency: row!.base } as Node, 'USD', null).then((v) => ({ value: v }), (e: Error) => ({ error: e.message }));
    const i = ids.indexOf(id);
    const exposed = res.data![`e${i}`] as { exposure: { total: string } } | null;
    const changed = res.data![`c${i}`] as { holdingsChange: { marketValueTo: string } } | null;
    if ('error' in own) {
      expect(node).toBeNull();
      expect(exposed).toBeNull();
      expect(changed).toBeNull();
      expect(failed.some((e) => e.path[0] === `n${i}` && e.message === own.error)).toBe(true);
      expect(failed.some((e) => e.path[0] === `e${i}` && e.message === own.error)).toBe(true);
      // The change fails with the error of its own computation.
      const change = holdingsChange(t.db.prisma, { id, name: row!.name, baseCcy: row!.base }, { asOf: PREVIOUS, knownAt: null }, { asOf: ASOF, knownAt: null }, 'USD');
      const ownChange = await change.load(0, null).then(() => 'no error', (e: Error) => e.message);
      expect(failed.some((e) => e.path[0] === `c${i}` && e.message === ownChange)).toBe(true);
    } else {
      expect(node!.marketValue).toEqual(own.value);
      expect(exposed!.exposure.total).toBe(own.value.amount);
      expect(changed!.holdingsChange.marketValueTo).toBe(own.value.amount);
    }
  }
  // The book and its ancestors failed; the other nodes are valued.
  expect(answers.find((a) => a.id === book!.id)!.node).toBeNull();
  expect(answers.filter((a) => a.node !== null).length).toBeGreaterThan(3);
  // One batch for all the nodes: the nodes, then for each field the forest's ids and its statement
  // (the change's in its transaction).
  expect(statements).toBeLessThanOrEqual(5 + 4);
  // The book's value and several tables (one statement for them all): each fails with the missing rate, on its own path.
  const tables = await graphql(api.url, `{ portfolioNode(id: "${book!.id}") { name
    marketValue(asOf: "${ASOF}", currency: "USD") { amount }
    bySector: exposure(dimension: SECTOR, asOf: "${ASOF}", currency: "USD") { total }
    byCurrency: exposure(dimension: CURRENCY, asOf: "${ASOF}", currency: "USD", top: 2) { total } } }`);
  const tableErrors = (tables.errors ?? []) as { path: (string | number)[]; extensions: { code: string }; message: string }[];
  expect(tableErrors.map((e) => [e.path.join('.'), e.extensions.code]).sort()).toEqual([
    ['portfolioNode.byCurrency', 'FX_RATE_NOT_FOUND'], ['portfolioNode.bySector', 'FX_RATE_NOT_FOUND'], ['portfolioNode.marketValue', 'FX_RATE_NOT_FOUND'],
  ]);
  for (const error of tableErrors) expect(error.message).toMatch(/XAUUSD/);
});
