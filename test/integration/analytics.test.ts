// Analytics through HTTP with hand-computed expectations:
//
//   Fund F (USD)
//   ├─ Desk D
//   │  ├─ Book B1: 600,000 USD (bond of P, valued 06-30; a later 999,999 valuation on 07-31 is ignored)
//   │  │           500,000 EUR (bond of S, a subsidiary of P, valued 06-29)
//   │  │           a CLOSED 7,000,000 USD and a DELETED 8,000,000 USD position (never counted)
//   │  │           an ACTIVE position valued only on 07-01 (unvalued as of 06-30)
//   │  └─ Book B2: 15,000,000 JPY (equity of O, held directly)
//   │     └─ Strategy S2: 40,000 GBP cash (no issuer)
//   └─ Desk D2 ─ Book B3: 80,000 GBP cash (no issuer)
//
//   FX feeds: 06-15 PASS  EURUSD 1.10, USDJPY 150, GBPUSD 1.25
//             06-20 FAIL  EURUSD 9.99                      (never used)
//             07-15 PASS  EURUSD 2.00, USDJPY 100, GBPUSD 1 (after the as-of date 06-30)
//
// In USD as of 06-30: B1 = 600,000 + 500,000 x 1.10 = 1,150,000; B2 = 15,000,000 x round(1/150, 20)
// = 100,000.00000000 (to 8 places) + 40,000 x 1.25 = 150,000; D = 1,300,000; D2 = 100,000; F = 1,400,000.
import { randomUUID } from 'node:crypto';
import { Exact } from '../../src/domain/fx';
import { graphql, startService, type RunningService } from '../support/http';
import { createIssuer, createInstrument, createNode, createPosition } from '../support/factories';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const ids: Record<string, string> = {};

async function feed(asOf: string, status: string, rates: Record<string, string>): Promise<string> {
  const id = randomUUID();
  await t.db.sql.query(
    `INSERT INTO market_data_feed (id, feed_type, as_of_date, source, payload_json, payload_hash, validation_status)
     VALUES ($1, 'FX_SPOT', $2, 'TEST', '{}', $3, $4::validation_status)`,
    [id, asOf, id.replace(/-/g, '').padEnd(64, '0'), status],
  );
  for (const [pair, rate] of Object.entries(rates)) {
    await t.db.sql.query('INSERT INTO fx_spot (pair, snapshot_id, rate) VALUES ($1, $2, $3)', [pair, id, rate]);
  }
  return id;
}

async function value(positionId: string, asOf: string, amount: string, currency: string): Promise<void> {
  await t.db.sql.query('INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, $2, $3, $4)', [positionId, asOf, amount, currency]);
}

async function rate(entityId: string, agency: string, symbol: string, asOf: string): Promise<void> {
  await t.db.sql.query('INSERT INTO rating_history (entity_id, agency, rating, as_of_date) VALUES ($1, $2::rating_agency, $3, $4)', [entityId, agency, symbol, asOf]);
}

