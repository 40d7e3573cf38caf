// Idempotency keys belong to the caller who sent them (issue 11, item 1): the
// same key from another caller is another key, and never finds, shows or
// blocks someone else's batch; the same caller's key still finds its batch,
// concurrently too, only while they may read it.
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import type { AuthConfig } from '../../src/config';
import { createChain, createInstrument } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose: typeof Jose = require('jose');
const SECRET = 'idempotency-test-secret-of-at-least-32-bytes';
const AUTH: AuthConfig = { mode: 'jwt', secret: SECRET, clockToleranceSec: 0 };

let t: TestDatabase;
let api: RunningService;
let a: Awaited<ReturnType<typeof createChain>>;
let b: Awaited<ReturnType<typeof createChain>>;
let instrumentId: string;

const token = (sub: string, funds: string[], roles = ['INGESTOR']) =>
  new jose.SignJWT({ roles, funds }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));

const UPLOAD = `mutation($input: PositionUploadInput!) { uploadPositions(input: $input) {
  id batchType status sourceSystem idempotencyKey rowCount acceptedCount rejectedCount startedAt completedAt
  errors { row field code message } lineage { sourceSystem transformationChain metadata } } }`;
const BATCH = 'query($id: ID!) { ingestionBatch(id: $id) { id sourceSystem } }';

async function upload(tok: string, input: Record<string, unknown>) {
  const res = await graphql(api.url, UPLOAD, { input }, { authorization: `Bearer ${tok}` });
  return { res, text: JSON.stringify(res.data ?? null) + JSON.stringify(res.errors ?? null), batch: res.data?.uploadPositions };
}

const rows = (nodeId: string, n: number, quantity = '10') => Array.from({ length: n }, () => ({ nodeId, instrumentId, quantity, baseCurrency: 'USD' }));
const positionsIn = async (nodeId: string) =>
  (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM position WHERE portfolio_node_id = $1', [nodeId]))[0]!.n;
const batchesWithKey = async (key: string) =>
  t.db.sql.query<{ created_by: string | null; accepted_count: number; status: string }>(
    'SELECT created_by, accepted_count, status::text AS status FROM ingestion_batch WHERE idempotency_key = $1 ORDER BY created_by', [key],
  );

beforeAll(async () => {
  t = await createTestDatabase();
  a = await createChain(t.db, 'Alpha Credit');
  b = await createChain(t.db, 'Beta Rates');
  instrumentId = (await createInstrument(t.db)).id;
  api = await startService(t.db, { auth: AUTH });
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

it('never answers with another caller\'s batch: the second caller\'s rows are written as their own batch', async () => {
  const alice = await token('alice', [a.fund.id]);
  // Alice's batch names her fund's nodes in its errors (a row on her FUND) and its lineage.
  const first = await upload(alice, {
    sourceSystem: 'alice-secret-system', idempotencyKey: 'shared-key-1', mode: 'SKIP_INVALID',
    rows: [...rows(a.book.id, 3), ...rows(a.fund.id, 1)],
  });
  expect(first.res.errors).toBeUndefined();
  expect(first.batch).toMatchObject({ status: 'COMPLETED', acceptedCount: 3, rejectedCount: 1 });
  expect(first.text).toContain('Alpha Credit Fund');

  for (const funds of [[b.fund.id], []]) {
    const bob = await token(`bob-${funds.length}`, funds);
    const probe = await upload(bob, { sourceSystem: 'x', idempotencyKey: 'shared-key-1', rows: [] });
    expect(probe.res.errors).toBeUndefined();
    for (const secret of [first.batch.id, 'alice-secret-system', 'Alpha Credit', a.fund.id, a.book.id]) expect(probe.text).not.toContain(secret);
    expect(probe.batch).toMatchObject({ sourceSystem: 'x', rowCount: 0, acceptedCount: 0, rejectedCount: 0, errors: [] });
    // Another batch type does not reach Alice's batch either.
    const loans = await upload(bob, { sourceSystem: 'y', batchType: 'LOAN_SERVICING', idempotencyKey: 'shared-key-1', rows: [] });
    expect(loans.batch.id).toBe(probe.batch.id); // the key is Bob's now: his first batch, whatever the type
    expect(loans.text).not.toContain(first.batch.id);
    // Alice's batch stays invisible by id, as before.
    const byId = await graphql(api.url, BATCH, { id: first.batch.id }, { authorization: `Bearer ${bob}` });
    expect(byId.data!.ingestionBatch).toBeNull();
  }

  // A caller of fund B whose first use of the key carries rows gets them written, as a batch of their own.
  const carol = await token('carol', [b.fund.id]);
  const before = await positionsIn(b.book.id);
  const own = await upload(carol, { sourceSystem: 'carol-system', idempotencyKey: 'shared-key-1', rows: rows(b.book.id, 4) });
  expect(own.res.errors).toBeUndefined();
  expect(own.batch).toMatchObject({ status: 'COMPLETED', sourceSystem: 'carol-system', rowCount: 4, acceptedCount: 4 });
  expect(own.batch.id).not.toBe(first.batch.id);
  expect(own.text).not.toContain('alice-secret-system');
  expect(await positionsIn(b.book.id)).toBe(before + 4);
  // And her key now works for her: the same upload again writes nothing.
  const again = await upload(carol, { sourceSystem: 'carol-system', idempotencyKey: 'shared-key-1', rows: rows(b.book.id, 4) });
  expect(again.batch.id).toBe(own.batch.id);
  expect(await positionsIn(b.book.id)).toBe(before + 4);
  expect((await batchesWithKey('shared-key-1')).map((r) => r.created_by)).toEqual(['alice', 'bob-0', 'bob-1', 'carol']);
});

it('gives two callers who send the same key at the same time a batch each, with their own rows', async () => {
  const alice = await token('alice', [a.fund.id]);
  const bob = await token('bob', [b.fund.id]);
  const [beforeA, beforeB] = [await positionsIn(a.book.id), await positionsIn(b.book.id)];
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 === 0
    ? upload(alice, { sourceSystem: 'alice', idempotencyKey: 'race-key', rows: rows(a.book.id, 5) })
    : upload(bob, { sourceSystem: 'bob', idempotencyKey: 'race-key', rows: rows(b.book.id, 7) }))));
  for (const r of results) expect(r.res.errors).toBeUndefined();
  const ids = (source: string) => new Set(results.filter((r) => r.batch.sourceSystem === source).map((r) => r.batch.id));
  expect(ids('alice').size).toBe(1);
  expect(ids('bob').size).toBe(1);
  expect([...ids('alice')][0]).not.toBe([...ids('bob')][0]);
  expect(await batchesWithKey('race-key')).toEqual([
    { created_by: 'alice', accepted_count: 5, status: 'COMPLETED' },
    { created_by: 'bob', accepted_count: 7, status: 'COMPLETED' },
  ]);
  expect(await positionsIn(a.book.id)).toBe(beforeA + 5);
  expect(await positionsIn(b.book.id)).toBe(beforeB + 7);
});

