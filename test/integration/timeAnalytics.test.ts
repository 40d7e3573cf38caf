// Analytics on both clocks through HTTP: a figure about the past never changes
// unless the past was corrected, and a question pinned at (asOf, knownAt) gets
// the same answer byte for byte whatever is written later (cached or not);
// holdingsChange between dates and between moments of knowledge; FX feeds
// restated, ratings corrected, issuers reclassified as of a moment; snapshots
// reproducible at their own createdAt.
import { hashSnapshotPayload, snapshotPayload } from '../../src/domain/snapshot';
import { readSnapshotContent } from '../../src/services/snapshots/build';
import { createChain, createInstrument, createIssuer } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { moment } from '../support/moments';

let t: TestDatabase;
let api: RunningService;
let uncached: RunningService;
let chain: Awaited<ReturnType<typeof createChain>>;
let issuerId: string;
let instrumentId: string;


async function ok<T = any>(query: string, variables: Record<string, unknown> = {}, service = api): Promise<T> {
  const res = await graphql(service.url, query, variables);
  expect(res.errors).toBeUndefined();
  return res.data as T;
}

async function feed(asOf: string, rate: string, source = 'TIME'): Promise<void> {
  await ok(`mutation($input: MarketDataInput!) { ingestMarketData(input: $input) { id validationStatus } }`, {
    input: { feedType: 'FX_SPOT', asOfDate: asOf, source, payload: { rates: [{ pair: 'EURUSD', rate }] }, lineage: { sourceSystem: 'test', transformationChain: [] } },
  });
}

const OPEN = `mutation($input: OpenPositionInput!) { openPosition(input: $input) { id } }`;
const RECORD = `mutation($input: [ValuationInput!]!) { recordValuations(input: $input) }`;
const FIGURES = `query($n: ID!, $d: Date!, $k: DateTime) { portfolioNode(id: $n) {
  marketValue(asOf: $d, knownAt: $k) { amount currency }
  byIssuer: exposure(dimension: ISSUER, asOf: $d, knownAt: $k, lookThrough: true) { total unvaluedPositionCount buckets { key marketValue positionCount } }
  bySector: exposure(dimension: SECTOR, asOf: $d, knownAt: $k) { total buckets { key marketValue } }
  byCurrency: exposure(dimension: CURRENCY, asOf: $d, knownAt: $k) { total buckets { key marketValue } }
  byChild: exposure(dimension: CHILD, asOf: $d, knownAt: $k, top: 1) { total buckets { key marketValue } }
  byClass: exposure(dimension: ASSET_CLASS, asOf: $d, knownAt: $k) { total buckets { key marketValue } }
  byRating: exposure(dimension: RATING, asOf: $d, knownAt: $k) { total buckets { key marketValue } } } }`;
const figures = async (d: string, k?: string, service = api) => JSON.stringify((await ok(FIGURES, { n: chain.fund.id, d, k }, service)).portfolioNode);

async function open(quantity: string, tradeDate: string, nodeId: string): Promise<string> {
  return (await ok(OPEN, { input: { nodeId, instrumentId, quantity, baseCurrency: 'EUR', tradeDate } })).openPosition.id;
}
const value = (positionId: string, asOfDate: string, marketValue: string) => ok(RECORD, { input: [{ positionId, asOfDate, marketValue, currency: 'EUR' }] });

let p1: string;
let p2: string;

beforeAll(async () => {
  t = await createTestDatabase();
  chain = await createChain(t.db, 'Clocks');
  const sector = await t.db.prisma.referenceData.create({ data: { entityType: 'SECTOR', name: 'Sector A', code: 'SA' } });
  issuerId = (await createIssuer(t.db, { name: 'Clock Issuer', sectorId: sector.id })).id;
  instrumentId = (await createInstrument(t.db, { currency: 'EUR', issuerId })).id;
  api = await startService(t.db);
  uncached = await startService(t.db, { analyticsCacheBytes: 0 });
  await feed('2026-06-30', '1.10');
  p1 = await open('100', '2026-06-01', chain.book.id);
  p2 = await open('50', '2026-06-01', chain.strategy.id);
  await value(p1, '2026-06-30', '1000');
  await value(p2, '2026-06-30', '500');
});
afterAll(async () => {
  await api?.stop();
  await uncached?.stop();
  await t?.drop();
});

