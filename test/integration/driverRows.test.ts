// Hot reads sent through the driver (src/db/driverRows.ts: position pages, subtrees, instruments,
// reference entities and ratings)
// return what Prisma returns for the same rows: Decimals with every digit, DATE columns as UTC
// midnight, timestamps to the millisecond, JSON as objects, NULLs as null, on PostgreSQL and
// PGlite alike, whatever the process's time zone.
import { Prisma } from '../../src/generated/prisma/client';
import { findSubtrees } from '../../src/services/portfolio/nodes';
import { positionPages, positionPagesAsOf } from '../../src/services/portfolio/positions';
import { findInstrumentsByIds } from '../../src/services/reference/instruments';
import { findEntitiesByIds, findEntityChildren, listReferenceEntities } from '../../src/services/reference/entities';
import { findRatingsAsOf, findRatingsOf } from '../../src/services/reference/ratings';
import { findEntitiesAt, findInstrumentsAt } from '../../src/services/reference/versions';
import { findValuationVersions, findVersions, findVersionsOn } from '../../src/services/portfolio/history';
import { latestValuations } from '../../src/services/portfolio/positions';
import { prismaRead } from '../../src/db/driverRows';
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
  await t.db.sql.query(`UPDATE reference_data SET attributes_json = '{"note": "é \\u00e9", "n": [1.5, null]}', created_at = '1969-12-31 23:59:59.999999+00'
    WHERE id = (SELECT id FROM reference_data WHERE entity_type = 'ISSUER' ORDER BY id LIMIT 1)`);
  await t.db.sql.query(`UPDATE rating_history SET recorded_at = '2000-01-01 00:00:00.000001+00', superseded_at = '2026-03-29 01:30:00.123456+02', as_of_date = '1970-01-01'
    WHERE id = (SELECT id FROM rating_history ORDER BY id LIMIT 1)`);
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
  const rows = await findSubtrees(t.db.read, roots, null, null, { counts: [{ statuses: null, asOf: null, knownAt: null }] });
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

it('reference entities by id, children and list pages: every entity as prisma.referenceData.findMany reads it', async () => {
  const all = await t.db.prisma.referenceData.findMany({ orderBy: [{ name: 'asc' }, { id: 'asc' }] });
  const expected = new Map(all.map((e) => [e.id, plain(e)]));
  const byId = await findEntitiesByIds(t.db.read, all.map((e) => e.id));
  expect(byId).toHaveLength(all.length);
  for (const entity of byId) expect(plain(entity)).toEqual(expected.get(entity.id));
  expect(byId.some((e) => e.createdAt.toISOString() === '1969-12-31T23:59:59.999Z' && (e.attributesJson as { n: unknown[] }).n[0] === 1.5)).toBe(true);
  // Through a Prisma client (a transaction's link checks): the same rows.
  for (const entity of await findEntitiesByIds(prismaRead(t.db.prisma), all.slice(0, 20).map((e) => e.id))) expect(plain(entity)).toEqual(expected.get(entity.id));
  const parents = [...new Set(all.flatMap((e) => (e.parentEntityId ? [e.parentEntityId] : [])))];
  const children = await findEntityChildren(t.db.read, parents);
  expect(children.map((e) => e.id)).toEqual(all.filter((e) => e.parentEntityId !== null).map((e) => e.id)); // name, id order
  for (const entity of children) expect(plain(entity)).toEqual(expected.get(entity.id));
  const page = await listReferenceEntities(t.db.read, { first: 500 });
  expect(page.totalCount).toBe(all.length);
  expect(page.rows.map((e) => plain(e))).toEqual(all.slice(0, 500).map((e) => plain(e)));
});

/** The driver's rows are Prisma's, row for row by id. */
const expectSameRows = (read: { id: string }[], byPrisma: object[]) => {
  expect(read.length).toBe(byPrisma.length);
  const expected = new Map(byPrisma.map((r) => [(r as { id: string }).id, plain(r)]));
  for (const row of read) expect(plain(row)).toEqual(expected.get(row.id));
};

