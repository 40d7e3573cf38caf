// Instruments through HTTP against the real server and database: instrument,
// instrumentByIdentifier and upsertInstrument with every error it reports.
import { cusipCheckDigit, isinCheckDigit } from '../../src/domain/identifiers';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService, type GraphQLResponse, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 300, funds: 2 });
const MISSING = '00000000-0000-4000-8000-000000000000';

const isin = (body: string) => `${body}${isinCheckDigit(body)}`;
const cusip = (body: string) => `${body}${cusipCheckDigit(body)}`;
const wrongCheck = (id: string) => `${id.slice(0, -1)}${(Number(id.slice(-1)) + 1) % 10}`;

const withCusip = world.instruments.find((i) => i.cusip !== null && i.asset_class === 'BOND')!;
const withTicker = world.instruments.find((i) => i.ticker !== null && i.isin !== null)!;
const issuer = world.referenceData.find((r) => r.id === withCusip.issuer_id)!;
const otherIssuer = world.referenceData.find((r) => r.entity_type === 'ISSUER' && r.id !== issuer.id)!;
const sector = world.referenceData.find((r) => r.entity_type === 'SECTOR')!;

const INSTRUMENT = 'id name assetClass currency isin cusip ticker maturityDate issuer { id name entityType }';
const BY_IDS = `query($isin: String, $cusip: String, $ticker: String) { instrumentByIdentifier(isin: $isin, cusip: $cusip, ticker: $ticker) { id } }`;
const UPSERT = `mutation($input: InstrumentInput!) { upsertInstrument(input: $input) { ${INSTRUMENT} } }`;
const upsert = (input: Record<string, unknown>) => graphql(api.url, UPSERT, { input });

async function created(input: Record<string, unknown>) {
  const res = await upsert(input);
  expect(res.errors).toBeUndefined();
  return res.data!.upsertInstrument as { id: string; [k: string]: unknown };
}

function expectError(res: GraphQLResponse, code: string, field?: string) {
  expect(res.errors).toHaveLength(1);
  expect(res.errors![0]!.extensions).toMatchObject(field ? { code, field } : { code });
  expect(res.data?.upsertInstrument ?? null).toBeNull();
}

async function instrumentRows(): Promise<number> {
  const [row] = await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM instrument');
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

describe('reading instruments', () => {
  it('reads an instrument with its asset class, maturity and issuer', async () => {
    const res = await graphql(api.url, `query($id: ID!) { instrument(id: $id) { ${INSTRUMENT} } }`, { id: withCusip.id });
    expect(res.errors).toBeUndefined();
    expect(res.data!.instrument).toEqual({
      id: withCusip.id, name: withCusip.name, assetClass: 'BOND', currency: withCusip.currency, isin: withCusip.isin, cusip: withCusip.cusip,
      ticker: null, maturityDate: withCusip.maturity_date, issuer: { id: issuer.id, name: issuer.name, entityType: 'ISSUER' },
    });
    const cash = world.instruments.find((i) => i.asset_class === 'CASH')!;
    const res2 = await graphql(api.url, `query($id: ID!) { instrument(id: $id) { assetClass maturityDate issuer { id } } }`, { id: cash.id });
    expect(res2.data!.instrument).toEqual({ assetClass: 'CASH', maturityDate: null, issuer: null });
  });

  it('answers null for an unknown or malformed id', async () => {
    for (const id of [MISSING, 'not-a-uuid']) {
      const res = await graphql(api.url, 'query($id: ID!) { instrument(id: $id) { id } }', { id });
      expect(res.errors).toBeUndefined();
      expect(res.data!.instrument).toBeNull();
    }
  });

  it('issues one statement for the issuers of many instruments', async () => {
    const ids = world.instruments.filter((i) => i.issuer_id).slice(0, 25).map((i) => i.id);
    const query = `{ ${ids.map((id, k) => `i${k}: instrument(id: "${id}") { issuer { name } }`).join(' ')} }`;
    let count = 0;
    const unsubscribe = t.db.onQuery(() => count++);
    const res = await graphql(api.url, query);
    unsubscribe();
    expect(res.errors).toBeUndefined();
    expect(count).toBe(2);
  });
});

describe('instrumentByIdentifier', () => {
  const find = async (vars: Record<string, unknown>) => {
    const res = await graphql(api.url, BY_IDS, vars);
    expect(res.errors).toBeUndefined();
    return res.data!.instrumentByIdentifier?.id ?? null;
  };

  it('finds by ISIN, CUSIP or ticker, trimmed and upper-cased', async () => {
    expect(await find({ isin: ` ${withCusip.isin!.toLowerCase()} ` })).toBe(withCusip.id);
    expect(await find({ cusip: withCusip.cusip!.toLowerCase() })).toBe(withCusip.id);
    expect(await find({ ticker: ` ${withTicker.ticker!.toLowerCase()}` })).toBe(withTicker.id);
    expect(await find({ isin: withCusip.isin, cusip: withCusip.cusip })).toBe(withCusip.id);
    expect(await find({ isin: withTicker.isin, ticker: withTicker.ticker })).toBe(withTicker.id);
  });

  it('is null when nothing matches or the identifiers name different instruments', async () => {
    expect(await find({ isin: isin('XS000000001') })).toBeNull();
    expect(await find({ ticker: 'NO SUCH TICKER' })).toBeNull();
    expect(await find({ isin: withTicker.isin, cusip: withCusip.cusip })).toBeNull();
    expect(await find({ cusip: withCusip.cusip, ticker: withTicker.ticker })).toBeNull();
  });

  it('rejects a wrong check digit naming the argument, and a call without identifiers', async () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ isin: wrongCheck(withCusip.isin!) }, 'isin'],
      [{ cusip: wrongCheck(withCusip.cusip!), isin: withCusip.isin }, 'cusip'],
      [{ isin: 'US12' }, 'isin'],
    ];
    for (const [vars, field] of bad) {
      const res = await graphql(api.url, BY_IDS, vars);
      expect(res.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(res.data?.instrumentByIdentifier ?? null).toBeNull();
    }
    for (const vars of [{}, { isin: ' ', ticker: '' }]) {
      const res = await graphql(api.url, BY_IDS, vars);
      expect(res.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    }
  });
});

