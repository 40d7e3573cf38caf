// Ratings through HTTP against the real server and database: recordRating
// (normalisation, idempotence, CONFLICT), ReferenceEntity.ratings filters and
// order, the as-of boundary of ReferenceEntity.rating, and batching.
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { DEFAULT_LIMITS } from '../../src/graphql/limits';
import { graphql, startService, type GraphQLResponse, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 300, funds: 2 });
const MISSING = '00000000-0000-4000-8000-000000000000';

const RECORD = `mutation($input: RatingInput!) { recordRating(input: $input) { agency rating score asOfDate entity { id name } } }`;
const record = (input: Record<string, unknown>) => graphql(api.url, RECORD, { input });

async function recorded(input: Record<string, unknown>) {
  const res = await record(input);
  expect(res.errors).toBeUndefined();
  return res.data!.recordRating as { agency: string; rating: string; score: number; asOfDate: string; entity: { id: string } };
}

function expectError(res: GraphQLResponse, code: string, field: string) {
  expect(res.errors).toHaveLength(1);
  expect(res.errors![0]!.extensions).toMatchObject({ code, field });
  expect(res.data?.recordRating ?? null).toBeNull();
}

async function ratingRows(): Promise<number> {
  const [row] = await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM rating_history');
  return row!.n;
}

async function newIssuer(name: string): Promise<string> {
  const res = await graphql(api.url, 'mutation($input: ReferenceEntityInput!) { upsertReferenceEntity(input: $input) { id } }', {
    input: { entityType: 'ISSUER', name },
  });
  expect(res.errors).toBeUndefined();
  return res.data!.upsertReferenceEntity.id;
}

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, world);
  // The batching test asks for 120 aliased fields at once: more than the default alias limit.
  api = await startService(t.db, { limits: { ...DEFAULT_LIMITS, maxAliases: 500 } });
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

describe('recordRating', () => {
  it('records a rating normalised to the agency scale, with its cross-agency score', async () => {
    const id = await newIssuer('Rated Normalised');
    expect(await recorded({ entityId: id, agency: 'SP', rating: ' aaa ', asOfDate: '2025-01-02' })).toEqual({
      agency: 'SP', rating: 'AAA', score: 1, asOfDate: '2025-01-02', entity: { id, name: 'Rated Normalised' },
    });
    expect(await recorded({ entityId: id, agency: 'MOODYS', rating: 'BAA3', asOfDate: '2025-01-02' })).toMatchObject({ rating: 'Baa3', score: 10 });
    expect(await recorded({ entityId: id, agency: 'DBRS', rating: 'bbb  (LOW)', asOfDate: '2025-01-02' })).toMatchObject({ rating: 'BBB (low)', score: 10 });
    expect(await recorded({ entityId: id, agency: 'FITCH', rating: 'rd', asOfDate: '2025-01-02' })).toMatchObject({ rating: 'RD', score: 22 });
    const [row] = await t.db.sql.query<{ d: string }>(`SELECT to_char(as_of_date, 'YYYY-MM-DD') AS d FROM rating_history WHERE entity_id = $1 AND agency = 'SP'`, [id]);
    expect(row!.d).toBe('2025-01-02');
  });

  it('returns the stored rating when the same one is recorded again, writing nothing', async () => {
    const id = await newIssuer('Rated Twice');
    const first = await recorded({ entityId: id, agency: 'SP', rating: 'BBB-', asOfDate: '2025-03-31' });
    const before = await ratingRows();
    const [stored] = await t.db.sql.query<{ id: string; created_at: Date }>('SELECT id::text AS id, created_at FROM rating_history WHERE entity_id = $1', [id]);
    const again = await recorded({ entityId: id, agency: 'SP', rating: ' bbb- ', asOfDate: '2025-03-31' });
    expect(again).toEqual(first);
    expect(await ratingRows()).toBe(before);
    const [after] = await t.db.sql.query<{ id: string; created_at: Date }>('SELECT id::text AS id, created_at FROM rating_history WHERE entity_id = $1', [id]);
    expect(after).toEqual(stored);
  });

  it('records another rating of the same entity, agency and date as a correction, keeping the earlier version', async () => {
    const id = await newIssuer('Rated Correction');
    await recorded({ entityId: id, agency: 'FITCH', rating: 'A', asOfDate: '2025-06-30' });
    const before = await ratingRows();
    const corrected = await record({ entityId: id, agency: 'FITCH', rating: 'A-', asOfDate: '2025-06-30' });
    expect(corrected.errors).toBeUndefined();
    expect(await ratingRows()).toBe(before + 1);
    const versions = await t.db.sql.query<{ rating: string; current: boolean }>(
      `SELECT rating, superseded_at IS NULL AS current FROM rating_history WHERE entity_id = $1 AND agency = 'FITCH' ORDER BY recorded_at`, [id]);
    expect(versions).toEqual([{ rating: 'A', current: false }, { rating: 'A-', current: true }]);
    // The same symbol again is no new version.
    await recorded({ entityId: id, agency: 'FITCH', rating: 'A-', asOfDate: '2025-06-30' });
    expect(await ratingRows()).toBe(before + 1);
    // Another agency or another date is no conflict.
    await recorded({ entityId: id, agency: 'SP', rating: 'A-', asOfDate: '2025-06-30' });
    await recorded({ entityId: id, agency: 'FITCH', rating: 'A-', asOfDate: '2025-07-01' });
  });

  it('shows a rating to later fields of the same operation (loaders do not serve stale lists)', async () => {
    const id = await newIssuer('Rated In One Go');
    const res = await graphql(api.url, `mutation($id: ID!) {
      a: recordRating(input: { entityId: $id, agency: SP, rating: "BB", asOfDate: "2025-01-01" }) { entity { ratings { rating } } }
      b: recordRating(input: { entityId: $id, agency: SP, rating: "BB+", asOfDate: "2025-02-01" }) { entity { ratings { rating } rating(agency: SP, asOf: "2025-12-31") { rating } } }
    }`, { id });
    expect(res.errors).toBeUndefined();
    expect(res.data!.a.entity.ratings).toEqual([{ rating: 'BB' }]);
    expect(res.data!.b.entity).toEqual({ ratings: [{ rating: 'BB+' }, { rating: 'BB' }], rating: { rating: 'BB+' } });
  });

  it('rejects a symbol off the agency scale naming the agency, and an unknown entity', async () => {
    const id = await newIssuer('Rated Badly');
    const before = await ratingRows();
    for (const [agency, rating] of [['MOODYS', 'BBB'], ['SP', 'Baa1'], ['DBRS', 'BBB-'], ['SP', ''], ['FITCH', 'AAAA']]) {
      const res = await record({ entityId: id, agency, rating, asOfDate: '2025-01-02' });
      expectError(res, 'BAD_USER_INPUT', 'input.rating');
      expect(res.errors![0]!.message).toContain(agency as string);
    }
    expectError(await record({ entityId: MISSING, agency: 'SP', rating: 'A', asOfDate: '2025-01-02' }), 'NOT_FOUND', 'input.entityId');
    expectError(await record({ entityId: 'not-an-id', agency: 'SP', rating: 'A', asOfDate: '2025-01-02' }), 'NOT_FOUND', 'input.entityId');
    expect(await ratingRows()).toBe(before);
  });
});