beforeAll(async () => {
  t = await createTestDatabase();
  const db = t.db;
  const f = await createNode(db, { nodeType: 'FUND', name: 'F', baseCcy: 'USD' });
  const d = await createNode(db, { nodeType: 'DESK', name: 'D', parentId: f.id });
  const d2 = await createNode(db, { nodeType: 'DESK', name: 'D2', parentId: f.id });
  const b1 = await createNode(db, { nodeType: 'BOOK', name: 'B1', parentId: d.id });
  const b2 = await createNode(db, { nodeType: 'BOOK', name: 'B2', parentId: d.id });
  const s2 = await createNode(db, { nodeType: 'STRATEGY', name: 'S2', parentId: b2.id });
  const b3 = await createNode(db, { nodeType: 'BOOK', name: 'B3', parentId: d2.id, baseCcy: 'GBP' });
  const p = await createIssuer(db, { name: 'Parent Co' });
  const s = await createIssuer(db, { name: 'Subsidiary Co', parentEntityId: p.id });
  const o = await createIssuer(db, { name: 'Other Co' });
  const usdBond = await createInstrument(db, { name: 'P 5% 2030', currency: 'USD', issuerId: p.id });
  const eurBond = await createInstrument(db, { name: 'S 3% 2031', currency: 'EUR', issuerId: s.id });
  const jpyEquity = await createInstrument(db, { name: 'O shares', assetClass: 'EQUITY', currency: 'JPY', issuerId: o.id });
  const gbpCash = await createInstrument(db, { name: 'Cash GBP', assetClass: 'CASH', currency: 'GBP' });
  const usd = await createPosition(db, { portfolioNodeId: b1.id, instrumentId: usdBond.id, quantity: '600000' });
  const eur = await createPosition(db, { portfolioNodeId: b1.id, instrumentId: eurBond.id, quantity: '500000', baseCcy: 'EUR' });
  const closed = await createPosition(db, { portfolioNodeId: b1.id, instrumentId: usdBond.id, status: 'CLOSED' });
  const deleted = await createPosition(db, { portfolioNodeId: b1.id, instrumentId: usdBond.id, status: 'DELETED' });
  const late = await createPosition(db, { portfolioNodeId: b1.id, instrumentId: usdBond.id });
  const jpy = await createPosition(db, { portfolioNodeId: b2.id, instrumentId: jpyEquity.id, baseCcy: 'JPY' });
  const gbp1 = await createPosition(db, { portfolioNodeId: s2.id, instrumentId: gbpCash.id, baseCcy: 'GBP' });
  const gbp2 = await createPosition(db, { portfolioNodeId: b3.id, instrumentId: gbpCash.id, baseCcy: 'GBP' });
  await value(usd.id, '2026-06-01', '600000', 'USD');
  await value(usd.id, '2026-06-30', '600000', 'USD');
  await value(usd.id, '2026-07-31', '999999', 'USD');
  await value(eur.id, '2026-06-29', '500000', 'EUR');
  await value(closed.id, '2026-06-30', '7000000', 'USD');
  await value(deleted.id, '2026-06-30', '8000000', 'USD');
  await value(late.id, '2026-07-01', '123', 'USD');
  await value(jpy.id, '2026-06-30', '15000000', 'JPY');
  await value(gbp1.id, '2026-06-30', '40000', 'GBP');
  await value(gbp2.id, '2026-06-30', '80000', 'GBP');
  ids.feed = await feed('2026-06-15', 'PASS', { EURUSD: '1.10', USDJPY: '150', GBPUSD: '1.25' });
  await feed('2026-06-20', 'FAIL', { EURUSD: '9.99' });
  ids.laterFeed = await feed('2026-07-15', 'PASS', { EURUSD: '2.00', USDJPY: '100', GBPUSD: '1' });
  await rate(p.id, 'SP', 'BBB', '2026-01-01');
  await rate(p.id, 'SP', 'A', '2026-06-30');
  await rate(s.id, 'SP', 'AA', '2026-01-01');
  await rate(s.id, 'MOODYS', 'Baa1', '2026-01-01');
  await rate(s.id, 'FITCH', 'A', '2026-01-01');
  Object.assign(ids, { f: f.id, d: d.id, d2: d2.id, b1: b1.id, b2: b2.id, s2: s2.id, p: p.id, s: s.id, o: o.id });
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

const EXPOSURE = `query($id: ID!, $dim: ExposureDimension!, $asOf: Date!, $ccy: Currency, $lt: Boolean, $top: Int) {
  portfolioNode(id: $id) { exposure(dimension: $dim, asOf: $asOf, currency: $ccy, lookThrough: $lt, top: $top) {
    asOf currency total unvaluedPositionCount buckets { key label marketValue weight positionCount entity { id name } } } } }`;

async function exposure(node: string, dim: string, vars: Record<string, unknown> = {}) {
  const res = await graphql(api.url, EXPOSURE, { id: ids[node], dim, asOf: '2026-06-30', ...vars });
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!.portfolioNode.exposure;
}

async function marketValue(node: string, vars: Record<string, unknown> = {}) {
  return graphql(api.url, 'query($id: ID!, $asOf: Date!, $ccy: Currency) { portfolioNode(id: $id) { marketValue(asOf: $asOf, currency: $ccy) { amount currency } } }', { id: ids[node], asOf: '2026-06-30', ...vars });
}

const compact = (buckets: { key: string; marketValue: string; weight: string; positionCount: number }[]) =>
  buckets.map((b) => [b.key, b.marketValue, b.weight, b.positionCount]);

describe('a two-currency book', () => {
  it('is worth 600,000 USD + 500,000 EUR at 1.10 = 1,150,000 USD, in the base currency by default', async () => {
    expect((await marketValue('b1')).data!.portfolioNode.marketValue).toEqual({ amount: '1150000', currency: 'USD' });
    const e = await exposure('b1', 'CURRENCY');
    expect(e).toMatchObject({ asOf: '2026-06-30', currency: 'USD', total: '1150000', unvaluedPositionCount: 1 });
    expect(compact(e.buckets)).toEqual([
      ['USD', '600000', '0.5217391304', 1],
      ['EUR', '550000', '0.4782608696', 1],
    ]);
  });

  it('ignores CLOSED and DELETED positions, later valuations, later and FAIL feeds', async () => {
    // 7,000,000 + 8,000,000 (closed, deleted), 999,999 (07-31), EURUSD 9.99 (FAIL) or 2.00 (07-15) would all show.
    expect((await marketValue('b1')).data!.portfolioNode.marketValue.amount).toBe('1150000');
    // On 07-31 the later feed and valuations apply: 999,999 + 123 + 500,000 x 2.00.
    expect((await marketValue('b1', { asOf: '2026-07-31' })).data!.portfolioNode.marketValue.amount).toBe('2000122');
  });
});

describe('FX derivations', () => {
  it('triangulates through USD: EURJPY = EURUSD x USDJPY = 165', async () => {
    const e = await exposure('b1', 'CURRENCY', { ccy: 'JPY' });
    expect(e.total).toBe('172500000'); // 600,000 x 150 + 500,000 x 165
    expect(compact(e.buckets)).toEqual([
      ['USD', '90000000', '0.5217391304', 1],
      ['EUR', '82500000', '0.4782608696', 1],
    ]);
  });

  it('inverts the reverse pair: USD -> EUR = round(1 / 1.10, 20), amounts to 8 places', async () => {
    // 600,000 x 0.90909090909090909091 = 545,454.545454545454546 -> 545,454.54545455
    expect((await marketValue('b1', { ccy: 'EUR' })).data!.portfolioNode.marketValue).toEqual({ amount: '1045454.54545455', currency: 'EUR' });
  });

  it('fails with FX_RATE_NOT_FOUND naming every missing pair', async () => {
    const res = await marketValue('f', { ccy: 'CHF' });
    expect(res.errors![0]!.extensions).toMatchObject({ code: 'FX_RATE_NOT_FOUND', pairs: ['EURCHF', 'GBPCHF', 'JPYCHF', 'USDCHF'] });
    const before = await marketValue('f', { asOf: '2026-05-31' }); // no feed on or before this date; no valuations either
    expect(before.data!.portfolioNode.marketValue.amount).toBe('0');
    const e = await graphql(api.url, EXPOSURE, { id: ids.b1, dim: 'CURRENCY', asOf: '2026-06-30', ccy: 'CHF' });
    expect(e.errors![0]!.extensions).toMatchObject({ code: 'FX_RATE_NOT_FOUND', pairs: ['EURCHF', 'USDCHF'] });
    // Every dimension names every missing pair of the subtree, whatever its buckets.
    for (const dim of ['ISSUER', 'SECTOR', 'GEOGRAPHY', 'CURRENCY', 'ASSET_CLASS', 'CHILD', 'RATING']) {
      const all = await graphql(api.url, EXPOSURE, { id: ids.f, dim, asOf: '2026-06-30', ccy: 'CHF', lt: dim === 'ISSUER' });
      expect(all.errors![0]!.extensions).toMatchObject({ code: 'FX_RATE_NOT_FOUND', pairs: ['EURCHF', 'GBPCHF', 'JPYCHF', 'USDCHF'] });
    }
  });

  it('fxRate reports the derivation and the feed used', async () => {
    const q = `query($b: Currency!, $q: Currency!, $d: Date!) { fxRate(base: $b, quote: $q, asOf: $d) { base quote rate asOfDate derivation feed { id asOfDate validationStatus } } }`;
    const ask = async (b: string, qq: string, d = '2026-06-30') => (await graphql(api.url, q, { b, q: qq, d }));
    expect((await ask('EUR', 'USD')).data!.fxRate).toEqual({ base: 'EUR', quote: 'USD', rate: '1.1', asOfDate: '2026-06-15', derivation: 'DIRECT', feed: { id: ids.feed, asOfDate: '2026-06-15', validationStatus: 'PASS' } });
    expect((await ask('usd', 'eur')).data!.fxRate).toMatchObject({ base: 'USD', quote: 'EUR', rate: '0.90909090909090909091', derivation: 'INVERSE' });
    expect((await ask('EUR', 'JPY')).data!.fxRate).toMatchObject({ rate: '165', derivation: 'TRIANGULATED' });
    expect((await ask('JPY', 'EUR')).data!.fxRate).toMatchObject({ rate: '0.00606060606060606061', derivation: 'TRIANGULATED' });
    expect((await ask('GBP', 'GBP')).data!.fxRate).toMatchObject({ rate: '1', derivation: 'IDENTITY', asOfDate: '2026-06-30', feed: null });
    expect((await ask('EUR', 'USD', '2026-07-15')).data!.fxRate).toMatchObject({ rate: '2', feed: { id: ids.laterFeed } });
    expect((await ask('CHF', 'USD')).errors![0]!.extensions).toMatchObject({ code: 'FX_RATE_NOT_FOUND', pairs: ['CHFUSD'] });
    expect((await ask('EUR', 'USD', '2026-06-14')).errors![0]!.extensions).toMatchObject({ code: 'FX_RATE_NOT_FOUND', pairs: ['EURUSD'] });
  });
});

describe('dimensions', () => {
  it('ISSUER with look-through merges a subsidiary into its parent, counting nothing twice', async () => {
    const plain = await exposure('b1', 'ISSUER');
    expect(compact(plain.buckets)).toEqual([[ids.p, '600000', '0.5217391304', 1], [ids.s, '550000', '0.4782608696', 1]]);
    expect(plain.buckets.map((b: { label: string }) => b.label)).toEqual(['Parent Co', 'Subsidiary Co']);
    const merged = await exposure('b1', 'ISSUER', { lt: true });
    expect(compact(merged.buckets)).toEqual([[ids.p, '1150000', '1', 2]]);
    expect(merged.buckets[0].entity).toEqual({ id: ids.p, name: 'Parent Co' });
    expect(merged.total).toBe('1150000');
  });

  it('RATING takes the rating in force on the date (boundary inclusive), the second-best of several agencies', async () => {
    // P: SP A from 06-30 (score 6), BBB before (9). S: AA (2), Baa1 (8), A (6) -> second best 6 = A.
    const onDate = await exposure('b1', 'RATING');
    expect(compact(onDate.buckets)).toEqual([['A', '1150000', '1', 2]]);
    expect(onDate.buckets[0].label).toBe('A / A2'); // S&P, Fitch and DBRS write A, Moody's A2
    const dayBefore = await exposure('b1', 'RATING', { asOf: '2026-06-29' });
    expect(compact(dayBefore.buckets)).toEqual([['BBB', '600000', '0.5217391304', 1], ['A', '550000', '0.4782608696', 1]]);
    const fund = await exposure('f', 'RATING');
    expect(fund.buckets.map((b: { key: string }) => b.key)).toEqual(['A', 'UNRATED']);
    expect(fund.buckets[1]).toMatchObject({ label: 'Unrated', marketValue: '250000', positionCount: 3 });
  });

  it('CHILD buckets of the fund sum to its total; a node\'s own holdings get a bucket of their own', async () => {
    const fund = await exposure('f', 'CHILD');
    expect(fund.total).toBe('1400000');
    expect(compact(fund.buckets)).toEqual([[ids.d, '1300000', '0.9285714286', 4], [ids.d2, '100000', '0.0714285714', 1]]);
    expect(fund.buckets.map((b: { label: string }) => b.label)).toEqual(['D', 'D2']);
    const book = await exposure('b2', 'CHILD');
    expect(compact(book.buckets)).toEqual([[ids.b2, '100000', '0.6666666667', 1], [ids.s2, '50000', '0.3333333333', 1]]);
    expect(book.buckets[0].label).toBe('B2 (held directly)');
    expect((await marketValue('f')).data!.portfolioNode.marketValue.amount).toBe(fund.total);
  });

  it('every dimension has the same total, equal to marketValue, and weights that sum to 1 within rounding', async () => {
    for (const dim of ['ISSUER', 'SECTOR', 'GEOGRAPHY', 'CURRENCY', 'RATING', 'ASSET_CLASS', 'CHILD']) {
      const e = await exposure('f', dim, { ccy: 'JPY' });
      expect(e.total).toBe('210000000'); // 1,400,000 USD x 150
      const sum = e.buckets.reduce((a: Exact, b: { marketValue: string }) => a.plus(b.marketValue), new Exact(0));
      expect(sum.toFixed()).toBe('210000000');
      const weights = e.buckets.reduce((a: Exact, b: { weight: string }) => a.plus(b.weight), new Exact(0));
      expect(weights.minus(1).abs().lte(new Exact('0.5e-10').mul(e.buckets.length))).toBe(true);
    }
  });

  it('ASSET_CLASS and top-N with one OTHER bucket', async () => {
    const classes = await exposure('f', 'ASSET_CLASS');
    expect(compact(classes.buckets)).toEqual([['BOND', '1150000', '0.8214285714', 2], ['CASH', '150000', '0.1071428571', 2], ['EQUITY', '100000', '0.0714285714', 1]]);
    const top = await exposure('f', 'ISSUER', { top: 2 });
    expect(compact(top.buckets)).toEqual([
      [ids.p, '600000', '0.4285714286', 1],
      [ids.s, '550000', '0.3928571429', 1],
      ['OTHER', '250000', '0.1785714286', 3],
    ]);
    expect(top.buckets[2].entity).toBeNull();
    const bad = await graphql(api.url, EXPOSURE, { id: ids.f, dim: 'ISSUER', asOf: '2026-06-30', top: 0 });
    expect(bad.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'top' });
  });
});