describe('a figure about the past', () => {
  it('does not change when a position is closed today (the June figure keeps the closed position)', async () => {
    const june = await figures('2026-06-30');
    expect(JSON.parse(june).marketValue).toEqual({ amount: '1650', currency: 'USD' });
    await ok(`mutation($id: ID!) { closePosition(id: $id) { status } }`, { id: p2 });
    expect(await figures('2026-06-30')).toBe(june);
    expect(await figures('2026-06-30', undefined, uncached)).toBe(june);
  });

  it('answers the same (asOf, knownAt) byte for byte after corrections, restatements and reclassifications', async () => {
    const pinned = await moment();
    const before = await figures('2026-06-30', pinned);
    // Corrected valuation, restated FX feed (a later feed for the same date), a reclassified issuer, a new rating,
    // a back-dated trade: all after the pinned moment.
    await value(p1, '2026-06-30', '1200');
    await feed('2026-06-30', '1.20', 'TIME-RESTATED');
    const otherSector = await t.db.prisma.referenceData.create({ data: { entityType: 'SECTOR', name: 'Sector B', code: 'SB' } });
    await t.db.prisma.referenceData.update({ where: { id: issuerId }, data: { sectorId: otherSector.id } });
    await ok(`mutation { recordRating(input: { entityId: "${issuerId}", agency: SP, rating: "AA", asOfDate: "2026-06-01" }) { rating } }`);
    const late = await open('10', '2026-06-15', chain.book.id);
    await value(late, '2026-06-30', '77');
    expect(await figures('2026-06-30', pinned)).toBe(before);
    expect(await figures('2026-06-30', pinned, uncached)).toBe(before);
    // Known now, everything shows: 1200 + 500 + 77 at 1.20.
    const now = JSON.parse(await figures('2026-06-30'));
    expect(now.marketValue.amount).toBe('2132.4');
    expect(now.bySector.buckets.map((b: { key: string }) => b.key)).toEqual([otherSector.id]);
    expect(await figures('2026-06-30', undefined, uncached)).toBe(JSON.stringify(now));
  });

  it('converts with the FX feed received by knownAt', async () => {
    const FX = `query($k: DateTime) { fxRate(base: "EUR", quote: "USD", asOf: "2026-07-01", knownAt: $k) { rate asOfDate } }`;
    const k = await moment();
    await feed('2026-06-30', '1.25', 'TIME-RESTATED-AGAIN');
    expect((await ok(FX, { k })).fxRate).toEqual({ rate: '1.2', asOfDate: '2026-06-30' });
    expect((await ok(FX, {})).fxRate).toEqual({ rate: '1.25', asOfDate: '2026-06-30' });
  });

  it('reads ratings, entities and instruments as recorded at a moment', async () => {
    const Q = `query($e: ID!, $i: ID!, $k: DateTime) {
      referenceEntity(id: $e, knownAt: $k) { name sector { code } rating(agency: SP, asOf: "2026-06-30") { rating recordedAt supersededAt } }
      instrument(id: $i, knownAt: $k) { name issuer { name sector { code } } } }`;
    const k = await moment();
    await ok(`mutation { recordRating(input: { entityId: "${issuerId}", agency: SP, rating: "A", asOfDate: "2026-06-01" }) { rating } }`);
    await t.db.prisma.referenceData.update({ where: { id: issuerId }, data: { name: 'Clock Issuer (renamed)' } });
    const then = await ok(Q, { e: issuerId, i: instrumentId, k });
    expect(then.referenceEntity).toMatchObject({ name: 'Clock Issuer', sector: { code: 'SB' }, rating: { rating: 'AA' } });
    expect(then.instrument.issuer).toEqual({ name: 'Clock Issuer', sector: { code: 'SB' } });
    const now = await ok(Q, { e: issuerId, i: instrumentId });
    expect(now.referenceEntity).toMatchObject({ name: 'Clock Issuer (renamed)', rating: { rating: 'A', supersededAt: null } });
    // Before the entity existed: null.
    expect((await ok(Q, { e: issuerId, i: instrumentId, k: '2000-01-01T00:00:00Z' })).referenceEntity).toBeNull();
  });
});