it('makes one batch of simultaneous uploads by one caller with one key', async () => {
  const alice = await token('alice', [a.fund.id]);
  const before = await positionsIn(a.strategy.id);
  const results = await Promise.all(Array.from({ length: 8 }, () => upload(alice, { sourceSystem: 's', idempotencyKey: 'same-caller', rows: rows(a.strategy.id, 9) })));
  expect(new Set(results.map((r) => r.batch.id)).size).toBe(1);
  expect(await batchesWithKey('same-caller')).toEqual([{ created_by: 'alice', accepted_count: 9, status: 'COMPLETED' }]);
  expect(await positionsIn(a.strategy.id)).toBe(before + 9);
});

it('refuses a caller\'s own key once they may no longer read its batch, and writes nothing', async () => {
  const dave = await token('dave', [a.fund.id]);
  const first = await upload(dave, { sourceSystem: 'dave', idempotencyKey: 'dave-key', rows: rows(a.book.id, 2) });
  expect(first.batch.status).toBe('COMPLETED');
  const daveNow = await token('dave', [b.fund.id]); // dave moved to fund B
  const before = await positionsIn(b.book.id);
  const again = await upload(daveNow, { sourceSystem: 'dave', idempotencyKey: 'dave-key', rows: rows(b.book.id, 2) });
  expect(again.res.errors![0]!.extensions).toMatchObject({ code: 'CONFLICT', field: 'input.idempotencyKey' });
  expect(again.text).not.toContain(first.batch.id);
  expect(again.text).not.toContain('Alpha');
  expect(await positionsIn(b.book.id)).toBe(before);
});

it('keeps the meaning of a key stored before keys had senders: found by callers who may read its batch only', async () => {
  // A row of a database migrated from before 20261204100000: the constraint is NOT VALID for such rows.
  const [legacy] = await t.db.sql.transaction(async (tx) => {
    await tx.query('ALTER TABLE ingestion_batch DROP CONSTRAINT ingestion_batch_keyed_has_sender');
    const inserted = await tx.query<{ id: string }>(
      `INSERT INTO ingestion_batch (batch_type, status, source_system, idempotency_key, created_by, fund_ids, row_count, accepted_count)
       VALUES ('POSITION_UPLOAD', 'COMPLETED', 'legacy-system', 'legacy-key', NULL, ARRAY[$1::uuid], 1, 1) RETURNING id::text AS id`,
      [a.fund.id],
    );
    await tx.query(`ALTER TABLE ingestion_batch ADD CONSTRAINT ingestion_batch_keyed_has_sender
      CHECK (idempotency_key IS NULL OR created_by IS NOT NULL) NOT VALID`);
    return inserted;
  });
  const alice = await token('alice', [a.fund.id]);
  const mine = await upload(alice, { sourceSystem: 'x', idempotencyKey: 'legacy-key', rows: rows(a.book.id, 1) });
  expect(mine.batch).toMatchObject({ id: legacy!.id, sourceSystem: 'legacy-system' });
  const bob = await token('bob', [b.fund.id]);
  const other = await upload(bob, { sourceSystem: 'x', idempotencyKey: 'legacy-key', rows: rows(b.book.id, 1) });
  expect(other.text).not.toContain(legacy!.id);
  expect(other.batch).toMatchObject({ sourceSystem: 'x', acceptedCount: 1 });
});

it('refuses a keyed batch without a sender at the database', async () => {
  await expect(t.db.sql.query(
    `INSERT INTO ingestion_batch (batch_type, status, source_system, idempotency_key) VALUES ('POSITION_UPLOAD', 'STARTED', 's', 'no-sender')`,
  )).rejects.toThrow(/ingestion_batch_keyed_has_sender/);
});