describe('ReferenceEntity.ratings and rating', () => {
  let id: string;
  const history: [string, string, string][] = [
    ['SP', 'A', '2024-01-15'], ['SP', 'A-', '2024-06-28'], ['SP', 'BBB+', '2025-02-03'],
    ['MOODYS', 'A3', '2024-03-01'], ['MOODYS', 'Baa1', '2025-02-03'], ['FITCH', 'A', '2024-06-28'],
  ];
  const RATINGS = `query($id: ID!, $agency: RatingAgency, $from: Date, $to: Date) {
    referenceEntity(id: $id) { ratings(agency: $agency, from: $from, to: $to) { agency rating asOfDate } } }`;
  const ratings = async (vars: Record<string, unknown>) => {
    const res = await graphql(api.url, RATINGS, { id, ...vars });
    expect(res.errors).toBeUndefined();
    return res.data!.referenceEntity.ratings.map((r: { agency: string; asOfDate: string }) => `${r.agency} ${r.asOfDate}`);
  };
  const AS_OF = `query($id: ID!, $agency: RatingAgency!, $asOf: Date!) { referenceEntity(id: $id) { rating(agency: $agency, asOf: $asOf) { rating asOfDate } } }`;
  const asOf = async (agency: string, date: string) => {
    const res = await graphql(api.url, AS_OF, { id, agency, asOf: date });
    expect(res.errors).toBeUndefined();
    return res.data!.referenceEntity.rating;
  };

  beforeAll(async () => {
    id = await newIssuer('Rated History');
    for (const [agency, rating, asOfDate] of history) await recorded({ entityId: id, agency, rating, asOfDate });
  });

  it('lists ratings newest first, filtered by agency and an inclusive date range', async () => {
    expect(await ratings({})).toEqual([
      'MOODYS 2025-02-03', 'SP 2025-02-03', 'FITCH 2024-06-28', 'SP 2024-06-28', 'MOODYS 2024-03-01', 'SP 2024-01-15',
    ]);
    expect(await ratings({ agency: 'SP' })).toEqual(['SP 2025-02-03', 'SP 2024-06-28', 'SP 2024-01-15']);
    expect(await ratings({ from: '2024-03-01', to: '2024-06-28' })).toEqual(['FITCH 2024-06-28', 'SP 2024-06-28', 'MOODYS 2024-03-01']);
    expect(await ratings({ agency: 'SP', from: '2024-06-29' })).toEqual(['SP 2025-02-03']);
    expect(await ratings({ agency: 'SP', to: '2024-06-27' })).toEqual(['SP 2024-01-15']);
    expect(await ratings({ agency: 'DBRS' })).toEqual([]);
    expect(await ratings({ from: '2025-01-01', to: '2024-01-01' })).toEqual([]);
  });

  it('gives the rating in force on asOf: dated exactly asOf counts, later ones are ignored', async () => {
    expect(await asOf('SP', '2024-06-28')).toEqual({ rating: 'A-', asOfDate: '2024-06-28' });
    expect(await asOf('SP', '2024-06-27')).toEqual({ rating: 'A', asOfDate: '2024-01-15' });
    expect(await asOf('SP', '2025-02-02')).toEqual({ rating: 'A-', asOfDate: '2024-06-28' });
    expect(await asOf('SP', '2030-12-31')).toEqual({ rating: 'BBB+', asOfDate: '2025-02-03' });
    expect(await asOf('SP', '2024-01-15')).toEqual({ rating: 'A', asOfDate: '2024-01-15' });
    expect(await asOf('SP', '2024-01-14')).toBeNull();
    expect(await asOf('FITCH', '2024-06-27')).toBeNull();
    expect(await asOf('DBRS', '2030-12-31')).toBeNull();
  });

  it('reaches the rated entity from a rating', async () => {
    const res = await graphql(api.url, `query($id: ID!) { referenceEntity(id: $id) { rating(agency: MOODYS, asOf: "2025-12-31") { score entity { id name } } } }`, { id });
    expect(res.data!.referenceEntity.rating).toEqual({ score: 8, entity: { id, name: 'Rated History' } });
  });
});