it('instruments and entities as recorded at a moment: the same rows as Prisma\'s raw statement reads them', async () => {
  const instrumentIds = (await t.db.sql.query<{ id: string }>('SELECT id::text FROM instrument')).map((r) => r.id);
  const entityIds = (await t.db.sql.query<{ id: string }>('SELECT id::text FROM reference_data')).map((r) => r.id);
  // Now (the edited rows' latest versions) and a moment before the edits (their first versions).
  const [{ before, now }] = (await t.db.sql.query<{ before: string; now: string }>(`
    SELECT to_char(min(recorded_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS before,
           to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS now
    FROM (SELECT recorded_at FROM instrument_version WHERE superseded_at IS NOT NULL) v`)) as [{ before: string; now: string }];
  let compared = 0;
  for (const knownAt of [before, now]) {
    const instruments = await findInstrumentsAt(t.db.read, instrumentIds, knownAt);
    const byPrisma = await t.db.prisma.$queryRaw<object[]>`
      SELECT v.instrument_id::text AS id, v.name, v.asset_class::text AS "assetClass", v.currency, v.isin, v.cusip, v.ticker,
             v.issuer_id::text AS "issuerId", v.maturity_date AS "maturityDate", v.attributes_json AS "attributesJson",
             i.created_at AS "createdAt", v.recorded_at AS "updatedAt", ${knownAt}::text AS "knownAt"
      FROM instrument_version v JOIN instrument i ON i.id = v.instrument_id
      WHERE v.instrument_id = ANY (${instrumentIds}::uuid[]) AND v.recorded_at <= ${knownAt}::timestamptz
        AND (v.superseded_at IS NULL OR v.superseded_at > ${knownAt}::timestamptz)`;
    expectSameRows(instruments, byPrisma);
    const entities = await findEntitiesAt(t.db.read, entityIds, knownAt);
    const entitiesByPrisma = await t.db.prisma.$queryRaw<object[]>`
      SELECT v.entity_id::text AS id, v.entity_type::text AS "entityType", v.name, v.code, v.ticker, v.cusip, v.isin, v.lei,
             v.parent_entity_id::text AS "parentEntityId", v.sector_id::text AS "sectorId", v.geography_id::text AS "geographyId",
             v.ultimate_parent_id::text AS "ultimateParentId", v.attributes_json AS "attributesJson",
             e.created_at AS "createdAt", v.recorded_at AS "updatedAt", ${knownAt}::text AS "knownAt"
      FROM reference_data_version v JOIN reference_data e ON e.id = v.entity_id
      WHERE v.entity_id = ANY (${entityIds}::uuid[]) AND v.recorded_at <= ${knownAt}::timestamptz
        AND (v.superseded_at IS NULL OR v.superseded_at > ${knownAt}::timestamptz)`;
    expectSameRows(entities, entitiesByPrisma);
    compared += instruments.length + entities.length;
  }
  // The edited instrument's maturity far ahead and JSON, as recorded now.
  const edited = (await findInstrumentsAt(t.db.read, instrumentIds, now)).find((i) => i.maturityDate?.toISOString().startsWith('2999-12-31'));
  expect(edited?.attributesJson).toEqual({ coupon: '4.125', nested: { a: [1, null] } });
  expect(compared).toBeGreaterThan(2 * (instrumentIds.length + entityIds.length) - 10);
});

it('ratings: every rating as prisma.ratingHistory.findMany reads it, many keys with different arguments in one statement', async () => {
  const all = await t.db.prisma.ratingHistory.findMany();
  expect(all.length).toBeGreaterThan(10);
  const expected = new Map(all.map((r) => [r.id, plain(r)]));
  const entities = [...new Set(all.map((r) => r.entityId))];
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const dates = [...new Set(all.map((r) => day(r.asOfDate)))].sort();
  const middle = dates[Math.floor(dates.length / 2)]!;
  const filters = [
    { agency: null, from: null, to: null }, { agency: 'SP' as const, from: null, to: null }, { agency: null, from: middle, to: null },
    { agency: 'MOODYS' as const, from: dates[0]!, to: middle },
  ];
  const keys = entities.flatMap((entityId) => filters.map((f) => ({ entityId, ...f })));
  const order = (a: { asOfDate: Date; agency: string; id: string }, b: typeof a) =>
    b.asOfDate.getTime() - a.asOfDate.getTime() || (a.agency < b.agency ? -1 : a.agency > b.agency ? 1 : 0) || (a.id < b.id ? -1 : 1);
  const statements: string[] = [];
  const read = <T>(sql: string, params?: unknown[]) => (statements.push(sql), t.db.read<T>(sql, params));
  const found = await findRatingsOf(read, keys);
  expect(statements).toHaveLength(1);
  expect(found).toHaveLength(keys.length);
  keys.forEach((key, i) => {
    const want = all.filter((r) => r.entityId === key.entityId && r.supersededAt === null && (key.agency === null || r.agency === key.agency)
      && (key.from === null || day(r.asOfDate) >= key.from) && (key.to === null || day(r.asOfDate) <= key.to)).sort(order);
    expect(found[i]!.map((r) => plain(r))).toEqual(want.map((r) => expected.get(r.id)));
  });
  expect(found.some((list) => list.length > 1)).toBe(true);
  // The rating in force on a date as known at a moment, per key: the superseded version as known before it was superseded.
  const old = all.find((r) => day(r.asOfDate) === '1970-01-01')!;
  const asOfKeys = [
    ...entities.flatMap((entityId) => [
      { entityId, agency: 'SP' as const, asOf: middle, knownAt: null },
      { entityId, agency: 'FITCH' as const, asOf: dates[dates.length - 1]!, knownAt: '2999-01-01T00:00:00.000Z' },
    ]),
    { entityId: old.entityId, agency: old.agency, asOf: '1970-01-01', knownAt: '2026-03-01T00:00:00.000Z' },
    { entityId: old.entityId, agency: old.agency, asOf: '1970-01-01', knownAt: null },
  ];
  statements.length = 0;
  const inForce = await findRatingsAsOf(read, asOfKeys);
  expect(statements).toHaveLength(1);
  asOfKeys.forEach((key, i) => {
    const k = key.knownAt === null ? null : new Date(key.knownAt);
    const want = all.filter((r) => r.entityId === key.entityId && r.agency === key.agency && day(r.asOfDate) <= key.asOf
      && (k === null ? r.supersededAt === null : r.recordedAt <= k && (r.supersededAt === null || r.supersededAt > k)))
      .sort((a, b) => b.asOfDate.getTime() - a.asOfDate.getTime())[0];
    expect(inForce[i] ? plain(inForce[i]!) : null).toEqual(want ? expected.get(want.id) : null);
  });
  expect(inForce[inForce.length - 2]).toMatchObject({ id: old.id });
  expect(inForce[inForce.length - 1]).toBeNull();
  expect(inForce.filter((r) => r !== null).length).toBeGreaterThan(entities.length / 2);
});

