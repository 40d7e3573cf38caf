// Reference entities through HTTP against the real server and database:
// reads, the paged list, upsertReferenceEntity with every error it reports,
// and a bound on the SQL statements of a deep nested query.
import { isinCheckDigit, leiCheckDigits } from '../../src/domain/identifiers';
import { DomainError } from '../../src/errors';
import { withConflicts } from '../../src/services/prismaErrors';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS, type ReferenceRow } from '../../src/services/seed/world';
import { graphql, startService, type GraphQLResponse, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 300, funds: 2 });
const MISSING = '00000000-0000-4000-8000-000000000000';

const lei = (body: string) => `${body}${leiCheckDigits(body)}`;
const isin = (body: string) => `${body}${isinCheckDigit(body)}`;
/** The same identifier with its last (check) digit changed. */
const wrongCheck = (id: string) => `${id.slice(0, -1)}${(Number(id.slice(-1)) + 1) % 10}`;

const ref = (pred: (r: ReferenceRow) => boolean) => world.referenceData.find(pred)!;
const industryGroup = ref((r) => r.entity_type === 'SECTOR' && r.parent_entity_id !== null);
const topSector = ref((r) => r.entity_type === 'SECTOR' && r.parent_entity_id === null);
const country = ref((r) => r.entity_type === 'GEOGRAPHY' && r.parent_entity_id !== null);
const region = ref((r) => r.entity_type === 'GEOGRAPHY' && r.parent_entity_id === null);
const parentIssuer = ref((r) => r.entity_type === 'ISSUER' && world.referenceData.some((c) => c.parent_entity_id === r.id));

const ENTITY = 'id entityType name code ticker cusip isin lei attributes parent { id } sector { id } geography { id }';
const UPSERT = `mutation($input: ReferenceEntityInput!) { upsertReferenceEntity(input: $input) { ${ENTITY} } }`;
const upsert = (input: Record<string, unknown>) => graphql(api.url, UPSERT, { input });

async function created(input: Record<string, unknown>) {
  const res = await upsert(input);
  expect(res.errors).toBeUndefined();
  return res.data!.upsertReferenceEntity as { id: string; [k: string]: unknown };
}

function expectError(res: GraphQLResponse, code: string, field?: string) {
  expect(res.errors).toHaveLength(1);
  expect(res.errors![0]!.extensions).toMatchObject(field ? { code, field } : { code });
  expect(res.data?.upsertReferenceEntity ?? null).toBeNull();
}

