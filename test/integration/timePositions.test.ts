// Positions on both clocks through HTTP: held between dates (openPosition's
// tradeDate, adjustPosition, closePosition(effectiveDate), deletePosition),
// their history and holding as known at a moment, valuation corrections kept
// as versions, and the input rules (dates before openedOn, after closedOn, in
// the future; knownAt in the future).
import { createChain, createInstrument } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { moment } from '../support/moments';

let t: TestDatabase;
let api: RunningService;
let chain: Awaited<ReturnType<typeof createChain>>;
let instrumentId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  chain = await createChain(t.db, 'Time');
  instrumentId = (await createInstrument(t.db)).id;
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

const today = () => new Date().toISOString().slice(0, 10);

async function ok<T = any>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await graphql(api.url, query, variables);
  expect(res.errors).toBeUndefined();
  return res.data as T;
}

async function fails(query: string, variables: Record<string, unknown>, code: string, field: string): Promise<void> {
  const res = await graphql(api.url, query, variables);
  expect(res.errors?.[0]?.extensions).toMatchObject({ code, field });
}

const OPEN = `mutation($input: OpenPositionInput!) { openPosition(input: $input) { id openedOn closedOn status quantity } }`;
const ADJUST = `mutation($input: AdjustPositionInput!) { adjustPosition(input: $input) { id quantity status openedOn closedOn } }`;
const CLOSE = `mutation($id: ID!, $d: Date) { closePosition(id: $id, effectiveDate: $d) { id status closedOn quantity } }`;
const DELETE = `mutation($id: ID!) { deletePosition(id: $id) { id status } }`;
const RECORD = `mutation($input: [ValuationInput!]!) { recordValuations(input: $input) }`;
const HISTORY = `query($id: ID!, $k: DateTime) { position(id: $id) { history(knownAt: $k) { validFrom validTo quantity status recordedAt supersededAt } } }`;
const HOLDING = `query($id: ID!, $d: Date!, $k: DateTime) { position(id: $id) { holding(asOf: $d, knownAt: $k) { asOf quantity status } } }`;

async function open(quantity: string, tradeDate: string, nodeId = chain.book.id): Promise<string> {
  const data = await ok(OPEN, { input: { nodeId, instrumentId, quantity, baseCurrency: 'USD', tradeDate } });
  expect(data.openPosition).toMatchObject({ openedOn: tradeDate, closedOn: null, status: 'ACTIVE' });
  return data.openPosition.id;
}

const history = async (id: string, k?: string) =>
  (await ok(HISTORY, { id, k })).position.history.map((v: Record<string, unknown>) => [v.validFrom, v.validTo, v.quantity, v.status]);
const holding = async (id: string, d: string, k?: string) => (await ok(HOLDING, { id, d, k })).position.holding;

