// holdingsChange of one date between two moments (from { asOf, knownAt: K }, to { asOf }) reads only
// the positions something was recorded about since K (RECORDED_PATH): the others are the same at both
// moments and count in both totals alike. Its answers equal the general path's (two full reads of the
// subtree, joined) - one node and every fund of portfolioRoots at once, after the seed's own history,
// after writes made through the API (exactly the positions written change; the totals are the market
// values known then and now) and after an FX feed restating the date (every position converted at a
// restated rate changes, though nothing was recorded about it).
import { RECORDED_PATH } from '../../src/services/analytics/holdingsChange';
import { DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql } from '../support/http';
import { seededService } from '../support/seeded';

const ASOF = DEFAULT_SEED_OPTIONS.asOf;
const service = seededService({ positions: 500, funds: 2 });

const CHANGE = `currency marketValueFrom marketValueTo changes(first: 4) { totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { kind quantityFrom quantityTo marketValueFrom marketValueTo position { id } } } }`;
type Change = {
  currency: string; marketValueFrom: string; marketValueTo: string;
  changes: { totalCount: number; edges: { node: { kind: string; position: { id: string }; marketValueFrom: string | null; marketValueTo: string | null } }[] };
};

const one = (currency: string | null) => `query($id: ID!, $k: DateTime!) { portfolioNode(id: $id) {
  holdingsChange(from: { asOf: "${ASOF}", knownAt: $k }, to: { asOf: "${ASOF}" }${currency ? `, currency: "${currency}"` : ''}) { ${CHANGE} }
  valueThen: marketValue(asOf: "${ASOF}", knownAt: $k${currency ? `, currency: "${currency}"` : ''}) { amount }
  valueNow: marketValue(asOf: "${ASOF}"${currency ? `, currency: "${currency}"` : ''}) { amount } } }`;
const roots = `query($k: DateTime!) { portfolioRoots { id holdingsChange(from: { asOf: "${ASOF}", knownAt: $k }, to: { asOf: "${ASOF}" }) { ${CHANGE} } } }`;

/** A statement of the recorded path (its aggregate of the positions nothing was recorded about). */
const recorded = (statements: string[]) => statements.filter((s) => s.includes('kept AS MATERIALIZED')).length;

/** The answer with the recorded path and with the general path, and the recorded path's statements. */
async function bothPaths(query: string, variables: Record<string, unknown>) {
  const fast = await service.measured(query, variables);
  RECORDED_PATH.enabled = false;
  try {
    const general = await service.measured(query, variables);
    expect(recorded(general.statements)).toBe(0);
    return { fast: fast.data, general: general.data, recordedStatements: recorded(fast.statements), statements: fast.statements.length };
  } finally {
    RECORDED_PATH.enabled = true;
  }
}

async function fundIds(): Promise<string[]> {
  const rows = await service.db.sql.query<{ id: string }>(`SELECT id::text AS id FROM portfolio_node WHERE parent_id IS NULL ORDER BY name`);
  return rows.map((r) => r.id);
}

/** Now, as the database stamps recordings (a later write is recorded after it). */
async function moment(): Promise<string> {
  const [row] = await service.db.sql.query<{ at: string }>(`SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at`);
  await new Promise((r) => setTimeout(r, 5));
  return row!.at;
}

const sum = (xs: string[]) => xs.reduce((a, b) => a + Number(b), 0);