describe('batching', () => {
  const issuers = () => world.referenceData.filter((r) => r.entity_type === 'ISSUER').map((r) => r.id);

  async function countStatements(query: string) {
    let count = 0;
    const unsubscribe = t.db.onQuery(() => count++);
    const res = await graphql(api.url, query);
    unsubscribe();
    expect(res.errors).toBeUndefined();
    return { count, data: res.data! };
  }

  it('reads the ratings of many entities in one statement, whatever their arguments', async () => {
    const ids = issuers().slice(0, 20);
    const query = (n: number) => `{ ${ids.slice(0, n).map((id, k) => `e${k}: referenceEntity(id: "${id}") {
      all: ratings { rating } sp: ratings(agency: SP) { rating } recent: ratings(from: "2026-01-01") { rating }
      spNow: rating(agency: SP, asOf: "2026-10-30") { rating } moodysThen: rating(agency: MOODYS, asOf: "2024-12-31") { rating } }`).join(' ')} }`;
    const small = await countStatements(query(2));
    const large = await countStatements(query(20));
    // one entity batch + the ratings lists of three filters together + the as-of lookups of two agencies and dates together
    expect(small.count).toBe(3);
    expect(large.count).toBe(3);
    for (const [k, id] of ids.entries()) {
      const expected = world.ratings.filter((r) => r.entity_id === id && r.agency === 'SP').sort((a, b) => b.as_of_date.localeCompare(a.as_of_date));
      expect(large.data[`e${k}`].sp.map((r: { rating: string }) => r.rating)).toEqual(expected.map((r) => r.rating));
      expect(large.data[`e${k}`].spNow?.rating ?? null).toBe(expected.find((r) => r.as_of_date <= '2026-10-30')?.rating ?? null);
      // Each alias its own arguments, though read in the same statements.
      const mine = world.ratings.filter((r) => r.entity_id === id);
      expect(large.data[`e${k}`].all).toHaveLength(mine.length);
      expect(large.data[`e${k}`].recent).toHaveLength(mine.filter((r) => r.as_of_date >= '2026-01-01').length);
      const moodys = mine.filter((r) => r.agency === 'MOODYS' && r.as_of_date <= '2024-12-31').sort((a, b) => b.as_of_date.localeCompare(a.as_of_date));
      expect(large.data[`e${k}`].moodysThen?.rating ?? null).toBe(moodys[0]?.rating ?? null);
    }
  });
});