describe('positions held between dates', () => {
  it('opens on its trade date (default today) and refuses a trade date in the future', async () => {
    const data = await ok(OPEN, { input: { nodeId: chain.book.id, instrumentId, quantity: '5', baseCurrency: 'USD' } });
    expect(data.openPosition.openedOn).toBe(today());
    await fails(OPEN, { input: { nodeId: chain.book.id, instrumentId, quantity: '5', baseCurrency: 'USD', tradeDate: '2999-01-01' } }, 'BAD_USER_INPUT', 'input.tradeDate');
  });

  it('splits the version in force on a back-dated adjustment and keeps the later changes', async () => {
    const id = await open('100', '2026-01-05');
    await ok(ADJUST, { input: { positionId: id, quantity: '150', effectiveDate: '2026-03-01' } });
    const beforeBackDate = await moment();
    // Back-dated before the March change: only January-February's version is split.
    const adjusted = await ok(ADJUST, { input: { positionId: id, quantity: '120', effectiveDate: '2026-02-01' } });
    expect(adjusted.adjustPosition.quantity).toBe('150'); // today's, as known now: the March change still holds
    expect(await history(id)).toEqual([
      ['2026-01-05', '2026-02-01', '100', 'ACTIVE'], ['2026-02-01', '2026-03-01', '120', 'ACTIVE'], ['2026-03-01', null, '150', 'ACTIVE'],
    ]);
    expect(await history(id, beforeBackDate)).toEqual([['2026-01-05', '2026-03-01', '100', 'ACTIVE'], ['2026-03-01', null, '150', 'ACTIVE']]);
    expect(await holding(id, '2026-02-15')).toEqual({ asOf: '2026-02-15', quantity: '120', status: 'ACTIVE' });
    expect(await holding(id, '2026-02-15', beforeBackDate)).toEqual({ asOf: '2026-02-15', quantity: '100', status: 'ACTIVE' });
    expect(await holding(id, '2026-01-04')).toBeNull();
    // The superseded version says when it stopped being current; the new ones are current.
    const all = (await ok(HISTORY, { id, k: beforeBackDate })).position.history;
    expect(all[0].supersededAt).not.toBeNull();
    expect((await ok(HISTORY, { id })).position.history.every((v: { supersededAt: unknown }) => v.supersededAt === null)).toBe(true);
  });

  it('refuses an adjustment before openedOn, on or after closedOn, or in the future, and writes nothing', async () => {
    const id = await open('10', '2026-04-01');
    await ok(CLOSE, { id, d: '2026-06-01' });
    const before = await history(id);
    for (const date of ['2026-03-31', '2026-06-01', '2026-07-01']) {
      await fails(ADJUST, { input: { positionId: id, quantity: '11', effectiveDate: date } }, 'BAD_USER_INPUT', 'input.effectiveDate');
    }
    const fresh = await open('10', '2026-04-01');
    await fails(ADJUST, { input: { positionId: fresh, quantity: '11', effectiveDate: '2999-01-01' } }, 'BAD_USER_INPUT', 'input.effectiveDate');
    expect(await history(id)).toEqual(before);
  });

  it('closes from a date (the trade date is held, the close date is not), moves a close back, refuses a later one', async () => {
    const id = await open('10', '2026-05-01');
    const closed = await ok(CLOSE, { id, d: '2026-05-20' });
    expect(closed.closePosition).toMatchObject({ status: 'CLOSED', closedOn: '2026-05-20', quantity: '10' });
    expect(await holding(id, '2026-05-01')).toMatchObject({ quantity: '10' });
    expect(await holding(id, '2026-05-19')).toMatchObject({ quantity: '10' });
    expect(await holding(id, '2026-05-20')).toBeNull();
    // The same date again changes nothing; a later one is a change after closedOn.
    expect((await ok(CLOSE, { id, d: '2026-05-20' })).closePosition.closedOn).toBe('2026-05-20');
    await fails(CLOSE, { id, d: '2026-05-21' }, 'BAD_USER_INPUT', 'effectiveDate');
    await fails(CLOSE, { id, d: '2026-04-30' }, 'BAD_USER_INPUT', 'effectiveDate');
    // An earlier close date corrects the close.
    expect((await ok(CLOSE, { id, d: '2026-05-10' })).closePosition.closedOn).toBe('2026-05-10');
    expect(await holding(id, '2026-05-15')).toBeNull();
    expect(await history(id)).toEqual([['2026-05-01', '2026-05-10', '10', 'ACTIVE'], ['2026-05-10', null, '10', 'CLOSED']]);
  });

  it('deletes a position entered in error: never held as known now, held as known before', async () => {
    const id = await open('7', '2026-02-01');
    const before = await moment();
    expect((await ok(DELETE, { id })).deletePosition.status).toBe('DELETED');
    expect(await holding(id, '2026-03-01')).toBeNull();
    expect(await holding(id, '2026-03-01', before)).toMatchObject({ quantity: '7' });
    expect(await history(id)).toEqual([['2026-02-01', null, '7', 'DELETED']]);
    expect((await ok(DELETE, { id })).deletePosition.status).toBe('DELETED');
    await fails(ADJUST, { input: { positionId: id, quantity: '1', effectiveDate: '2026-03-01' } }, 'CONFLICT', 'input.positionId');
    await fails(CLOSE, { id, d: '2026-03-01' }, 'CONFLICT', 'id');
  });

  it('lists the positions held on a date as known at a moment, and by their state on that date', async () => {
    const { book } = await createChain(t.db, 'Listing');
    const a = await open('1', '2026-01-10', book.id);
    const b = await open('2', '2026-03-10', book.id);
    await ok(CLOSE, { id: a, d: '2026-04-01' });
    const beforeDelete = await moment();
    await ok(DELETE, { id: b });
    const LIST = `query($n: ID!, $d: Date, $k: DateTime, $s: [PositionStatus!]) { portfolioNode(id: $n) {
      positions(asOf: $d, knownAt: $k, status: $s) { totalCount edges { node { id } } } } }`;
    const ids = async (d: string, k?: string, s?: string[]) => {
      const conn = (await ok(LIST, { n: book.id, d, k, s })).portfolioNode.positions;
      expect(conn.totalCount).toBe(conn.edges.length);
      return conn.edges.map((e: { node: { id: string } }) => e.node.id).sort();
    };
    expect(await ids('2026-01-09')).toEqual([]);
    expect(await ids('2026-02-01')).toEqual([a]);
    expect(await ids('2026-03-15')).toEqual([a]); // b was entered in error
    expect(await ids('2026-03-15', beforeDelete)).toEqual([a, b].sort());
    expect(await ids('2026-04-01')).toEqual([]);
    expect(await ids('2026-04-01', undefined, ['CLOSED'])).toEqual([a]);
    expect(await ids('2026-04-01', undefined, ['DELETED'])).toEqual([b]);
    // Without asOf: today's state as known now, every status.
    const all = await ok(`query($n: ID!) { portfolioNode(id: $n) { positions { totalCount } } }`, { n: book.id });
    expect(all.portfolioNode.positions.totalCount).toBe(2);
    await fails(`query($n: ID!, $k: DateTime) { portfolioNode(id: $n) { positions(knownAt: $k) { totalCount } } }`, { n: book.id, k: beforeDelete }, 'BAD_USER_INPUT', 'knownAt');
  });

  it('refuses a knownAt in the future', async () => {
    const id = await open('1', '2026-01-10');
    await fails(HOLDING, { id, d: '2026-02-01', k: new Date(Date.now() + 3_600_000).toISOString() }, 'BAD_USER_INPUT', 'knownAt');
  });
});