describe('upsertInstrument', () => {
  const base = { name: 'Acme 4.25% 2031', assetClass: 'BOND', currency: 'USD' };

  it('creates an instrument, normalising the asset class and identifiers', async () => {
    const made = await created({
      ...base, assetClass: ' bond ', currency: 'usd', isin: ` ${isin('US00ACME001').toLowerCase()}`, cusip: cusip('00ACME01').toLowerCase(),
      ticker: 'acme 31', issuerId: issuer.id, maturityDate: '2031-06-15',
    });
    expect(made).toMatchObject({
      assetClass: 'BOND', currency: 'USD', isin: isin('US00ACME001'), cusip: cusip('00ACME01'), ticker: 'ACME 31', maturityDate: '2031-06-15', issuer: { id: issuer.id },
    });
    const [row] = await t.db.sql.query<{ d: string }>(`SELECT to_char(maturity_date, 'YYYY-MM-DD') AS d FROM instrument WHERE id = $1`, [made.id]);
    expect(row!.d).toBe('2031-06-15');
  });

  it('updates by id, then by ISIN, then by CUSIP; omitted fields are kept and null clears', async () => {
    const made = await created({ ...base, name: 'Upd 1', isin: isin('US00UPDT001'), cusip: cusip('00UPDT01'), issuerId: issuer.id, maturityDate: '2030-01-15' });
    const before = await instrumentRows();
    const byId = await created({ ...base, id: made.id, name: 'Upd 2', assetClass: 'loan' });
    expect(byId).toMatchObject({ id: made.id, name: 'Upd 2', assetClass: 'LOAN', isin: isin('US00UPDT001'), maturityDate: '2030-01-15', issuer: { id: issuer.id } });
    const byIsin = await created({ ...base, name: 'Upd 3', isin: isin('US00UPDT001'), issuerId: otherIssuer.id, maturityDate: null });
    expect(byIsin).toMatchObject({ id: made.id, name: 'Upd 3', maturityDate: null, issuer: { id: otherIssuer.id } });
    const byCusip = await created({ ...base, name: 'Upd 4', cusip: cusip('00UPDT01'), currency: 'EUR', issuerId: null });
    expect(byCusip).toMatchObject({ id: made.id, name: 'Upd 4', currency: 'EUR', issuer: null, cusip: cusip('00UPDT01') });
    expect(await instrumentRows()).toBe(before);
  });

  it('rejects invalid fields naming them, writing nothing', async () => {
    const before = await instrumentRows();
    const cases: [Record<string, unknown>, string, string][] = [
      [{ assetClass: 'SWAP' }, 'BAD_USER_INPUT', 'input.assetClass'],
      [{ name: '  ' }, 'BAD_USER_INPUT', 'input.name'],
      [{ isin: wrongCheck(isin('US00BADD001')) }, 'BAD_USER_INPUT', 'input.isin'],
      [{ cusip: wrongCheck(cusip('00BADD01')) }, 'BAD_USER_INPUT', 'input.cusip'],
      [{ ticker: 'no!good' }, 'BAD_USER_INPUT', 'input.ticker'],
      [{ issuerId: MISSING }, 'NOT_FOUND', 'input.issuerId'],
      [{ issuerId: 'bogus' }, 'NOT_FOUND', 'input.issuerId'],
      [{ issuerId: sector.id }, 'BAD_USER_INPUT', 'input.issuerId'],
      [{ id: MISSING }, 'NOT_FOUND', 'input.id'],
    ];
    for (const [fields, code, field] of cases) expectError(await upsert({ ...base, ...fields }), code, field);
    const currency = await upsert({ ...base, currency: 'ABC' });
    expect(currency.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
    expect(await instrumentRows()).toBe(before);
  });

  it('answers CONFLICT for identifiers of different instruments and for a taken ISIN, CUSIP or ticker', async () => {
    const a = await created({ ...base, name: 'Conf A', isin: isin('US00CONF001'), ticker: 'CONF.A' });
    const b = await created({ ...base, name: 'Conf B', cusip: cusip('00CONF02'), ticker: 'CONF.B' });
    const before = await instrumentRows();
    expectError(await upsert({ ...base, isin: isin('US00CONF001'), cusip: cusip('00CONF02') }), 'CONFLICT', 'input.cusip');
    expectError(await upsert({ ...base, isin: isin('US00CONF001'), ticker: 'conf.b' }), 'CONFLICT', 'input.ticker');
    expectError(await upsert({ ...base, id: b.id, isin: isin('US00CONF001') }), 'CONFLICT', 'input.isin');
    expectError(await upsert({ ...base, id: a.id, cusip: cusip('00CONF02') }), 'CONFLICT', 'input.cusip');
    expectError(await upsert({ ...base, name: 'New', ticker: 'CONF.A' }), 'CONFLICT', 'input.ticker');
    expect(await instrumentRows()).toBe(before);
    const unchanged = await graphql(api.url, 'query($id: ID!) { instrument(id: $id) { name isin cusip ticker } }', { id: b.id });
    expect(unchanged.data!.instrument).toEqual({ name: 'Conf B', isin: null, cusip: cusip('00CONF02'), ticker: 'CONF.B' });
  });
});