it('answers as the general path after the seed\'s own history: one fund, another currency, every fund at once', async () => {
  const [{ at }] = await service.db.sql.query<{ at: string }>(
    `SELECT to_char((max(recorded_at) - interval '7 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM position_version`) as [{ at: string }];
  const [since] = await service.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM position WHERE last_recorded_at > $1::timestamptz`, [at]);
  expect(since!.n).toBeGreaterThan(0);
  for (const id of await fundIds()) {
    for (const currency of [null, 'JPY']) {
      const r = await bothPaths(one(currency), { id, k: at });
      expect(r.fast).toEqual(r.general);
      expect(r.recordedStatements).toBe(1);
      const change = r.fast.portfolioNode.holdingsChange as Change;
      expect(change.marketValueFrom).toBe(r.fast.portfolioNode.valueThen.amount);
      expect(change.marketValueTo).toBe(r.fast.portfolioNode.valueNow.amount);
    }
  }
  const r = await bothPaths(roots, { k: at });
  expect(r.fast).toEqual(r.general);
  expect(r.recordedStatements).toBe(1);
  const changes = (r.fast.portfolioRoots as { holdingsChange: Change }[]).map((x) => x.holdingsChange.changes.totalCount);
  expect(changes.length).toBe(2);
  expect(Math.max(...changes)).toBeGreaterThan(0);
});

it('finds exactly the positions written since the moment, with totals as known then and now', async () => {
  const [fund] = await fundIds();
  const rows = await service.db.sql.query<{ id: string; quantity: string; mv: string; ccy: string }>(
    `SELECT p.id::text AS id, p.quantity::text AS quantity, v.market_value::text AS mv, v.currency::text AS ccy
     FROM position p JOIN portfolio_node n ON n.id = p.portfolio_node_id
     JOIN valuation_result v ON v.position_id = p.id AND v.as_of_date = $2::date AND v.superseded_at IS NULL
     WHERE n.fund_id = $1::uuid AND p.status = 'ACTIVE' AND p.opened_on < $2::date AND p.state_from <= $2::date
     ORDER BY p.id LIMIT 2`, [fund, ASOF]);
  expect(rows.length).toBe(2);
  const [adjusted, revalued] = rows as [typeof rows[0], typeof rows[0]];
  const k = await moment();
  const before = await bothPaths(one(null), { id: fund, k });
  expect(before.fast).toEqual(before.general);
  expect((before.fast.portfolioNode.holdingsChange as Change).changes.totalCount).toBe(0);

  const adjust = await graphql(service.api.url, `mutation($input: AdjustPositionInput!) { adjustPosition(input: $input) { id } }`,
    { input: { positionId: adjusted.id, quantity: (Number(adjusted.quantity) + 7).toString(), effectiveDate: ASOF } });
  expect(adjust.errors).toBeUndefined();
  const value = await graphql(service.api.url, `mutation($input: [ValuationInput!]!) { recordValuations(input: $input) }`,
    { input: [{ positionId: revalued.id, asOfDate: ASOF, marketValue: (Number(revalued.mv) + 1234.5).toFixed(2), currency: revalued.ccy }] });
  expect(value.errors).toBeUndefined();

  for (const currency of [null, 'JPY']) {
    const r = await bothPaths(one(currency), { id: fund, k });
    expect(r.fast).toEqual(r.general);
    expect(r.recordedStatements).toBe(1);
    const change = r.fast.portfolioNode.holdingsChange as Change;
    expect(change.changes.totalCount).toBe(2);
    expect(change.changes.edges.map((e) => [e.node.position.id, e.node.kind]).sort()).toEqual(
      [[adjusted.id, 'QUANTITY'], [revalued.id, 'VALUE']].sort());
    expect(change.marketValueFrom).toBe(r.fast.portfolioNode.valueThen.amount);
    expect(change.marketValueTo).toBe(r.fast.portfolioNode.valueNow.amount);
    expect(change.marketValueFrom).not.toBe(change.marketValueTo);
    // The totals differ by the changes' differences (to a cent: the figures are exact strings, summed here as floats).
    const moved = sum(change.changes.edges.map((e) => e.node.marketValueTo ?? '0')) - sum(change.changes.edges.map((e) => e.node.marketValueFrom ?? '0'));
    expect(Math.abs(Number(change.marketValueTo) - Number(change.marketValueFrom) - moved)).toBeLessThan(0.01);
  }
  const r = await bothPaths(roots, { k });
  expect(r.fast).toEqual(r.general);
  expect(r.recordedStatements).toBe(1);
  expect((r.fast.portfolioRoots as { id: string; holdingsChange: Change }[]).map((x) => [x.id, x.holdingsChange.changes.totalCount]))
    .toEqual((await fundIds()).map((id) => [id, id === fund ? 2 : 0]));
});

it('finds the positions whose currency has another rate when the FX rates of the date were restated since the moment', async () => {
  const [fund] = await fundIds();
  const [feed] = await service.db.sql.query<{ as_of: string }>(
    `SELECT to_char(f.as_of_date, 'YYYY-MM-DD') AS as_of FROM market_data_feed f
     WHERE f.feed_type = 'FX_SPOT' AND f.validation_status IN ('PASS', 'WARN') AND f.as_of_date <= $1::date
     ORDER BY f.as_of_date DESC, f.recorded_at DESC LIMIT 1`, [ASOF]);
  const rates = await service.db.sql.query<{ pair: string; rate: string }>(
    `SELECT x.pair, round(x.rate * 1.02, 6)::text AS rate FROM fx_spot x JOIN market_data_feed f ON f.id = x.snapshot_id
     WHERE f.feed_type = 'FX_SPOT' AND f.as_of_date = $1::date ORDER BY f.recorded_at DESC, x.pair`, [feed!.as_of]);
  const pairs = [...new Map(rates.map((r) => [r.pair, r.rate])).entries()];
  const k = await moment();
  const ingest = await graphql(service.api.url, `mutation($input: MarketDataInput!) { ingestMarketData(input: $input) { validationStatus } }`, {
    input: { feedType: 'FX_SPOT', asOfDate: feed!.as_of, source: 'RESTATED', payload: { rates: pairs.map(([pair, rate]) => ({ pair, rate })) },
      lineage: { sourceSystem: 'test', transformationChain: ['restate'], metadata: {} } },
  });
  expect(ingest.errors).toBeUndefined();
  expect(['PASS', 'WARN']).toContain((ingest.data!.ingestMarketData as { validationStatus: string }).validationStatus);

  const r = await bothPaths(one('JPY'), { id: fund, k });
  expect(r.fast).toEqual(r.general);
  const change = r.fast.portfolioNode.holdingsChange as Change;
  // Nothing was recorded about a position, yet their values in JPY moved: more changes than positions written.
  const [since] = await service.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM position WHERE last_recorded_at > $1::timestamptz`, [k]);
  expect(since!.n).toBe(0);
  expect(change.changes.totalCount).toBeGreaterThan(10);
  expect(change.marketValueFrom).toBe(r.fast.portfolioNode.valueThen.amount);
  expect(change.marketValueTo).toBe(r.fast.portfolioNode.valueNow.amount);
  expect(r.recordedStatements).toBe(1);
  const all = await bothPaths(roots, { k });
  expect(all.fast).toEqual(all.general);
  expect(all.recordedStatements).toBe(1);
});