describe('valuation corrections', () => {
  const VALUATION = `query($id: ID!, $d: Date!, $k: DateTime) { position(id: $id) {
    valuation(asOf: $d, knownAt: $k) { asOfDate marketValue currency recordedAt supersededAt }
    valuationVersions(asOfDate: "2026-06-30") { marketValue supersededAt } } }`;

  it('keeps every recorded version: the earlier one stays readable with an earlier knownAt', async () => {
    const id = await open('1', '2026-01-02');
    await ok(RECORD, { input: [{ positionId: id, asOfDate: '2026-06-30', marketValue: '100', currency: 'USD' }] });
    const first = await moment();
    await ok(RECORD, { input: [{ positionId: id, asOfDate: '2026-06-30', marketValue: '105.5', currency: 'USD' }] });
    const now = (await ok(VALUATION, { id, d: '2026-07-15' })).position;
    expect(now.valuation).toMatchObject({ asOfDate: '2026-06-30', marketValue: '105.5', supersededAt: null });
    expect(now.valuationVersions.map((v: { marketValue: string }) => v.marketValue)).toEqual(['105.5', '100']);
    expect(now.valuationVersions[1].supersededAt).toBe(now.valuation.recordedAt);
    const then = (await ok(VALUATION, { id, d: '2026-07-15', k: first })).position;
    expect(then.valuation).toMatchObject({ marketValue: '100' });
    // A valuation dated before the position was opened is refused.
    await fails(RECORD, { input: [{ positionId: id, asOfDate: '2026-01-01', marketValue: '1', currency: 'USD' }] }, 'BAD_USER_INPUT', 'input[0].asOfDate');
  });
});