describe('holdingsChange', () => {
  const CHANGE = `query($n: ID!, $from: TimePoint!, $to: TimePoint!, $first: Int, $after: String) { portfolioNode(id: $n) {
    holdingsChange(from: $from, to: $to) { from to currency marketValueFrom marketValueTo
      changes(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
        edges { node { position { id } kind quantityFrom quantityTo marketValueFrom marketValueTo } } } } } }`;

  it('lists what moved between two dates and what was restated between two moments, largest change first', async () => {
    const { fund, book } = await createChain(t.db, 'Changes');
    await feed('2026-04-30', '1.10', 'CH-APR');
    await feed('2026-05-29', '1.10', 'CH-MAY');
    const a = await open('10', '2026-04-01', book.id);
    const b = await open('20', '2026-04-01', book.id);
    await value(a, '2026-04-30', '100');
    await value(b, '2026-04-30', '200');
    await value(a, '2026-05-29', '110');
    await ok(`mutation($id: ID!) { closePosition(id: $id, effectiveDate: "2026-05-15") { id } }`, { id: b });
    const c = await open('5', '2026-05-10', book.id);
    await value(c, '2026-05-29', '50');
    const k = await moment();
    await ok(`mutation($input: AdjustPositionInput!) { adjustPosition(input: $input) { id } }`, { input: { positionId: a, quantity: '12', effectiveDate: '2026-05-20' } });
    await value(a, '2026-05-29', '140');

    const dates = (await ok(CHANGE, { n: fund.id, from: { asOf: '2026-04-30', knownAt: k }, to: { asOf: '2026-05-29', knownAt: k } })).portfolioNode.holdingsChange;
    expect(dates).toMatchObject({ from: '2026-04-30', to: '2026-05-29', currency: 'USD', marketValueFrom: '330', marketValueTo: '176' });
    expect(dates.changes.totalCount).toBe(3);
    expect(dates.changes.edges.map((e: any) => [e.node.position.id, e.node.kind, e.node.marketValueFrom, e.node.marketValueTo])).toEqual([
      [b, 'CLOSED', '220', null], [c, 'OPENED', null, '55'], [a, 'VALUE', '110', '121'],
    ]);

    const restated = (await ok(CHANGE, { n: fund.id, from: { asOf: '2026-05-29', knownAt: k }, to: { asOf: '2026-05-29' } })).portfolioNode.holdingsChange;
    expect(restated.changes.edges.map((e: any) => [e.node.position.id, e.node.kind, e.node.quantityFrom, e.node.quantityTo, e.node.marketValueTo])).toEqual([
      [a, 'QUANTITY', '10', '12', '154'],
    ]);
    // Pages: every change once, in order.
    const first = (await ok(CHANGE, { n: fund.id, from: { asOf: '2026-04-30', knownAt: k }, to: { asOf: '2026-05-29', knownAt: k }, first: 2 })).portfolioNode.holdingsChange.changes;
    expect(first.pageInfo.hasNextPage).toBe(true);
    const rest = (await ok(CHANGE, { n: fund.id, from: { asOf: '2026-04-30', knownAt: k }, to: { asOf: '2026-05-29', knownAt: k }, first: 2, after: first.pageInfo.endCursor })).portfolioNode.holdingsChange.changes;
    expect([...first.edges, ...rest.edges].map((e: any) => e.node.position.id)).toEqual([b, c, a]);
  });

  it('refuses a from later than to, and a knownAt in the future', async () => {
    const res = await graphql(api.url, CHANGE, { n: chain.fund.id, from: { asOf: '2026-07-01' }, to: { asOf: '2026-06-30' } });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
    const k = await moment();
    const later = await graphql(api.url, CHANGE, { n: chain.fund.id, from: { asOf: '2026-06-30' }, to: { asOf: '2026-06-30', knownAt: k } });
    expect(later.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
    const future = await graphql(api.url, CHANGE, { n: chain.fund.id, from: { asOf: '2026-06-30' }, to: { asOf: '2026-06-30', knownAt: '2999-01-01T00:00:00Z' } });
    expect(future.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to.knownAt' });
  });
});

describe('snapshots', () => {
  it('are pictures as known when made: the same node and date at knownAt = createdAt give the same payload hash', async () => {
    const CREATE = `mutation($n: ID!, $d: Date!) { createPortfolioSnapshot(nodeId: $n, asOfDate: $d) { created snapshot { id payloadHash createdAt } } }`;
    const made = (await ok(CREATE, { n: chain.fund.id, d: '2026-06-30' })).createPortfolioSnapshot.snapshot;
    await value(p1, '2026-06-30', '1300');
    await ok(`mutation($input: AdjustPositionInput!) { adjustPosition(input: $input) { id } }`, { input: { positionId: p1, quantity: '101', effectiveDate: '2026-06-02' } });
    const again = (await ok(CREATE, { n: chain.fund.id, d: '2026-06-30' })).createPortfolioSnapshot;
    expect(again.created).toBe(true);
    for (const snapshot of [made, again.snapshot]) {
      const read = await readSnapshotContent(t.db.prisma, chain.fund.id, '2026-06-30', null, new Date(snapshot.createdAt).toISOString());
      expect(hashSnapshotPayload(snapshotPayload(read!.content)).hash).toBe(snapshot.payloadHash);
    }
  });
});
