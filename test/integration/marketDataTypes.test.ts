// RATING, CREDIT_SPREAD and YIELD_CURVE ingestion through HTTP, the as-of date
// and shape checks every feed gets, and the input errors (code and field).
import { isinCheckDigit, leiCheckDigits } from '../../src/domain/identifiers';
import type { ReferenceData } from '../../src/generated/prisma/client';
import { createIssuer } from '../support/factories';
import { graphql, startService, type GraphQLResponse, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
let acme: ReferenceData;
let beta: ReferenceData;

const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
const lei = (body: string) => `${body}${leiCheckDigits(body)}`;
const isin = (body: string) => `${body}${isinCheckDigit(body)}`;
const INGEST = `mutation($input: MarketDataInput!) { ingestMarketData(input: $input) {
  id validationStatus checks { name status message observed threshold } } }`;
const RATINGS = `query($id: ID!) { referenceEntity(id: $id) { ratings { agency rating score asOfDate } } }`;

type Feed = { id: string; validationStatus: string; checks: { name: string; status: string; message: string; observed: any; threshold: any }[] };

const input = (feedType: string, asOfDate: string, payload: unknown, source = 'TEST') => ({
  feedType, asOfDate, source, payload, lineage: { sourceSystem: 'vendor', transformationChain: ['fetch'] },
});

async function ingest(feedType: string, asOfDate: string, payload: unknown, source?: string): Promise<Feed> {
  const res = await graphql(api.url, INGEST, { input: input(feedType, asOfDate, payload, source) });
  expect(res.errors).toBeUndefined();
  return res.data!.ingestMarketData as Feed;
}

async function count(table: string): Promise<number> {
  const [row] = await t.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return row!.n;
}

const failing = (feed: Feed) => feed.checks.filter((c) => c.status !== 'PASS').map((c) => `${c.name}:${c.status}`);
const ratingsOf = async (id: string) => (await graphql(api.url, RATINGS, { id })).data!.referenceEntity.ratings;

beforeAll(async () => {
  t = await createTestDatabase();
  api = await startService(t.db);
  acme = await createIssuer(t.db, { name: 'Acme', lei: lei('529900ACMEACME0000'), isin: isin('US00000ACME'), ticker: 'ACME' });
  beta = await createIssuer(t.db, { name: 'Beta', lei: lei('529900BETABETA0000'), ticker: 'BETA' });
  await createIssuer(t.db, { name: 'Beta twin', ticker: 'TWIN' });
  await createIssuer(t.db, { name: 'Beta twin 2', ticker: 'TWIN' });
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

describe('RATING feeds', () => {
  it('appends the ratings of a PASS feed, entities found by lei, isin, ticker or id', async () => {
    const feed = await ingest('RATING', day(2), { ratings: [
      { entity: { lei: acme.lei!.toLowerCase() }, agency: 'SP', rating: 'a-' },
      { entity: { isin: acme.isin }, agency: 'MOODYS', rating: 'A3' },
      { entity: { ticker: 'beta' }, agency: 'FITCH', rating: 'BBB' },
      { entity: { id: beta.id }, agency: 'DBRS', rating: 'BBB (low)' },
    ] });
    expect(feed.validationStatus).toBe('PASS');
    expect(await ratingsOf(acme.id)).toEqual([
      { agency: 'MOODYS', rating: 'A3', score: 7, asOfDate: day(2) }, { agency: 'SP', rating: 'A-', score: 7, asOfDate: day(2) },
    ]);
    expect(await ratingsOf(beta.id)).toHaveLength(2);
    expect(await count('rating_history')).toBe(4);
  });

  it('skips ratings already recorded with the same symbol', async () => {
    const feed = await ingest('RATING', day(2), { ratings: [{ entity: { ticker: 'ACME' }, agency: 'SP', rating: 'A-' }] }, 'OTHER');
    expect(feed.validationStatus).toBe('PASS');
    expect(feed.checks.find((c) => c.name === 'rating.consistency')!.message).toContain('0 new, 0 restated, 1 already recorded');
    expect(await count('rating_history')).toBe(4);
  });

  it('records a feed that restates a recorded rating as a correction (WARN), keeping the earlier version', async () => {
    const feed = await ingest('RATING', day(2), { ratings: [
      { entity: { lei: beta.lei }, agency: 'SP', rating: 'BBB' },
      { entity: { lei: acme.lei }, agency: 'SP', rating: 'BBB' },
    ] });
    expect(failing(feed)).toEqual(['rating.restated:WARN']);
    expect(await count('rating_history')).toBe(6); // beta's first SP rating, and acme's restated one (its A- stays, superseded)
    const acmeSp = await t.db.sql.query<{ rating: string; current: boolean }>(
      `SELECT rating, superseded_at IS NULL AS current FROM rating_history WHERE entity_id = $1 AND agency = 'SP' ORDER BY recorded_at`, [acme.id]);
    expect(acmeSp).toEqual([{ rating: 'A-', current: false }, { rating: 'BBB', current: true }]);
  });

  it('fails a feed that names one entity and agency twice with two symbols, recording none of its ratings', async () => {
    const feed = await ingest('RATING', day(2), { ratings: [
      { entity: { lei: beta.lei }, agency: 'MOODYS', rating: 'Baa1' },
      { entity: { id: beta.id }, agency: 'MOODYS', rating: 'Baa2' },
    ] });
    expect(failing(feed)).toEqual(['rating.consistency:FAIL']);
    expect(await count('rating_history')).toBe(6);
  });

  it('fails a symbol off the scale, an unknown or ambiguous entity, and changes nothing', async () => {
    const feed = await ingest('RATING', day(1), { ratings: [
      { entity: { lei: acme.lei }, agency: 'SP', rating: 'Baa1' },
      { entity: { lei: lei('529900NOBODY000000') }, agency: 'SP', rating: 'A' },
      { entity: { ticker: 'TWIN' }, agency: 'SP', rating: 'A' },
      { entity: { lei: beta.lei }, agency: 'FITCH', rating: 'A' },
    ] });
    expect(failing(feed)).toEqual(['rating.scale:FAIL', 'rating.entity_known:FAIL']);
    expect(feed.checks.find((c) => c.name === 'rating.entity_known')!.message).toMatch(/no entity has this identifier.*2 entities have this identifier/);
    expect(await count('rating_history')).toBe(6);
    expect(await ratingsOf(beta.id)).toHaveLength(3);
  });
});

describe('CREDIT_SPREAD feeds', () => {
  it('stores a PASS feed as payload only', async () => {
    const [spots, ratings] = [await count('fx_spot'), await count('rating_history')];
    const feed = await ingest('CREDIT_SPREAD', day(3), { spreads: [{ entity: { lei: acme.lei }, tenor: '5Y', bps: '125.5' }, { entity: { ticker: 'BETA' }, tenor: '5Y', bps: 80 }] });
    expect(feed.validationStatus).toBe('PASS');
    expect([await count('fx_spot'), await count('rating_history')]).toEqual([spots, ratings]);
  });

  it('warns on a day-over-day jump beyond 100 bp for the same entity and tenor, however it is named', async () => {
    const feed = await ingest('CREDIT_SPREAD', day(2), { spreads: [{ entity: { isin: acme.isin }, tenor: '60M', bps: '226' }, { entity: { id: beta.id }, tenor: '5Y', bps: '100' }] });
    expect(failing(feed)).toEqual(['spread.jump_vs_previous:WARN']);
    expect(feed.checks.find((c) => c.name === 'spread.jump_vs_previous')).toMatchObject({
      threshold: '100', observed: { max: '100.5', offenders: [{ index: 0, value: '100.5', previousBps: '125.5' }] },
    });
  });

  it('fails a negative spread and an unknown entity', async () => {
    const feed = await ingest('CREDIT_SPREAD', day(5), { spreads: [{ entity: { lei: acme.lei }, tenor: '5Y', bps: '-1' }, { entity: { ticker: 'NOPE' }, tenor: '5Y', bps: '1' }] });
    expect(failing(feed)).toEqual(['spread.non_negative:FAIL', 'spread.entity_known:FAIL']);
  });
});

describe('YIELD_CURVE feeds and the checks of every feed', () => {
  const points = (dfs: string[], tenors = ['1Y', '2Y', '5Y', '10Y', '30Y']) =>
    tenors.map((tenor, i) => ({ tenor, rate: '0.04', discountFactor: dfs[i] }));
  const CURVE = { currency: 'USD', points: points(['0.96', '0.92', '0.82', '0.67', '0.30']) };

  it('passes a complete decreasing curve and stores it as payload only', async () => {
    const feeds = await count('market_data_feed');
    expect((await ingest('YIELD_CURVE', day(0), CURVE)).validationStatus).toBe('PASS');
    expect(await count('market_data_feed')).toBe(feeds + 1);
  });

  it('fails a missing tenor and an increasing discount factor', async () => {
    expect(failing(await ingest('YIELD_CURVE', day(0), { currency: 'USD', points: points(['0.96', '0.92', '0.82', '0.67'], ['1Y', '2Y', '5Y', '10Y']) })))
      .toEqual(['curve.required_tenors:FAIL']);
    expect(failing(await ingest('YIELD_CURVE', day(0), { currency: 'USD', points: points(['0.96', '0.97', '0.82', '0.67', '1.2']) })))
      .toEqual(['curve.discount_factor_range:FAIL', 'curve.discount_factor_monotonic:FAIL']);
  });

  it('fails an as-of date in the future and warns on one older than 7 days', async () => {
    const future = await ingest('YIELD_CURVE', day(-1), CURVE);
    expect(failing(future)).toEqual(['asOfDate.not_future:FAIL']);
    const stale = await ingest('YIELD_CURVE', day(8), CURVE);
    expect(stale.validationStatus).toBe('WARN');
    expect(stale.checks.find((c) => c.name === 'asOfDate.fresh')).toMatchObject({ status: 'WARN', observed: 8, threshold: 7 });
    expect((await ingest('YIELD_CURVE', day(7), CURVE)).validationStatus).toBe('PASS');
  });

  it.each([
    ['YIELD_CURVE', 'hello'], ['RATING', []], ['FX_SPOT', { rates: 'EURUSD' }], ['CREDIT_SPREAD', 42],
  ])('stores a %s feed with a payload of the wrong shape as FAIL, with a clear message', async (feedType, payload) => {
    const feed = await ingest(feedType, day(0), payload);
    expect(feed.validationStatus).toBe('FAIL');
    expect(feed.checks.map((c) => c.name)).toEqual(['asOfDate.not_future', 'asOfDate.fresh', 'payload.shape']);
    expect(feed.checks[2]!.message).toMatch(/must be (an object|an array)/);
  });
});

describe('input errors', () => {
  const expectError = (res: GraphQLResponse, field: string) => {
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(res.data?.ingestMarketData ?? null).toBeNull();
  };
  const send = (overrides: Record<string, unknown>) => graphql(api.url, INGEST, { input: { ...input('FX_SPOT', day(0), { rates: [] }), ...overrides } });

  it('names the offending field of the request', async () => {
    expectError(await send({ source: '  ' }), 'input.source');
    expectError(await send({ lineage: { sourceSystem: '', transformationChain: [] } }), 'input.lineage.sourceSystem');
    expectError(await send({ lineage: { sourceSystem: 's', transformationChain: ['ok', ' '] } }), 'input.lineage.transformationChain[1]');
    expectError(await send({ asOfDate: '2025-02-30' }), 'input.asOfDate');
    expectError(await send({ feedType: 'BOND' }), 'input.feedType');
  });

  it('bounds the payload: entries, nesting, unstorable text', async () => {
    const feeds = await count('market_data_feed');
    const rates = Array.from({ length: 10_001 }, () => ({ pair: 'EURUSD', rate: '1.1' }));
    expectError(await send({ payload: { rates } }), 'input.payload.rates');
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = [deep];
    expectError(await send({ payload: { rates: deep } }), 'input.payload');
    expectError(await send({ payload: { rates: [{ pair: 'EUR\u0000USD', rate: '1' }] } }), 'input.payload');
    expectError(await send({ payload: { rates: [{ pair: '\ud800', rate: '1' }] } }), 'input.payload');
    const body = JSON.stringify({ query: INGEST, variables: { input: input('FX_SPOT', day(0), { rates: [{ pair: 'EURUSD', rate: 0 }] }) } });
    const response = await fetch(`${api.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body.replace('"rate":0', '"rate":1e400') });
    expectError({ ...((await response.json()) as object), status: response.status, headers: response.headers }, 'input.payload');
    expect(await count('market_data_feed')).toBe(feeds);
  });
});
