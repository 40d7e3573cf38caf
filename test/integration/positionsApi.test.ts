// Positions through HTTP: connections with status filters, subtree roll-ups and
// pagination; as-of valuations; open/close; recording valuations all-or-nothing.
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { createChain, createInstrument, createPosition } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 800, funds: 2 });

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, world);
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

const count = async (sql: string, params: unknown[] = []) => (await t.db.sql.query<{ n: number }>(sql, params))[0]!.n;

describe('PortfolioNode.positions', () => {
  const PAGE = `query($id: ID!, $first: Int, $after: String, $status: [PositionStatus!], $deep: Boolean) {
    portfolioNode(id: $id) { positions(status: $status, includeDescendants: $deep, first: $first, after: $after) {
      totalCount edges { cursor node { id status quantity node { id } } } pageInfo { hasNextPage endCursor } } } }`;

  it('counts a fund\'s whole subtree only with includeDescendants, filtered by status', async () => {
    const fund = world.nodes.find((n) => n.node_type === 'FUND')!;
    const subtree = `WITH RECURSIVE s AS (SELECT id FROM portfolio_node WHERE id = $1 UNION ALL SELECT c.id FROM portfolio_node c JOIN s ON c.parent_id = s.id)`;
    const own = await graphql(api.url, PAGE, { id: fund.id, first: 5 });
    expect(own.data!.portfolioNode.positions.totalCount).toBe(0);
    const all = await graphql(api.url, PAGE, { id: fund.id, first: 5, deep: true });
    expect(all.data!.portfolioNode.positions.totalCount).toBe(await count(`${subtree} SELECT count(*)::int AS n FROM position WHERE portfolio_node_id IN (SELECT id FROM s)`, [fund.id]));
    const active = await graphql(api.url, PAGE, { id: fund.id, first: 5, deep: true, status: ['ACTIVE'] });
    expect(active.data!.portfolioNode.positions.totalCount).toBe(await count(`${subtree} SELECT count(*)::int AS n FROM position WHERE status = 'ACTIVE' AND portfolio_node_id IN (SELECT id FROM s)`, [fund.id]));
    const gone = await graphql(api.url, PAGE, { id: fund.id, first: 500, deep: true, status: ['CLOSED', 'DELETED'] });
    expect(gone.data!.portfolioNode.positions.edges.every((e: { node: { status: string } }) => e.node.status !== 'ACTIVE')).toBe(true);
    expect(gone.data!.portfolioNode.positions.totalCount).toBeGreaterThan(0);
  });

  it('walks every page of a book in id order without gaps or repeats', async () => {
    const [busiest] = await t.db.sql.query<{ id: string; n: number }>(
      'SELECT portfolio_node_id AS id, count(*)::int AS n FROM position GROUP BY 1 ORDER BY 2 DESC LIMIT 1',
    );
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await graphql(api.url, PAGE, { id: busiest!.id, first: 7, after });
      const conn = res.data.portfolioNode.positions;
      expect(conn.totalCount).toBe(busiest!.n);
      seen.push(...conn.edges.map((e: { node: { id: string; node: { id: string } } }) => {
        expect(e.node.node.id).toBe(busiest!.id);
        return e.node.id;
      }));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    const ids = await t.db.sql.query<{ id: string }>('SELECT id FROM position WHERE portfolio_node_id = $1 ORDER BY id', [busiest!.id]);
    expect(seen).toEqual(ids.map((r) => r.id));
  });

  it('pages many nodes at once, each with its own totals', async () => {
    const res = await graphql(api.url, `{ portfolioNodes(filter: { nodeType: BOOK }, first: 500) { edges { node { id positions(first: 3) { totalCount edges { node { id } } } } } } }`);
    const totals = new Map((await t.db.sql.query<{ id: string; n: number }>('SELECT portfolio_node_id AS id, count(*)::int AS n FROM position GROUP BY 1')).map((r) => [r.id, r.n]));
    for (const edge of res.data!.portfolioNodes.edges) {
      const expected = totals.get(edge.node.id) ?? 0;
      expect(edge.node.positions.totalCount).toBe(expected);
      expect(edge.node.positions.edges).toHaveLength(Math.min(3, expected));
    }
  });

  it('answers totalCount alone (no page read) with the same counts, per status and subtree', async () => {
    const res = await graphql(api.url, `{ portfolioNodes(first: 500) { edges { node { id
      all: positions { totalCount } active: positions(status: [ACTIVE]) { totalCount }
      deep: positions(includeDescendants: true, status: [CLOSED, DELETED]) { ... on PositionConnection { totalCount } } } } } }`);
    expect(res.errors).toBeUndefined();
    const own = new Map((await t.db.sql.query<{ id: string; n: number; a: number }>(
      `SELECT portfolio_node_id AS id, count(*)::int AS n, count(*) FILTER (WHERE status = 'ACTIVE')::int AS a FROM position GROUP BY 1`)).map((r) => [r.id, r]));
    const deep = new Map((await t.db.sql.query<{ id: string; n: number }>(
      `WITH RECURSIVE s (root, id) AS (SELECT id, id FROM portfolio_node UNION ALL SELECT s.root, c.id FROM s JOIN portfolio_node c ON c.parent_id = s.id)
       SELECT s.root AS id, count(p.id)::int AS n FROM s JOIN position p ON p.portfolio_node_id = s.id AND p.status <> 'ACTIVE' GROUP BY 1`)).map((r) => [r.id, r.n]));
    for (const { node } of res.data!.portfolioNodes.edges) {
      expect(node.all.totalCount).toBe(own.get(node.id)?.n ?? 0);
      expect(node.active.totalCount).toBe(own.get(node.id)?.a ?? 0);
      expect(node.deep.totalCount).toBe(deep.get(node.id) ?? 0);
    }
    expect(res.data!.portfolioNodes.edges.some((e: { node: { deep: { totalCount: number } } }) => e.node.deep.totalCount > 0)).toBe(true);
  });

  it('rejects a page size over 500', async () => {
    const book = world.nodes.find((n) => n.node_type === 'BOOK')!;
    const res = await graphql(api.url, PAGE, { id: book.id, first: 501 });
    expect(res.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});

describe('Position.valuation(asOf)', () => {
  it('returns the latest valuation on or before the date, never a later one', async () => {
    const c = await createChain(t.db, 'Valuation');
    const instrument = await createInstrument(t.db);
    const p = await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
    await t.db.sql.query(
      `INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, '2026-03-31', '100.10', 'USD'), ($1, '2026-06-30', '200.20', 'USD')`,
      [p.id],
    );
    const q = `query($id: ID!) { position(id: $id) { before: valuation(asOf: "2026-03-30") { marketValue }
      onFirst: valuation(asOf: "2026-03-31") { asOfDate marketValue currency }
      between: valuation(asOf: "2026-06-29") { asOfDate marketValue }
      later: valuation(asOf: "2027-01-01") { asOfDate marketValue } } }`;
    const res = await graphql(api.url, q, { id: p.id });
    expect(res.data!.position).toEqual({
      before: null,
      onFirst: { asOfDate: '2026-03-31', marketValue: '100.1', currency: 'USD' },
      between: { asOfDate: '2026-03-31', marketValue: '100.1' },
      later: { asOfDate: '2026-06-30', marketValue: '200.2' },
    });
  });
});

describe('position mutations', () => {
  const OPEN = `mutation($input: OpenPositionInput!) { openPosition(input: $input) { id status quantity baseCurrency node { id } } }`;

  it('opens a position on a BOOK or STRATEGY with an exact quantity', async () => {
    const c = await createChain(t.db, 'Open');
    const instrument = await createInstrument(t.db);
    for (const node of [c.book, c.strategy]) {
      const res = await graphql(api.url, OPEN, { input: { nodeId: node.id, instrumentId: instrument.id, quantity: '12345678901234567.0123456789', baseCurrency: 'usd' } });
      expect(res.data!.openPosition).toMatchObject({ status: 'ACTIVE', quantity: '12345678901234567.0123456789', baseCurrency: 'USD', node: { id: node.id } });
    }
  });

  it.each([
    ['on a FUND', 'fund', {}, 'HIERARCHY_VIOLATION', 'input.nodeId'],
    ['on a DESK', 'desk', {}, 'HIERARCHY_VIOLATION', 'input.nodeId'],
    ['on a missing node', 'missing', {}, 'NOT_FOUND', 'input.nodeId'],
    ['of a missing instrument', 'book', { instrumentId: '00000000-0000-4000-8000-000000000000' }, 'NOT_FOUND', 'input.instrumentId'],
    ['with 11 decimals', 'book', { quantity: '1.00000000001' }, 'BAD_USER_INPUT', 'input.quantity'],
    ['with 19 integer digits', 'book', { quantity: '1234567890123456789' }, 'BAD_USER_INPUT', 'input.quantity'],
    ['with NaN', 'book', { quantity: 'NaN' }, 'BAD_USER_INPUT', 'input.quantity'],
    ['with an exponent', 'book', { quantity: '1e5' }, 'BAD_USER_INPUT', 'input.quantity'],
    ['with a float', 'book', { quantity: 0.1 }, 'BAD_USER_INPUT', 'input.quantity'],
    ['with an unknown currency', 'book', { baseCurrency: 'ABC' }, 'BAD_USER_INPUT', 'input.baseCurrency'],
  ])('refuses a position %s and writes nothing', async (_what, node, override, code, field) => {
    const c = await createChain(t.db, `Refuse open ${node}`);
    const instrument = await createInstrument(t.db);
    const nodeId = { fund: c.fund.id, desk: c.desk.id, book: c.book.id, missing: '00000000-0000-4000-8000-000000000000' }[node];
    const before = await count('SELECT count(*)::int AS n FROM position');
    const res = await graphql(api.url, OPEN, { input: { nodeId, instrumentId: instrument.id, quantity: '100', baseCurrency: 'USD', ...override } });
    expect(res.errors![0]!.extensions).toMatchObject({ code, field });
    expect(await count('SELECT count(*)::int AS n FROM position')).toBe(before);
  });

  it('closes a position once; closing again changes nothing; a deleted one is a conflict', async () => {
    const c = await createChain(t.db, 'Close');
    const instrument = await createInstrument(t.db);
    const p = await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
    const CLOSE = 'mutation($id: ID!) { closePosition(id: $id) { id status } }';
    expect((await graphql(api.url, CLOSE, { id: p.id })).data!.closePosition.status).toBe('CLOSED');
    expect((await graphql(api.url, CLOSE, { id: p.id })).data!.closePosition.status).toBe('CLOSED');
    const deleted = await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id, status: 'DELETED' });
    expect((await graphql(api.url, CLOSE, { id: deleted.id })).errors![0]!.extensions).toMatchObject({ code: 'CONFLICT', field: 'id' });
    expect((await graphql(api.url, CLOSE, { id: 'nope' })).errors![0]!.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'id' });
  });

  it('records valuations all or none; another value for a date is a correction that keeps the earlier one', async () => {
    const c = await createChain(t.db, 'Record');
    const instrument = await createInstrument(t.db);
    const p1 = await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
    const p2 = await createPosition(t.db, { portfolioNodeId: c.book.id, instrumentId: instrument.id });
    const RECORD = 'mutation($input: [ValuationInput!]!) { recordValuations(input: $input) }';
    const ok = await graphql(api.url, RECORD, { input: [
      { positionId: p1.id, asOfDate: '2026-06-30', marketValue: '1000000.12345678', currency: 'USD' },
      { positionId: p2.id, asOfDate: '2026-06-30', marketValue: '-25.5', currency: 'eur' },
    ] });
    expect(ok.data!.recordValuations).toBe(2);
    const replaced = await graphql(api.url, RECORD, { input: [{ positionId: p1.id, asOfDate: '2026-06-30', marketValue: '999', currency: 'USD' }] });
    expect(replaced.data!.recordValuations).toBe(1);
    // The same value again writes nothing.
    const same = await graphql(api.url, RECORD, { input: [{ positionId: p1.id, asOfDate: '2026-06-30', marketValue: '999.000', currency: 'USD' }] });
    expect(same.data!.recordValuations).toBe(0);
    const stored = await t.db.sql.query<{ v: string; currency: string; current: boolean }>(
      `SELECT market_value::text AS v, currency, superseded_at IS NULL AS current FROM valuation_result WHERE position_id = ANY($1::uuid[]) ORDER BY market_value`, [[p1.id, p2.id]]);
    expect(stored).toEqual([
      { v: '-25.50000000', currency: 'EUR', current: true },
      { v: '999.00000000', currency: 'USD', current: true },
      { v: '1000000.12345678', currency: 'USD', current: false },
    ]);

    const before = await count('SELECT count(*)::int AS n FROM valuation_result');
    for (const [bad, field, code] of [
      [{ positionId: '00000000-0000-4000-8000-000000000000' }, 'input[1].positionId', 'NOT_FOUND'],
      [{ marketValue: '1.123456789' }, 'input[1].marketValue', 'BAD_USER_INPUT'],
      [{ currency: 'QQQ' }, 'input[1].currency', 'BAD_USER_INPUT'],
      [{ positionId: p1.id, asOfDate: '2026-07-31' }, 'input[1].asOfDate', 'BAD_USER_INPUT'],
    ] as const) {
      const res = await graphql(api.url, RECORD, { input: [
        { positionId: p1.id, asOfDate: '2026-07-31', marketValue: '1', currency: 'USD' },
        { positionId: p2.id, asOfDate: '2026-07-31', marketValue: '2', currency: 'USD', ...(bad as Record<string, string>) },
      ] });
      expect(res.errors![0]!.extensions).toMatchObject({ code, field });
      expect(await count('SELECT count(*)::int AS n FROM valuation_result')).toBe(before);
    }
  });
});
