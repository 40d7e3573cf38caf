// Reading snapshots back through HTTP: portfolioSnapshot(id), the as-of
// boundary of PortfolioNode.snapshotAsOf, PortfolioNode.snapshots (filters,
// order, keyset pagination down to microsecond ties, page limits), and the
// statements of a nested query (bounded, payloads only when asked for).
import { randomBytes, randomUUID } from 'node:crypto';
import { canonicalJson, sha256Hex } from '../../src/domain/contentHash';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { adjustQuantity, createChain, createInstrument, createPosition } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 500, funds: 2 });

interface Stored { id: string; asOfDate: string }
interface Connection {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: Stored }[];
}

/** A book whose quantity (held on every date) changes before each snapshot, so each date stores a new one. Returns them oldest first. */
async function history(prefix: string, dates: string[]): Promise<{ nodeId: string; snapshots: Stored[] }> {
  const { book } = await createChain(t.db, prefix);
  const instrument = await createInstrument(t.db);
  const position = await createPosition(t.db, { portfolioNodeId: book.id, instrumentId: instrument.id, quantity: '1' });
  const snapshots: Stored[] = [];
  for (const [i, date] of dates.entries()) {
    // A quantity held on every date asked (back-dated to the day after the trade date), new each time.
    await adjustQuantity(t.db, position.id, String(i + 2), '2000-01-02');
    const res = await graphql(api.url, `mutation($n: ID!, $d: Date!) { createPortfolioSnapshot(nodeId: $n, asOfDate: $d) { created snapshot { id asOfDate } } }`, { n: book.id, d: date });
    expect(res.data?.createPortfolioSnapshot.created).toBe(true);
    snapshots.push(res.data!.createPortfolioSnapshot.snapshot);
  }
  return { nodeId: book.id, snapshots };
}

async function asOf(nodeId: string, date: string): Promise<string | null> {
  const res = await graphql(api.url, `query($id: ID!, $d: Date!) { portfolioNode(id: $id) { snapshotAsOf(date: $d) { id } } }`, { id: nodeId, d: date });
  expect(res.errors).toBeUndefined();
  return res.data!.portfolioNode.snapshotAsOf?.id ?? null;
}

const LIST = `query($id: ID!, $from: Date, $to: Date, $first: Int, $after: String) { portfolioNode(id: $id) {
  snapshots(from: $from, to: $to, first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { id asOfDate } } } } }`;

async function list(nodeId: string, args: Record<string, unknown> = {}): Promise<Connection> {
  const res = await graphql(api.url, LIST, { id: nodeId, ...args });
  expect(res.errors).toBeUndefined();
  return res.data!.portfolioNode.snapshots as Connection;
}

/** Every item, page by page. */
async function walk(nodeId: string, first: number, args: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  let after: string | null = null;
  for (let page = 0; page < 50; page++) {
    const c = await list(nodeId, { ...args, first, after });
    ids.push(...c.edges.map((e) => e.node.id));
    expect(c.edges.length).toBeLessThanOrEqual(first);
    if (!c.pageInfo.hasNextPage) return ids;
    after = c.pageInfo.endCursor;
  }
  throw new Error('too many pages');
}

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, world);
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

describe('portfolioSnapshot', () => {
  it('finds a snapshot by id with its node and stored payload; unknown or malformed ids are null', async () => {
    const { nodeId, snapshots } = await history('ById', ['2026-05-29']);
    const id = snapshots[0]!.id;
    const query = `query($id: ID!) { portfolioSnapshot(id: $id) { id asOfDate payloadHash payload createdAt node { id } } }`;
    const res = await graphql(api.url, query, { id: id.toUpperCase() });
    expect(res.errors).toBeUndefined();
    const found = res.data!.portfolioSnapshot;
    expect(found).toMatchObject({ id, asOfDate: '2026-05-29', node: { id: nodeId } });
    expect(sha256Hex(canonicalJson(found.payload))).toBe(found.payloadHash);
    expect(found.payload.positions[0].quantity).toBe('2');
    for (const other of [randomUUID(), 'not-an-id', '']) {
      const miss = await graphql(api.url, query, { id: other });
      expect(miss.errors).toBeUndefined();
      expect(miss.data!.portfolioSnapshot).toBeNull();
    }
  });
});

