// A position's versions never overlap as known at any moment, whoever writes
// them: checked at the end of every statement that inserts or updates versions
// (SQLSTATE 23P01, as an exclusion constraint would), through the btree index;
// a statement that writes versions of an existing position also stamps the
// position as recorded (its last_recorded_at), so pinned reads see the change.
// The concurrent case (two writers of one position) is in
// test/postgres/positionVersionRace.test.ts.
import { createChain, createInstrument, createPosition } from '../support/factories';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let chain: Awaited<ReturnType<typeof createChain>>;
let instrumentId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  chain = await createChain(t.db, 'Overlap');
  instrumentId = (await createInstrument(t.db)).id;
});
afterAll(async () => {
  await t?.drop();
});

const open = async () => (await createPosition(t.db, { portfolioNodeId: chain.book.id, instrumentId })).id;
const insert = (id: string, validFrom: string, validTo: string | null, recordedAt: string, supersededAt: string | null) =>
  t.db.sql.query(
    `INSERT INTO position_version (position_id, valid_from, valid_to, quantity, status, recorded_at, superseded_at)
     VALUES ($1::uuid, $2::date, $3::date, 7, 'ACTIVE', $4::timestamptz, $5::timestamptz)`,
    [id, validFrom, validTo, recordedAt, supersededAt],
  );

async function refused(write: Promise<unknown>): Promise<void> {
  const error = await write.then(() => null, (e: unknown) => e as { code?: string; message?: string });
  expect(error).not.toBeNull();
  expect(error?.code ?? error?.message).toMatch(/23P01|overlaps version/);
}

const versions = async (id: string) =>
  (await t.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM position_version WHERE position_id = $1::uuid`, [id]))[0]!.n;
const stamp = async (id: string) =>
  (await t.db.sql.query<{ at: string }>(`SELECT last_recorded_at::text AS at FROM position WHERE id = $1::uuid`, [id]))[0]!.at;

describe('position versions never overlap as known at any moment', () => {
  it('refuses a version overlapping a current one in both valid and recorded time, and writes nothing', async () => {
    const id = await open();
    const before = await versions(id);
    await refused(insert(id, '2026-03-01', null, '2020-01-01T00:00:00Z', null)); // recorded until now: overlaps the open version
    await refused(insert(id, '1999-06-01', '2000-02-01', '2020-01-01T00:00:00Z', null)); // crosses the trade date, still recorded
    expect(await versions(id)).toBe(before);
  });

  it('accepts versions that overlap in one clock only, and stamps the position', async () => {
    const id = await open();
    const stamped = await stamp(id);
    // Held over the same dates, but recorded (and superseded) before the current version was recorded.
    await insert(id, '2026-03-01', null, '2020-01-01T00:00:00Z', '2020-06-01T00:00:00Z');
    // Recorded over the same time as that one, held before it.
    await insert(id, '2026-01-01', '2026-03-01', '2020-01-01T00:00:00Z', '2020-06-01T00:00:00Z');
    expect(await stamp(id) > stamped).toBe(true);
    // ...and then one overlapping both of those in both clocks is refused.
    await refused(insert(id, '2026-02-01', '2026-04-01', '2020-05-01T00:00:00Z', '2020-07-01T00:00:00Z'));
  });

  it('refuses two overlapping versions written by one statement, and an update that makes two overlap', async () => {
    const id = await open();
    await refused(t.db.sql.query(
      `INSERT INTO position_version (position_id, valid_from, valid_to, quantity, status, recorded_at, superseded_at)
       VALUES ($1::uuid, '2026-01-01', NULL, 1, 'ACTIVE', '2020-01-01', '2020-02-01'),
              ($1::uuid, '2026-02-01', NULL, 2, 'ACTIVE', '2020-01-15', '2020-03-01')`, [id]));
    await insert(id, '2026-01-01', null, '2020-01-01T00:00:00Z', '2020-02-01T00:00:00Z');
    await insert(id, '2026-01-01', null, '2020-02-01T00:00:00Z', '2020-03-01T00:00:00Z');
    // Extending the first one's recorded time into the second's.
    await refused(t.db.sql.query(
      `UPDATE position_version SET superseded_at = '2020-02-15' WHERE position_id = $1::uuid AND recorded_at = '2020-01-01T00:00:00Z'`, [id]));
  });

  it('lets the service and the database functions write versions as before', async () => {
    const id = await open();
    await t.db.sql.query(`SELECT position_change($1::uuid, 'ADJUST', 9, '2026-05-04'::date)`, [id]);
    await t.db.sql.query(`UPDATE position SET quantity = 11 WHERE id = $1::uuid`, [id]);
    await t.db.sql.query(`UPDATE position SET status = 'CLOSED' WHERE id = $1::uuid`, [id]);
    const [row] = await t.db.sql.query<{ status: string; current: number }>(
      `SELECT p.status::text AS status, (SELECT count(*)::int FROM position_version v WHERE v.position_id = p.id AND v.superseded_at IS NULL) AS current
       FROM position p WHERE p.id = $1::uuid`, [id]);
    expect(row!.status).toBe('CLOSED');
    expect(row!.current).toBeGreaterThanOrEqual(2);
    // Many new positions in one statement: their versions are not checked one by one, and are right.
    await t.db.sql.query(
      `INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy, opened_on)
       SELECT $1::uuid, $2::uuid, g, 'USD', '2026-01-02' FROM generate_series(1, 500) g`, [chain.strategy.id, instrumentId]);
    const [made] = await t.db.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM position_version v JOIN position p ON p.id = v.position_id WHERE p.portfolio_node_id = $1::uuid AND v.superseded_at IS NULL`,
      [chain.strategy.id]);
    expect(made!.n).toBe(500);
  });
});