it('versions and valuations by position, date and moment: as Prisma reads them, many keys with different arguments in one statement', async () => {
  const versions = await t.db.prisma.positionVersion.findMany();
  const valuations = await t.db.prisma.valuationResult.findMany();
  // Corrections are seeded: superseded versions and valuations are read as known before them.
  expect(versions.some((v) => v.supersededAt !== null) && valuations.some((v) => v.supersededAt !== null)).toBe(true);
  const stamps = [...new Set(versions.map((v) => v.recordedAt.getTime()))].sort((a, b) => a - b);
  const moments = [null, new Date(stamps[0]!).toISOString(), new Date(stamps[stamps.length - 1]! + 1).toISOString(), '2000-01-01T00:00:00.000Z'];
  // Positions with corrections first (of their versions or valuations), then others.
  const corrected = [...versions, ...valuations].filter((v) => v.supersededAt !== null).map((v) => v.positionId);
  const positions = [...new Set([...corrected.slice(0, 20), ...versions.map((v) => v.positionId)])].slice(0, 40);
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const dates = [...new Set(valuations.map((v) => day(v.asOfDate)))].sort();
  const known = (r: { recordedAt: Date; supersededAt: Date | null }, k: string | null) =>
    k === null ? r.supersededAt === null : r.recordedAt <= new Date(k) && (r.supersededAt === null || r.supersededAt > new Date(k));
  const statements: string[] = [];
  const read = <T>(sql: string, params?: unknown[]) => (statements.push(sql), t.db.read<T>(sql, params));
  const plainList = (rows: object[]) => rows.map((r) => plain(r));

  const historyKeys = positions.flatMap((positionId) => moments.map((knownAt) => ({ positionId, knownAt })));
  const histories = await findVersions(read, historyKeys);
  historyKeys.forEach((key, i) => {
    const want = versions.filter((v) => v.positionId === key.positionId && known(v, key.knownAt))
      .sort((a, b) => a.validFrom.getTime() - b.validFrom.getTime() || (a.id < b.id ? -1 : 1));
    expect(plainList(histories[i]!)).toEqual(plainList(want));
  });
  expect(histories.some((h) => h.length > 1) && histories.some((h) => h.length === 0)).toBe(true);

  const onKeys = historyKeys.flatMap((k) => [dates[0]!, dates[dates.length - 1]!, '2999-01-01'].map((asOf) => ({ ...k, asOf })));
  const on = await findVersionsOn(read, onKeys);
  onKeys.forEach((key, i) => {
    const want = versions.find((v) => v.positionId === key.positionId && known(v, key.knownAt) && day(v.validFrom) <= key.asOf
      && (v.validTo === null || day(v.validTo) > key.asOf));
    expect(on[i] ? plain(on[i]!) : null).toEqual(want ? plain(want) : null);
  });

  const valuedKeys = onKeys.map(({ positionId, asOf, knownAt }) => ({ positionId, asOf, knownAt }));
  const latest = await latestValuations(read, valuedKeys);
  valuedKeys.forEach((key, i) => {
    const want = valuations.filter((v) => v.positionId === key.positionId && day(v.asOfDate) <= key.asOf && known(v, key.knownAt))
      .sort((a, b) => b.asOfDate.getTime() - a.asOfDate.getTime())[0];
    expect(latest[i] ? plain(latest[i]!) : null).toEqual(want ? plain(want) : null);
  });
  expect(latest.filter((v) => v !== null).length).toBeGreaterThan(10);

  const versionKeys = positions.flatMap((positionId) => dates.map((asOfDate) => ({ positionId, asOfDate })));
  const recorded = await findValuationVersions(read, versionKeys);
  versionKeys.forEach((key, i) => {
    const want = valuations.filter((v) => v.positionId === key.positionId && day(v.asOfDate) === key.asOfDate)
      .sort((a, b) => b.recordedAt.getTime() - a.recordedAt.getTime() || (a.id < b.id ? -1 : 1));
    expect(plainList(recorded[i]!)).toEqual(plainList(want));
  });
  expect(statements).toHaveLength(4);
});
