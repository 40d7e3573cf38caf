// Hot reads sent through the driver (src/db/driverRows.ts: position pages, instruments by id)
// return what Prisma returns for the same rows: Decimals with every digit, DATE columns as UTC
// midnight, timestamps to the millisecond, JSON as objects, NULLs as null, on PostgreSQL and
// PGlite alike, whatever the process's time zone.
import { Prisma } from '../../src/generated/prisma/client';
import { findSubtrees } from '../../src/services/portfolio/nodes';
import { positionPages, positionPagesAsOf } from '../../src/services/portfolio/positions';
import { findInstrumentsByIds } from '../../src/services/reference/instruments';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 300, funds: 1 }));
  // Values at the edges of what the columns hold: 18 integer and 10 fraction digits, a negative
  // quantity, a DATE near the epoch and one far ahead, timestamps with microseconds and before 1970.
  await t.db.sql.query(`UPDATE position SET quantity = '-123456789012345678.0123456789', created_at = '1969-12-31 23:59:59.999999+00', updated_at = '2026-03-29 01:30:00.123456+02'
    WHERE id = (SELECT id FROM position ORDER BY id LIMIT 1)`);
  await t.db.sql.query(`UPDATE instrument SET maturity_date = '2999-12-31', attributes_json = '{"coupon": "4.125", "nested": {"a": [1, null]}}', created_at = '2000-02-29 12:00:00.000999+00'
    WHERE id = (SELECT id FROM instrument ORDER BY id LIMIT 1)`);
  await t.db.sql.query(`UPDATE instrument SET maturity_date = '1970-01-01' WHERE id = (SELECT id FROM instrument ORDER BY id DESC LIMIT 1)`);
}, 120_000);

afterAll(async () => {
  await t?.drop();
});

/** Values as comparable plain data: Decimals by their exact text, Dates by their time. */
const plain = (row: object) =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Prisma.Decimal.isDecimal(v) ? `Decimal ${v.toFixed()}` : v instanceof Date ? `Date ${v.toISOString()}` : v]));

it('position pages: every position as prisma.position.findMany reads it', async () => {
  const nodes = (await t.db.sql.query<{ id: string }>('SELECT id::text FROM portfolio_node')).map((r) => r.id);
  const pages = await positionPages(t.db.read, nodes, { first: 500 }, null);
  const read = [...pages.values()].flatMap((p) => p.rows);
  expect(read.length).toBe((await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM position'))[0]!.n);
  const byPrisma = await t.db.prisma.position.findMany({
    where: { id: { in: read.map((p) => p.id) } },
    select: { id: true, portfolioNodeId: true, instrumentId: true, quantity: true, baseCcy: true, status: true, openedOn: true, closedOn: true, stateFrom: true, createdAt: true, updatedAt: true },
  });
  const expected = new Map(byPrisma.map((p) => [p.id, plain(p)]));
  for (const position of read) expect(plain(position)).toEqual(expected.get(position.id));
  const edge = read.find((p) => p.quantity.isNegative())!;
  expect(edge.quantity.toFixed()).toBe('-123456789012345678.0123456789');
  expect(edge.createdAt.toISOString()).toBe('1969-12-31T23:59:59.999Z');
  expect(edge.updatedAt.toISOString()).toBe('2026-03-28T23:30:00.123Z');
  expect(read.some((p) => p.closedOn !== null)).toBe(true);
});

it('position pages as of a date (and as known at a moment): the same rows as prisma.position.findMany reads them', async () => {
  const nodes = (await t.db.sql.query<{ id: string }>('SELECT id::text FROM portfolio_node')).map((r) => r.id);
  const status = ['ACTIVE', 'CLOSED', 'DELETED'] as never;
  // Far ahead, every position is in its latest state: each is read once.
  const now = await positionPagesAsOf(t.db.read, nodes, { first: 500, status, asOf: '2999-01-01', knownAt: null }, null);
  const read = [...now.values()].flatMap((p) => p.rows);
  expect(read.length).toBe((await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM position'))[0]!.n);
  const [{ at }] = (await t.db.sql.query<{ at: string }>(`SELECT to_char(max(recorded_at) - interval '1 day', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM position_version`)) as [{ at: string }];
  const known = [...(await positionPagesAsOf(t.db.read, nodes, { first: 500, status, asOf: '2026-06-30', knownAt: at }, null)).values()].flatMap((p) => p.rows);
  expect(known.length).toBeGreaterThan(0);
  const byPrisma = await t.db.prisma.position.findMany({
    where: { id: { in: [...read, ...known].map((p) => p.id) } },
    select: { id: true, portfolioNodeId: true, instrumentId: true, quantity: true, baseCcy: true, status: true, openedOn: true, closedOn: true, stateFrom: true, createdAt: true, updatedAt: true },
  });
  const expected = new Map(byPrisma.map((p) => [p.id, plain(p)]));
  for (const position of [...read, ...known]) expect(plain(position)).toEqual(expected.get(position.id));
  expect(read.find((p) => p.quantity.isNegative())!.createdAt.toISOString()).toBe('1969-12-31T23:59:59.999Z');
});

it('subtrees: every node as prisma.portfolioNode.findMany reads it', async () => {
  await t.db.sql.query(`UPDATE portfolio_node SET created_at = '1969-12-31 23:59:59.999999+00', updated_at = '2026-03-29 01:30:00.123456+02'
    WHERE id = (SELECT id FROM portfolio_node WHERE parent_id IS NOT NULL ORDER BY id LIMIT 1)`);
  const roots = (await t.db.sql.query<{ id: string }>('SELECT id::text FROM portfolio_node WHERE parent_id IS NULL')).map((r) => r.id);
  const rows = await findSubtrees(t.db.read, roots, null, null, { counts: [null] });
  expect(rows.length).toBe((await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolio_node'))[0]!.n);
  const expected = new Map((await t.db.prisma.portfolioNode.findMany()).map((n) => [n.id, plain(n)]));
  for (const { rootId: _r, level: _l, counts: _c, rootDepth: _d, ...node } of rows) expect(plain(node)).toEqual(expected.get(node.id));
  expect(rows.map((r) => r.createdAt.toISOString())).toContain('1969-12-31T23:59:59.999Z');
  expect(rows.map((r) => r.updatedAt.toISOString())).toContain('2026-03-28T23:30:00.123Z');
});

it('instruments by id: every instrument as prisma.instrument.findMany reads it', async () => {
  const ids = (await t.db.sql.query<{ id: string }>('SELECT id::text FROM instrument')).map((r) => r.id);
  const read = await findInstrumentsByIds(t.db.read, ids);
  expect(read).toHaveLength(ids.length);
  const byPrisma = await t.db.prisma.instrument.findMany({ where: { id: { in: ids } } });
  const expected = new Map(byPrisma.map((i) => [i.id, plain(i)]));
  for (const instrument of read) expect(plain(instrument)).toEqual(expected.get(instrument.id));
  expect(read.map((i) => i.maturityDate?.toISOString())).toEqual(expect.arrayContaining(['2999-12-31T00:00:00.000Z', '1970-01-01T00:00:00.000Z']));
  expect(read.find((i) => i.maturityDate?.getUTCFullYear() === 2999)!.attributesJson).toEqual({ coupon: '4.125', nested: { a: [1, null] } });
});
