// Query.marketDataFeed and Query.marketDataFeeds through HTTP: null for unknown
// or malformed ids; the connection's filters, order (as-of date, then stored
// time, then id, all newest first), keyset pages, totalCount and page limits.
import { ingestMarketData } from '../../src/services/marketData/ingest';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const ids: Record<string, string> = {};

const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
const LIST = `query($feedType: FeedType, $status: ValidationStatus, $from: Date, $to: Date, $first: Int, $after: String) {
  marketDataFeeds(feedType: $feedType, status: $status, from: $from, to: $to, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id feedType asOfDate source validationStatus } } } }`;
const CURVE = { currency: 'EUR', points: ['1Y', '2Y', '5Y', '10Y', '30Y'].map((tenor, i) => ({ tenor, rate: '0.03', discountFactor: `0.9${5 - i}` })) };

async function list(variables: Record<string, unknown> = {}) {
  const res = await graphql(api.url, LIST, variables);
  expect(res.errors).toBeUndefined();
  return res.data!.marketDataFeeds as { totalCount: number; pageInfo: any; edges: { cursor: string; node: { id: string; source: string } }[] };
}
const sources = (page: Awaited<ReturnType<typeof list>>) => page.edges.map((e) => e.node.source);

async function feed(name: string, feedType: 'FX_SPOT' | 'YIELD_CURVE' | 'RATING', asOf: string, payload: unknown) {
  const lineage = { sourceSystem: 'test', transformationChain: [] };
  const { feed: stored } = await ingestMarketData(t.db.prisma, { feedType, asOfDate: new Date(`${asOf}T00:00:00Z`), source: name, payload, lineage });
  ids[name] = stored.id;
}

beforeAll(async () => {
  t = await createTestDatabase();
  api = await startService(t.db);
  await feed('fx-old', 'FX_SPOT', day(4), { rates: [{ pair: 'EURUSD', rate: '1.08' }] });
  await feed('curve-3', 'YIELD_CURVE', day(3), CURVE);
  await feed('fx-bad', 'FX_SPOT', day(2), { rates: [] });
  await feed('fx-new', 'FX_SPOT', day(2), { rates: [{ pair: 'EURUSD', rate: '1.081' }] });
  await feed('rating-1', 'RATING', day(1), { ratings: [{ entity: { ticker: 'NOBODY' }, agency: 'SP', rating: 'A' }] });
  // Two feeds stored at the same instant: only the id orders them.
  await t.db.sql.exec(`
    INSERT INTO market_data_feed (id, feed_type, as_of_date, source, payload_json, payload_hash, validation_status, created_at) VALUES
      ('00000000-0000-4000-8000-00000000000a', 'YIELD_CURVE', '${day(5)}', 'tie-a', '{}', repeat('a', 64), 'PASS', '2020-01-01T00:00:00.000001Z'),
      ('00000000-0000-4000-8000-00000000000b', 'YIELD_CURVE', '${day(5)}', 'tie-b', '{}', repeat('b', 64), 'PASS', '2020-01-01T00:00:00.000001Z')`);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

describe('marketDataFeed', () => {
  it('finds a feed by id, null for an unknown or malformed one', async () => {
    const query = 'query($id: ID!) { marketDataFeed(id: $id) { id source } }';
    expect((await graphql(api.url, query, { id: ids['curve-3'] })).data!.marketDataFeed).toEqual({ id: ids['curve-3'], source: 'curve-3' });
    for (const id of ['00000000-0000-4000-8000-000000000000', 'not-an-id', '']) {
      const res = await graphql(api.url, query, { id });
      expect(res.errors).toBeUndefined();
      expect(res.data!.marketDataFeed).toBeNull();
    }
  });
});

describe('marketDataFeeds', () => {
  const ALL = ['rating-1', 'fx-new', 'fx-bad', 'curve-3', 'fx-old', 'tie-b', 'tie-a'];

  it('lists every feed newest as-of date first, then newest stored, then id', async () => {
    const page = await list();
    expect(sources(page)).toEqual(ALL);
    expect(page.totalCount).toBe(7);
    expect(page.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
  });

  it('filters by type, status and as-of date range, counting over all pages', async () => {
    expect(sources(await list({ feedType: 'FX_SPOT' }))).toEqual(['fx-new', 'fx-bad', 'fx-old']);
    expect(sources(await list({ status: 'FAIL' }))).toEqual(['rating-1', 'fx-bad']);
    expect(sources(await list({ feedType: 'FX_SPOT', status: 'PASS' }))).toEqual(['fx-new', 'fx-old']);
    expect(sources(await list({ from: day(3), to: day(2) }))).toEqual(['fx-new', 'fx-bad', 'curve-3']);
    const page = await list({ feedType: 'YIELD_CURVE', first: 1 });
    expect(page.totalCount).toBe(3);
    expect(page.edges).toHaveLength(1);
  });

  it('pages with keyset cursors through the same order, ties included', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 10; i++) {
      const page = await list({ first: 2, after });
      seen.push(...sources(page));
      expect(page.pageInfo.hasPreviousPage).toBe(after !== null);
      expect(page.totalCount).toBe(7);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(ALL);
    const empty = await list({ first: 0 });
    expect(empty).toMatchObject({ edges: [], pageInfo: { hasNextPage: true, startCursor: null, endCursor: null } });
  });

  it("reads a page with its checks, lineage and the lineage's feed in a fixed number of statements", async () => {
    const query = `{ marketDataFeeds(first: 500) { edges { node { id checks { name status } lineage { sourceSystem feed { id source } } } } } }`;
    let statements = 0;
    const unsubscribe = t.db.onQuery(() => statements++);
    const res = await graphql(api.url, query);
    unsubscribe();
    expect(res.errors).toBeUndefined();
    const nodes = res.data!.marketDataFeeds.edges.map((e: any) => e.node);
    expect(nodes).toHaveLength(7);
    expect(nodes.filter((n: any) => n.lineage.length === 1 && n.lineage[0].feed.id === n.id)).toHaveLength(5);
    expect(statements).toBe(1); // the page's feeds with their lineage (no total asked); the lineage's feed is on the page
  });

  it('lists the feeds as marketDataFeed reads them, with the total in the page\'s statement', async () => {
    const FIELDS = `id feedType asOfDate source payloadHash payload validationStatus createdAt checks { name status message }
      lineage { id sourceSystem transformationChain qualityChecks metadata createdAt feed { id } }`;
    let statements = 0;
    const unsubscribe = t.db.onQuery(() => statements++);
    const res = await graphql(api.url, `{ marketDataFeeds(first: 3, feedType: FX_SPOT) { totalCount edges { node { ${FIELDS} } } } }`);
    unsubscribe();
    expect(res.errors).toBeUndefined();
    expect(statements).toBe(1);
    const page = res.data!.marketDataFeeds as { totalCount: number; edges: { node: { id: string } }[] };
    expect(page.totalCount).toBe(3);
    for (const { node } of page.edges) {
      const alone = await graphql(api.url, `query($id: ID!) { marketDataFeed(id: $id) { ${FIELDS} } }`, { id: node.id });
      expect(node).toEqual(alone.data!.marketDataFeed);
    }
  });

  it('answers BAD_USER_INPUT for a page larger than 500 or a foreign cursor', async () => {
    for (const [variables, field] of [[{ first: 501 }, 'first'], [{ first: -1 }, 'first'], [{ after: 'bm90LWEtY3Vyc29y' }, 'after'], [{ after: 'WyJ4IiwieSIsInoiXQ' }, 'after']] as const) {
      const res = await graphql(api.url, LIST, variables);
      expect(res.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    }
  });
});
