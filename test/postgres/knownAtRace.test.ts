// PostgreSQL only: a pinned answer never changes, even when a slow writer
// commits after the knownAt it would fall before. The writer's rows are
// stamped when it first records (before the knownAt) but become visible only
// at its commit (after it); a read pinned at that knownAt while the writer is
// in flight must not answer without them (a rerun after the commit would see
// them). The read waits for the writer (settling the knownAt) and answers with
// its rows, or is refused when the writer takes longer than the wait.
import { Client } from 'pg';
import { SETTLE_WAIT_MS } from '../../src/services/time/knownAt';
import { createChain, createInstrument, createPosition } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;
let fundId: string;
let positionId: string;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MV = `query($n: ID!, $k: DateTime) { portfolioNode(id: $n) { marketValue(asOf: "2026-06-30", knownAt: $k) { amount } } }`;

beforeAll(async () => {
  t = await createTestDatabase();
  const chain = await createChain(t.db, 'Slow writer');
  fundId = chain.fund.id;
  const instrument = await createInstrument(t.db);
  positionId = (await createPosition(t.db, { portfolioNodeId: chain.book.id, instrumentId: instrument.id })).id;
  await t.db.sql.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, '2026-06-30', 100, 'USD')`, [positionId]);
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

/** A transaction on a connection of its own that corrects the valuation now and commits after `holdMs`. */
async function slowCorrection(value: string, holdMs: number): Promise<{ recordedAt: Date; committed: Promise<void>; done: () => boolean }> {
  const client = new Client({ connectionString: t.url });
  await client.connect();
  await client.query('BEGIN');
  await client.query(`UPDATE valuation_result SET superseded_at = superseding_stamp(recorded_at) WHERE position_id = $1 AND superseded_at IS NULL`, [positionId]);
  const [row] = (await client.query<{ recorded_at: Date }>(
    `INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, '2026-06-30', $2, 'USD') RETURNING recorded_at`,
    [positionId, value],
  )).rows;
  let done = false;
  const committed = (async () => {
    await sleep(holdMs);
    await client.query('COMMIT');
    done = true;
    await client.end();
  })();
  return { recordedAt: row!.recorded_at, committed, done: () => done };
}

async function pinned(k: string) {
  const res = await graphql(api.url, MV, { n: fundId, k });
  return { res, amount: res.data?.portfolioNode?.marketValue?.amount as string | undefined };
}

it('waits for a writer in flight whose stamp precedes the knownAt, then answers with its rows, the same ever after', async () => {
  const writer = await slowCorrection('250', 800);
  await sleep(20);
  const k = new Date().toISOString(); // after the writer's stamp, before its commit
  expect(writer.recordedAt.getTime()).toBeLessThan(Date.parse(k));
  const during = await pinned(k);
  expect(writer.done()).toBe(true); // it answered only once the writer had committed
  await writer.committed;
  expect(during.res.errors).toBeUndefined();
  expect(during.amount).toBe('250');
  const after = await pinned(k);
  expect(after.amount).toBe(during.amount);
});

it('refuses a knownAt that a writer still in flight after the wait would change, and answers once it has committed', async () => {
  const writer = await slowCorrection('300', SETTLE_WAIT_MS + 1_500);
  await sleep(20);
  const k = new Date().toISOString();
  const during = await pinned(k);
  expect(during.res.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'knownAt' });
  expect(during.res.errors?.[0]?.message).toMatch(/not settled yet/);
  await writer.committed;
  expect((await pinned(k)).amount).toBe('300');
  // A knownAt before the writer's stamp was never affected.
  const before = new Date(writer.recordedAt.getTime() - 1).toISOString();
  expect((await pinned(before)).amount).toBe('250');
});

it('lets a reader pinned before any write in flight answer at once', async () => {
  const k = new Date().toISOString();
  await sleep(10);
  const writer = await slowCorrection('400', SETTLE_WAIT_MS + 2_000);
  const read = await pinned(k);
  expect(read.amount).toBe('300');
  expect(writer.done()).toBe(false); // it did not wait for the writer, whose stamp is after k
  await writer.committed;
  expect((await pinned(k)).amount).toBe('300');
});

it('is not held up by a writer of another database on the same server', async () => {
  const other = await createTestDatabase();
  try {
    const client = new Client({ connectionString: other.url });
    client.on('error', () => undefined); // the drop below ends it if an assertion failed first
    await client.connect();
    await client.query('BEGIN');
    await client.query('SELECT recording_stamp()'); // records in the other database, and stays in flight
    await sleep(20);
    const k = new Date().toISOString();
    const read = await pinned(k); // the other database's writer stays in flight throughout: no wait, no refusal
    expect(read.res.errors).toBeUndefined();
    expect(read.amount).toBe('400');
    await client.query('ROLLBACK');
    await client.end();
  } finally {
    await other.drop();
  }
});