async function referenceRows(): Promise<number> {
  const [row] = await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM reference_data');
  return row!.n;
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

describe('reading entities', () => {
  it('reads an entity with its parent, children, sector, geography and attributes', async () => {
    const res = await graphql(api.url, `query($id: ID!) { referenceEntity(id: $id) { ${ENTITY} children { id name } } }`, { id: parentIssuer.id });
    expect(res.errors).toBeUndefined();
    const e = res.data!.referenceEntity;
    expect(e).toMatchObject({ id: parentIssuer.id, entityType: 'ISSUER', name: parentIssuer.name, lei: parentIssuer.lei, attributes: {} });
    expect(e.sector).toEqual({ id: parentIssuer.sector_id });
    expect(e.geography).toEqual({ id: parentIssuer.geography_id });
    const children = world.referenceData.filter((r) => r.parent_entity_id === parentIssuer.id);
    expect(e.children.map((c: { id: string }) => c.id).sort()).toEqual(children.map((c) => c.id).sort());
    const names = e.children.map((c: { name: string }) => c.name);
    const [ordered] = await Promise.all([t.db.sql.query<{ name: string }>('SELECT name FROM reference_data WHERE parent_entity_id = $1 ORDER BY name, id', [parentIssuer.id])]);
    expect(names).toEqual(ordered.map((r) => r.name));
  });

  it('gives a region its countries and a country its region; attributes come from attributes_json', async () => {
    const res = await graphql(api.url, 'query($id: ID!) { referenceEntity(id: $id) { code attributes parent { id code attributes } children { code } } }', { id: country.id });
    expect(res.data!.referenceEntity).toMatchObject({ code: country.code, attributes: { level: 'country' }, parent: { id: region.id, attributes: { level: 'region' } }, children: [] });
  });

  it('answers null for an unknown or malformed id', async () => {
    for (const id of [MISSING, 'not-a-uuid', '']) {
      const res = await graphql(api.url, 'query($id: ID!) { referenceEntity(id: $id) { id } }', { id });
      expect(res.errors).toBeUndefined();
      expect(res.data!.referenceEntity).toBeNull();
    }
  });
});

describe('referenceEntities', () => {
  const LIST = `query($type: ReferenceEntityType, $search: String, $first: Int, $after: String) {
    referenceEntities(entityType: $type, search: $search, first: $first, after: $after) {
      totalCount edges { cursor node { id name } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`;

  async function walk(vars: Record<string, unknown>, first: number) {
    const ids: string[] = [];
    const totals = new Set<number>();
    let after: string | null = null;
    for (let page = 0; page < 1000; page++) {
      const res: GraphQLResponse<Record<string, any>> = await graphql(api.url, LIST, { ...vars, first, after });
      expect(res.errors).toBeUndefined();
      const conn = res.data!.referenceEntities as { totalCount: number; edges: { cursor: string; node: { id: string } }[]; pageInfo: Record<string, any> };
      totals.add(conn.totalCount);
      expect(conn.edges.length).toBeLessThanOrEqual(first);
      expect(conn.pageInfo.hasPreviousPage).toBe(after !== null);
      ids.push(...conn.edges.map((e) => e.node.id));
      if (!conn.pageInfo.hasNextPage) break;
      expect(conn.edges).toHaveLength(first);
      expect(conn.pageInfo.endCursor).toBe(conn.edges[first - 1]!.cursor);
      after = conn.pageInfo.endCursor;
    }
    return { ids, totals: [...totals] };
  }

  it('walks every page of 7 in name-then-id order, as the database orders them', async () => {
    const expected = await t.db.sql.query<{ id: string }>('SELECT id::text AS id FROM reference_data ORDER BY name, id');
    const { ids, totals } = await walk({}, 7);
    expect(ids).toEqual(expected.map((r) => r.id));
    expect(totals).toEqual([expected.length]);
    const again = await walk({}, 7);
    expect(again.ids).toEqual(ids);
  });

  it('filters by type and searches names (case-insensitive) across pages', async () => {
    const issuers = await t.db.sql.query<{ id: string }>(`SELECT id::text AS id FROM reference_data WHERE entity_type = 'ISSUER' ORDER BY name, id`);
    const byType = await walk({ type: 'ISSUER' }, 7);
    expect(byType.ids).toEqual(issuers.map((r) => r.id));
    expect(byType.totals).toEqual([issuers.length]);
    const stem = parentIssuer.name.split(' ')[0]!;
    const matching = await t.db.sql.query<{ id: string }>(`SELECT id::text AS id FROM reference_data WHERE name ILIKE $1 ORDER BY name, id`, [`%${stem}%`]);
    expect(matching.length).toBeGreaterThan(1);
    const bySearch = await walk({ search: `  ${stem.toUpperCase()} ` }, 1);
    expect(bySearch.ids).toEqual(matching.map((r) => r.id));
    expect(bySearch.totals).toEqual([matching.length]);
  });

  it('finds an entity by its exact code, LEI or ticker, normalised; LIKE wildcards are literal', async () => {
    const usd = ref((r) => r.entity_type === 'CURRENCY' && r.code === 'USD');
    const byCode = await graphql(api.url, LIST, { search: ' usd ', type: 'CURRENCY' });
    expect(byCode.data!.referenceEntities.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([usd.id]);
    const byLei = await graphql(api.url, LIST, { search: parentIssuer.lei!.toLowerCase() });
    expect(byLei.data!.referenceEntities.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([parentIssuer.id]);
    for (const search of ['%', '_', '\\']) {
      const res = await graphql(api.url, LIST, { search });
      expect(res.errors).toBeUndefined();
      expect(res.data!.referenceEntities.totalCount).toBe(0);
    }
    const long = await graphql(api.url, LIST, { search: 'x'.repeat(150) });
    expect(long.data!.referenceEntities.totalCount).toBe(0);
  });

  it('rejects a page over 500, a negative page and a foreign cursor; first: 0 is an empty page', async () => {
    for (const first of [501, -1]) {
      const res = await graphql(api.url, LIST, { first });
      expect(res.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
      expect(res.data?.referenceEntities ?? null).toBeNull();
    }
    const forged = Buffer.from(JSON.stringify(['A', 'not-a-uuid'])).toString('base64url');
    for (const after of ['garbage', forged, Buffer.from('[1]').toString('base64url')]) {
      const res = await graphql(api.url, LIST, { after });
      expect(res.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    }
    const empty = await graphql(api.url, LIST, { first: 0 });
    expect(empty.data!.referenceEntities).toMatchObject({ edges: [], pageInfo: { hasNextPage: true, startCursor: null, endCursor: null } });
    const max = await graphql(api.url, LIST, { first: 500 });
    expect(max.errors).toBeUndefined();
  });
});

describe('upsertReferenceEntity', () => {
  it('creates, then updates by id, by LEI, by ISIN and by type and code; omitted fields are kept', async () => {
    const leiA = lei('5299000TESTAAAA001');
    const made = await created({
      entityType: 'ISSUER', name: '  Acme Holdings  ', code: 'acme.h', lei: leiA.toLowerCase(), ticker: ' acme ',
      sectorId: industryGroup.id, geographyId: country.id, attributes: { rating: 'internal', tier: 1 },
    });
    expect(made).toMatchObject({ name: 'Acme Holdings', code: 'ACME.H', lei: leiA, ticker: 'ACME', attributes: { rating: 'internal', tier: 1 }, sector: { id: industryGroup.id }, geography: { id: country.id } });
    const before = await referenceRows();
    const byId = await created({ id: made.id, entityType: 'ISSUER', name: 'Acme Holdings plc' });
    expect(byId).toMatchObject({ id: made.id, name: 'Acme Holdings plc', code: 'ACME.H', lei: leiA, sector: { id: industryGroup.id } });
    const byLei = await created({ entityType: 'ISSUER', name: 'Acme Holdings PLC', lei: leiA, isin: isin('GB00ACME000') });
    expect(byLei).toMatchObject({ id: made.id, name: 'Acme Holdings PLC', isin: isin('GB00ACME000') });
    const byIsin = await created({ entityType: 'ISSUER', name: 'Acme', isin: isin('GB00ACME000').toLowerCase(), ticker: null });
    expect(byIsin).toMatchObject({ id: made.id, ticker: null, lei: leiA });
    const byCode = await created({ entityType: 'ISSUER', name: 'Acme Group', code: 'ACME.H', attributes: null, sectorId: null });
    expect(byCode).toMatchObject({ id: made.id, name: 'Acme Group', attributes: {}, sector: null, geography: { id: country.id } });
    expect(await referenceRows()).toBe(before);
  });

  it('validates codes by entity type', async () => {
    const ok = await created({ entityType: 'GEOGRAPHY', name: 'Test Region', code: '419', parentId: null });
    expect(ok.code).toBe('419');
    const bad: [string, string][] = [['CURRENCY', 'ABC'], ['CURRENCY', 'US'], ['GEOGRAPHY', 'ZZ'], ['GEOGRAPHY', '12'], ['SECTOR', 'bad code'], ['ISSUER', '-LEADING'], ['SECTOR', 'X'.repeat(17)]];
    const before = await referenceRows();
    for (const [entityType, code] of bad) expectError(await upsert({ entityType, name: 'Bad code', code }), 'BAD_USER_INPUT', 'input.code');
    expect(await referenceRows()).toBe(before);
  });

  it('rejects bad names, identifiers and attributes naming the field, writing nothing', async () => {
    const before = await referenceRows();
    const good = lei('5299000TESTBBBB001');
    const cases: [Record<string, unknown>, string][] = [
      [{ name: '   ' }, 'input.name'],
      [{ name: 'x'.repeat(201) }, 'input.name'],
      [{ lei: wrongCheck(good) }, 'input.lei'],
      [{ isin: wrongCheck(isin('US0378331AA')) }, 'input.isin'],
      [{ cusip: '037833AA9' }, 'input.cusip'],
      [{ ticker: 'bad$ticker' }, 'input.ticker'],
      [{ attributes: { blob: 'x'.repeat(17_000) } }, 'input.attributes'],
    ];
    for (const [fields, field] of cases) {
      expectError(await upsert({ entityType: 'ISSUER', name: 'Valid name', lei: good, ...fields }), 'BAD_USER_INPUT', field);
    }
    expect(await referenceRows()).toBe(before);
  });

  it('checks the parent, sector and geography links', async () => {
    const before = await referenceRows();
    const base = { entityType: 'ISSUER', name: 'Linked Issuer' };
    expectError(await upsert({ ...base, parentId: MISSING }), 'NOT_FOUND', 'input.parentId');
    expectError(await upsert({ ...base, parentId: 'nope' }), 'NOT_FOUND', 'input.parentId');
    expectError(await upsert({ ...base, parentId: industryGroup.id }), 'BAD_USER_INPUT', 'input.parentId');
    expectError(await upsert({ ...base, sectorId: MISSING }), 'NOT_FOUND', 'input.sectorId');
    expectError(await upsert({ ...base, sectorId: country.id }), 'BAD_USER_INPUT', 'input.sectorId');
    expectError(await upsert({ ...base, geographyId: MISSING }), 'NOT_FOUND', 'input.geographyId');
    expectError(await upsert({ ...base, geographyId: topSector.id }), 'BAD_USER_INPUT', 'input.geographyId');
    expectError(await upsert({ ...base, id: MISSING }), 'NOT_FOUND', 'input.id');
    expect(await referenceRows()).toBe(before);
  });

  it('refuses a parent that would make a cycle, and a change of entity type', async () => {
    const top = await created({ entityType: 'SECTOR', name: 'Cycle Top', code: 'CYC.TOP' });
    const mid = await created({ entityType: 'SECTOR', name: 'Cycle Mid', code: 'CYC.MID', parentId: top.id });
    const leaf = await created({ entityType: 'SECTOR', name: 'Cycle Leaf', code: 'CYC.LEAF', parentId: mid.id });
    expectError(await upsert({ id: top.id, entityType: 'SECTOR', name: 'Cycle Top', parentId: leaf.id }), 'HIERARCHY_VIOLATION', 'input.parentId');
    expectError(await upsert({ id: top.id, entityType: 'SECTOR', name: 'Cycle Top', parentId: top.id }), 'HIERARCHY_VIOLATION', 'input.parentId');
    expectError(await upsert({ entityType: 'SECTOR', name: 'Cycle Top renamed', code: 'cyc.top', parentId: mid.id }), 'HIERARCHY_VIOLATION', 'input.parentId');
    const top2 = await graphql(api.url, 'query($id: ID!) { referenceEntity(id: $id) { name parent { id } } }', { id: top.id });
    expect(top2.data!.referenceEntity).toEqual({ name: 'Cycle Top', parent: null });
    // Moving a subtree elsewhere (no cycle) is fine.
    const moved = await created({ id: leaf.id, entityType: 'SECTOR', name: 'Cycle Leaf', parentId: top.id });
    expect(moved.parent).toEqual({ id: top.id });
    expectError(await upsert({ id: top.id, entityType: 'ISSUER', name: 'Cycle Top' }), 'BAD_USER_INPUT', 'input.entityType');
    expectError(await upsert({ entityType: 'GEOGRAPHY', name: 'By LEI', lei: parentIssuer.lei }), 'BAD_USER_INPUT', 'input.entityType');
  });

  it('answers CONFLICT when identifiers name two different entities, writing nothing', async () => {
    const a = await created({ entityType: 'ISSUER', name: 'Conflict A', lei: lei('5299000CONFAAAA001'), code: 'CONF.A' });
    const b = await created({ entityType: 'ISSUER', name: 'Conflict B', lei: lei('5299000CONFBBBB001'), isin: isin('US00CONFB00') });
    const before = await referenceRows();
    expectError(await upsert({ entityType: 'ISSUER', name: 'Both', lei: lei('5299000CONFAAAA001'), isin: isin('US00CONFB00') }), 'CONFLICT', 'input.isin');
    expectError(await upsert({ entityType: 'ISSUER', name: 'Both', lei: lei('5299000CONFBBBB001'), code: 'conf.a' }), 'CONFLICT', 'input.code');
    expectError(await upsert({ id: a.id, entityType: 'ISSUER', name: 'A', lei: lei('5299000CONFBBBB001') }), 'CONFLICT', 'input.lei');
    expectError(await upsert({ id: b.id, entityType: 'ISSUER', name: 'B', code: 'CONF.A' }), 'CONFLICT', 'input.code');
    expect(await referenceRows()).toBe(before);
    const unchanged = await graphql(api.url, 'query($id: ID!) { referenceEntity(id: $id) { name lei code } }', { id: b.id });
    expect(unchanged.data!.referenceEntity).toMatchObject({ name: 'Conflict B', code: null });
  });

  it('maps a unique violation raised by the database to CONFLICT on the input field', async () => {
    const attempt = (data: { entityType: 'ISSUER' | 'CURRENCY'; name: string; lei?: string; code?: string }) =>
      withConflicts(
        [
          { index: 'reference_data_lei_key', columns: ['lei'], field: 'input.lei' },
          { index: 'reference_data_entity_type_code_key', columns: ['entity_type', 'code'], field: 'input.code' },
        ],
        'entity',
        () => t.db.prisma.$transaction((tx) => tx.referenceData.create({ data })),
      );
    const before = await referenceRows();
    await expect(attempt({ entityType: 'ISSUER', name: 'Dup', lei: parentIssuer.lei! })).rejects.toMatchObject({ code: 'CONFLICT', field: 'input.lei' });
    await expect(attempt({ entityType: 'CURRENCY', name: 'Dup', code: 'USD' })).rejects.toBeInstanceOf(DomainError);
    await expect(attempt({ entityType: 'CURRENCY', name: 'Dup', code: 'USD' })).rejects.toMatchObject({ code: 'CONFLICT', field: 'input.code' });
    expect(await referenceRows()).toBe(before);
  });
});

describe('statement count', () => {
  const DEEP = `query($n: Int) { referenceEntities(entityType: ISSUER, first: $n) { edges { node {
    name parent { name } sector { name parent { name } } geography { name parent { name } }
    ratings { rating score } rating(agency: SP, asOf: "2026-10-30") { rating } children { name } } } } }`;

  async function statementsFor(n: number) {
    const statements: string[] = [];
    const unsubscribe = t.db.onQuery((e) => statements.push(e.query));
    let res: GraphQLResponse<Record<string, any>>;
    try {
      res = await graphql(api.url, DEEP, { n });
    } finally {
      unsubscribe();
    }
    expect(res.errors).toBeUndefined();
    return { count: statements.length, rows: res.data!.referenceEntities.edges.length as number };
  }

  it('is the same for 3 and for 40 issuers: it grows with depth, not with rows', async () => {
    const [row] = await t.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM reference_data WHERE entity_type = 'ISSUER'`);
    const n = row!.n;
    for (let i = n; i < 40; i++) {
      await created({ entityType: 'ISSUER', name: `Zz Padding Issuer ${i}`, sectorId: industryGroup.id, geographyId: country.id, parentId: parentIssuer.id });
    }
    const small = await statementsFor(3);
    const large = await statementsFor(40);
    expect(small.rows).toBe(3);
    expect(large.rows).toBe(40);
    expect(large.count).toBe(small.count);
    // list + count, one loader batch per relation level: parents/sectors/geographies, their parents, ratings, as-of rating, children.
    expect(small.count).toBeLessThanOrEqual(7);
  });
});
