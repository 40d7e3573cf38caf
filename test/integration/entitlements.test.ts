// Entitlements: a token names the funds its holder may see. Nodes, edges,
// connections, searches, aggregates and writes outside them behave exactly as
// if the data did not exist. The database keeps each node's fund itself.
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import type { AuthConfig } from '../../src/config';
import { createChain, createInstrument, createPosition } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose: typeof Jose = require('jose');
const SECRET = 'entitlements-test-secret-of-at-least-32-bytes';
const AUTH: AuthConfig = { mode: 'jwt', secret: SECRET, clockToleranceSec: 0 };

let t: TestDatabase;
let api: RunningService;
let a: Awaited<ReturnType<typeof createChain>>;
let b: Awaited<ReturnType<typeof createChain>>;
let positionA: string;
let positionB: string;
let instrumentId: string;
let onlyA: string;
let admin: string;

const token = (roles: string[], funds: string[]) =>
  new jose.SignJWT({ roles, funds }).setProtectedHeader({ alg: 'HS256' }).setSubject('user').setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
const as = (tok: string, query: string, variables = {}) => graphql(api.url, query, variables, { authorization: `Bearer ${tok}` });

beforeAll(async () => {
  t = await createTestDatabase();
  a = await createChain(t.db, 'Alpha');
  b = await createChain(t.db, 'Beta');
  const instrument = await createInstrument(t.db);
  instrumentId = instrument.id;
  positionA = (await createPosition(t.db, { portfolioNodeId: a.book.id, instrumentId })).id;
  positionB = (await createPosition(t.db, { portfolioNodeId: b.book.id, instrumentId })).id;
  for (const [p, v] of [[positionA, '100'], [positionB, '900']] as const) {
    await t.db.sql.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, '2026-06-30', $2, 'USD')`, [p, v]);
  }
  onlyA = await token(['ADMIN'], [a.fund.id]);
  admin = await token(['ADMIN'], ['*']);
  api = await startService(t.db, { auth: AUTH });
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

describe('the database keeps every node\'s fund', () => {
  it('sets it on insert, carries a moved subtree along, and ignores direct writes', async () => {
    const fundOf = async (id: string) => (await t.db.sql.query<{ fund_id: string }>('SELECT fund_id FROM portfolio_node WHERE id = $1', [id]))[0]!.fund_id;
    for (const n of Object.values(a)) expect(await fundOf(n.id)).toBe(a.fund.id);
    const c = await createChain(t.db, 'Gamma');
    await t.db.sql.query('UPDATE portfolio_node SET parent_id = $1 WHERE id = $2', [a.fund.id, c.desk.id]);
    for (const n of [c.desk, c.book, c.strategy]) expect(await fundOf(n.id)).toBe(a.fund.id);
    await t.db.sql.query('UPDATE portfolio_node SET fund_id = $1 WHERE id = $2', [b.fund.id, c.book.id]);
    expect(await fundOf(c.book.id)).toBe(a.fund.id);
    await t.db.sql.query('UPDATE portfolio_node SET parent_id = $1 WHERE id = $2', [c.fund.id, c.desk.id]);
    for (const n of [c.desk, c.book, c.strategy]) expect(await fundOf(n.id)).toBe(c.fund.id);
  });
});

describe('reads are scoped to the token\'s funds', () => {
  it('hides other funds from roots, lookups and connections', async () => {
    expect((await as(onlyA, '{ portfolioRoots { id } }')).data!.portfolioRoots).toEqual([{ id: a.fund.id }]);
    const all = await as(admin, '{ portfolioRoots { id } }');
    expect(all.data!.portfolioRoots.length).toBeGreaterThanOrEqual(2);
    for (const id of [b.fund.id, b.desk.id, b.book.id]) {
      expect((await as(onlyA, 'query($id: ID!) { portfolioNode(id: $id) { id } }', { id })).data!.portfolioNode).toBeNull();
    }
    expect((await as(onlyA, 'query($id: ID!) { position(id: $id) { id } }', { id: positionB })).data!.position).toBeNull();
    expect((await as(onlyA, 'query($id: ID!) { position(id: $id) { id } }', { id: positionA })).data!.position).toEqual({ id: positionA });
    const search = await as(onlyA, '{ portfolioNodes(filter: { nameContains: "a" }, first: 500) { totalCount edges { node { id } } } }');
    const ids = search.data!.portfolioNodes.edges.map((e: { node: { id: string } }) => e.node.id);
    expect(ids).not.toContain(b.book.id);
    expect(ids).toContain(a.book.id);
    expect(search.data!.portfolioNodes.totalCount).toBe(ids.length);
    const byParent = await as(onlyA, 'query($p: ID) { portfolioNodes(filter: { parentId: $p }) { totalCount } }', { p: b.fund.id });
    expect(byParent.data!.portfolioNodes.totalCount).toBe(0);
  });

  it('follows edges only within the funds: parent, ancestors, descendants, positions, aggregates', async () => {
    const res = await as(onlyA, `query($id: ID!) { portfolioNode(id: $id) { parent { id } ancestors { id } descendants { id }
      positions(includeDescendants: true) { totalCount } marketValue(asOf: "2026-06-30") { amount } } }`, { id: a.desk.id });
    expect(res.data!.portfolioNode).toEqual({
      parent: { id: a.fund.id }, ancestors: [{ id: a.fund.id }], descendants: [{ id: a.book.id }, { id: a.strategy.id }],
      positions: { totalCount: 1 }, marketValue: { amount: '100' },
    });
    const fund = await as(onlyA, 'query($id: ID!) { portfolioNode(id: $id) { exposure(dimension: CHILD, asOf: "2026-06-30") { total buckets { key } } } }', { id: a.fund.id });
    expect(fund.data!.portfolioNode.exposure).toEqual({ total: '100', buckets: [{ key: a.desk.id }] });
  });

  it('keeps history to the funds too: positions as of a date, versions, holdings, valuations, changes', async () => {
    const k = new Date().toISOString();
    const other = await as(onlyA, `query($id: ID!, $k: DateTime) { portfolioNode(id: $id) { positions(asOf: "2026-06-30", knownAt: $k) { totalCount }
      holdingsChange(from: { asOf: "2026-05-29" }, to: { asOf: "2026-06-30" }) { marketValueTo } } }`, { id: b.fund.id, k });
    expect(other.errors).toBeUndefined();
    expect(other.data!.portfolioNode).toBeNull();
    const position = await as(onlyA, `query($id: ID!) { position(id: $id) { history { validFrom } holding(asOf: "2026-06-30") { quantity } valuationVersions(asOfDate: "2026-06-30") { marketValue } } }`, { id: positionB });
    expect(position.data!.position).toBeNull();
    // Within the caller's funds, the same questions answer with the caller's positions only.
    const own = await as(onlyA, `query($id: ID!, $k: DateTime) { portfolioNode(id: $id) { positions(asOf: "2026-06-30", knownAt: $k, includeDescendants: true) { edges { node { id } } } } }`, { id: a.fund.id, k });
    expect(own.data!.portfolioNode.positions.edges).toEqual([{ node: { id: positionA } }]);
  });

  it('shows global reference data to everyone', async () => {
    expect((await as(onlyA, 'query($id: ID!) { instrument(id: $id) { id } }', { id: instrumentId })).data!.instrument).toEqual({ id: instrumentId });
  });
});

describe('writes are scoped too, and say NOT_FOUND rather than reveal', () => {
  it.each([
    ['openPosition on another fund\'s book', `mutation($n: ID!, $i: ID!) { openPosition(input: { nodeId: $n, instrumentId: $i, quantity: "1", baseCurrency: "USD" }) { id } }`, () => ({ n: b.book.id, i: instrumentId }), 'input.nodeId'],
    ['createPortfolioNode under another fund', `mutation($p: ID!) { createPortfolioNode(input: { name: "X", nodeType: BOOK, parentId: $p, baseCurrency: "USD" }) { id } }`, () => ({ p: b.desk.id }), 'input.parentId'],
    ['movePortfolioNode into another fund', `mutation($id: ID!, $p: ID!) { movePortfolioNode(id: $id, parentId: $p) { id } }`, () => ({ id: a.book.id, p: b.desk.id }), 'parentId'],
    ['closePosition of another fund', `mutation($id: ID!) { closePosition(id: $id) { id } }`, () => ({ id: positionB }), 'id'],
    ['a back-dated close of another fund', `mutation($id: ID!) { closePosition(id: $id, effectiveDate: "2026-01-31") { id } }`, () => ({ id: positionB }), 'id'],
    ['adjustPosition of another fund', `mutation($p: ID!) { adjustPosition(input: { positionId: $p, quantity: "9", effectiveDate: "2026-01-31" }) { id } }`, () => ({ p: positionB }), 'input.positionId'],
    ['deletePosition of another fund', `mutation($id: ID!) { deletePosition(id: $id) { id } }`, () => ({ id: positionB }), 'id'],
    ['recordValuations of another fund', `mutation($p: ID!) { recordValuations(input: [{ positionId: $p, asOfDate: "2026-07-31", marketValue: "1", currency: "USD" }]) }`, () => ({ p: positionB }), 'input[0].positionId'],
  ])('refuses %s', async (_what, query, variables, field) => {
    const state = () => t.db.sql.query(`SELECT (SELECT count(*) FROM position) AS p, (SELECT count(*) FROM valuation_result) AS v,
      (SELECT count(*) FROM position_version) AS pv, (SELECT string_agg(status::text, ',' ORDER BY id) FROM position) AS statuses,
      (SELECT string_agg(id::text || coalesce(parent_id::text, ''), ',' ORDER BY id) FROM portfolio_node) AS tree`);
    const before = await state();
    const res = await as(onlyA, query, variables());
    expect(res.errors![0]!.extensions).toMatchObject({ code: 'NOT_FOUND', field });
    expect(await state()).toEqual(before);
  });

  it('lets only an all-funds caller create a FUND', async () => {
    const res = await as(onlyA, 'mutation { createPortfolioNode(input: { name: "Mine", nodeType: FUND, baseCurrency: "USD" }) { id } }');
    expect(res.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect((await as(admin, 'mutation { createPortfolioNode(input: { name: "Ours", nodeType: FUND, baseCurrency: "USD" }) { id } }')).errors).toBeUndefined();
  });
});

describe('ingestion batches are scoped by the funds their rows named', () => {
  const UPLOAD = `mutation($rows: [PositionRowInput!]!, $mode: IngestMode) {
    uploadPositions(input: { sourceSystem: "test", mode: $mode, rows: $rows }) { id status errors { code } } }`;
  const BATCH = 'query($id: ID!) { ingestionBatch(id: $id) { id } }';
  const LIST = '{ ingestionBatches(first: 500) { totalCount edges { node { id } } } }';
  const listed = async (tok: string) => (await as(tok, LIST)).data!.ingestionBatches.edges.map((e: { node: { id: string } }) => e.node.id);

  it('shows a batch only to callers entitled to every fund it touched, or to its sender', async () => {
    const row = (nodeId: string) => ({ nodeId, instrumentId, quantity: '5', baseCurrency: 'USD' });
    const inB = (await as(admin, UPLOAD, { rows: [row(b.book.id)] })).data!.uploadPositions;
    const inA = (await as(onlyA, UPLOAD, { rows: [row(a.book.id)] })).data!.uploadPositions;
    // onlyA names B's book: refused as NOT_FOUND (never "exists elsewhere"), and the batch names no fund.
    const refused = (await as(onlyA, UPLOAD, { rows: [row(b.book.id)] })).data!.uploadPositions;
    expect(refused).toMatchObject({ status: 'FAILED', errors: expect.arrayContaining([{ code: 'NOT_FOUND' }]) });
    expect(inB.status).toBe('COMPLETED');
    expect(inA.status).toBe('COMPLETED');

    expect((await as(onlyA, BATCH, { id: inB.id })).data!.ingestionBatch).toBeNull();
    expect((await as(onlyA, BATCH, { id: inA.id })).data!.ingestionBatch).toEqual({ id: inA.id });
    expect((await as(onlyA, BATCH, { id: refused.id })).data!.ingestionBatch).toEqual({ id: refused.id });
    const forA = await listed(onlyA);
    expect(forA).toContain(inA.id);
    expect(forA).not.toContain(inB.id);
    const all = await listed(admin);
    expect(all).toEqual(expect.arrayContaining([inA.id, inB.id, refused.id]));
    const viewerB = await new jose.SignJWT({ roles: ['VIEWER'], funds: [b.fund.id] }).setProtectedHeader({ alg: 'HS256' }).setSubject('bob').setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
    const forB = await listed(viewerB);
    expect(forB).toContain(inB.id);
    expect(forB).not.toContain(inA.id);
    expect(forB).not.toContain(refused.id); // named no fund, and bob did not send it
    expect((await as(viewerB, LIST)).data!.ingestionBatches.totalCount).toBe(forB.length);
  });
});