describe('PortfolioNode.snapshotAsOf and snapshots', () => {
  const dates = ['2026-03-31', '2026-04-30', '2026-05-29', '2026-06-30', '2026-06-30'];
  let nodeId: string;
  let byDate: Stored[]; // newest first, as listed

  beforeAll(async () => {
    const h = await history('Listed', dates);
    nodeId = h.nodeId;
    byDate = [...h.snapshots].reverse(); // the later of the two 2026-06-30 ones first (newer created_at)
  });

  it('finds the snapshot dated exactly `date`, not from the day before; the newest stored wins a tie', async () => {
    expect(await asOf(nodeId, '2026-04-30')).toBe(byDate[3]!.id);
    expect(await asOf(nodeId, '2026-04-29')).toBe(byDate[4]!.id);
    expect(await asOf(nodeId, '2026-03-31')).toBe(byDate[4]!.id);
    expect(await asOf(nodeId, '2026-03-30')).toBeNull();
    expect(await asOf(nodeId, '2026-06-30')).toBe(byDate[0]!.id);
    expect(await asOf(nodeId, '2031-01-01')).toBe(byDate[0]!.id);
  });

  it('lists newest first with totalCount, filters by from and to (inclusive)', async () => {
    const all = await list(nodeId);
    expect(all.totalCount).toBe(5);
    expect(all.edges.map((e) => e.node)).toEqual(byDate);
    expect(all.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
    const ranged = await list(nodeId, { from: '2026-04-30', to: '2026-06-29' });
    expect(ranged.totalCount).toBe(2);
    expect(ranged.edges.map((e) => e.node.asOfDate)).toEqual(['2026-05-29', '2026-04-30']);
    expect((await list(nodeId, { from: '2026-06-30' })).edges.map((e) => e.node.id)).toEqual([byDate[0]!.id, byDate[1]!.id]);
    expect((await list(nodeId, { to: '2026-03-31' })).totalCount).toBe(1);
    expect(await list(nodeId, { from: '2026-07-01', to: '2026-01-01' })).toMatchObject({ totalCount: 0, edges: [] });
  });

  it('pages with cursors: every item once, in order, whatever the page size', async () => {
    for (const first of [1, 2, 4]) expect(await walk(nodeId, first)).toEqual(byDate.map((s) => s.id));
    expect(await walk(nodeId, 1, { from: '2026-04-01' })).toEqual(byDate.slice(0, 4).map((s) => s.id));
    const empty = await list(nodeId, { first: 0 });
    expect(empty).toMatchObject({ totalCount: 5, edges: [], pageInfo: { hasNextPage: true } });
  });

  it('breaks ties on created_at to the microsecond, then by id', async () => {
    const { book } = await createChain(t.db, 'Ties');
    const stamps = ['2026-01-01 10:00:00.123456+00', '2026-01-01 10:00:00.123456+00', '2026-01-01 10:00:00.123456+00', '2026-01-01 10:00:00.123457+00', '2026-01-01 10:00:00.123455+00'];
    const rows = await t.db.sql.query<{ id: string; created_at: string }>(
      `INSERT INTO portfolio_snapshot (portfolio_node_id, as_of_date, payload_json, payload_hash, created_at)
       SELECT $1, '2026-02-27', '{}', h, c::timestamptz FROM unnest($2::text[], $3::text[]) AS u(h, c) RETURNING id::text, created_at::text`,
      [book.id, stamps.map(() => randomBytes(32).toString('hex')), stamps],
    );
    const expected = [...rows].sort((a, b) => (a.created_at === b.created_at ? (a.id < b.id ? -1 : 1) : a.created_at < b.created_at ? 1 : -1)).map((r) => r.id);
    expect(await walk(book.id, 2)).toEqual(expected);
    expect(await walk(book.id, 1)).toEqual(expected);
    expect(await asOf(book.id, '2026-02-27')).toBe(expected[0]);
    // Hand-made rows (empty payloads) for the ordering only: gone before the database checks that every
    // snapshot reproduces at its createdAt (test/support/snapshotReplay.ts).
    await t.db.sql.query('DELETE FROM portfolio_snapshot WHERE id = ANY($1::uuid[])', [rows.map((r) => r.id)]);
  });

  it('rejects a page over 500 and a cursor it did not hand out with BAD_USER_INPUT', async () => {
    for (const args of [{ first: 501 }, { first: -1 }, { after: 'garbage' }, { after: Buffer.from('["2026-01-01","x","y"]').toString('base64url') }]) {
      const res = await graphql(api.url, LIST, { id: nodeId, ...args });
      expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    }
  });
});

describe('statements of a nested query', () => {
  const NESTED = (withPayload: boolean) => `query($id: ID!) { portfolioNode(id: $id) { children {
    snapshots(first: 2) { totalCount edges { node { id asOfDate node { name } ${withPayload ? 'payload' : ''} } } }
    snapshotAsOf(date: "2026-10-30") { id payloadHash node { id } } } } }`;

  it('reads the snapshots of every child in a fixed number of statements, and payloads only when asked', async () => {
    const fund = world.nodes.filter((n) => n.node_type === 'FUND')[1]!;
    const desks = world.nodes.filter((n) => n.parent_id === fund.id);
    expect(desks.length).toBeGreaterThan(1);
    for (const desk of desks) {
      for (const d of ['2026-09-30', '2026-10-30']) {
        const res = await graphql(api.url, `mutation($n: ID!, $d: Date!) { createPortfolioSnapshot(nodeId: $n, asOfDate: $d) { created } }`, { n: desk.id, d });
        expect(res.data?.createPortfolioSnapshot.created).toBe(true);
      }
    }
    for (const withPayload of [false, true]) {
      const seen: string[] = [];
      const off = t.db.onQuery((e) => seen.push(e.query));
      const res = await graphql(api.url, NESTED(withPayload), { id: fund.id });
      off();
      expect(res.errors).toBeUndefined();
      const children = res.data!.portfolioNode.children as { snapshots: Connection; snapshotAsOf: { id: string } }[];
      expect(children).toHaveLength(desks.length);
      for (const child of children) {
        expect(child.snapshots.totalCount).toBe(2);
        expect(child.snapshotAsOf.id).toBe(child.snapshots.edges[0]!.node.id);
      }
      // The subtree (the node itself and its children, priming the node cache), one page
      // statement, one as-of statement (+ payloads).
      expect(seen).toHaveLength(withPayload ? 4 : 3);
      expect(seen.filter((q) => q.includes('payload_json'))).toHaveLength(withPayload ? 1 : 0);
    }
  });
});
