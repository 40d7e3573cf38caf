// PostgreSQL only: two transactions writing overlapping versions of one
// position at once. The overlap check runs at the end of each statement; the
// position's row serialises the writers, so the second waits for the first and
// then sees its versions: refused (23P01) under READ COMMITTED, a
// serialization failure (40001) under REPEATABLE READ. Without the row the
// two checks would each miss the other's uncommitted version.
import { Client } from 'pg';
import { createChain, createInstrument, createPosition } from '../support/factories';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let nodeId: string;
let instrumentId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  nodeId = (await createChain(t.db, 'Race')).book.id;
  instrumentId = (await createInstrument(t.db)).id;
});
afterAll(async () => {
  await t?.drop();
});

const INSERT = `INSERT INTO position_version (position_id, valid_from, valid_to, quantity, status, recorded_at, superseded_at)
  VALUES ($1::uuid, '2026-01-01', NULL, 1, 'ACTIVE', $2::timestamptz, $3::timestamptz)`;

async function connected(): Promise<Client> {
  const client = new Client({ connectionString: t.url });
  await client.connect();
  return client;
}

it.each([
  ['READ COMMITTED', '23P01'],
  ['REPEATABLE READ', '40001'],
])('under %s the second writer of an overlapping version fails (%s), the first commits', async (isolation, code) => {
  const id = (await createPosition(t.db, { portfolioNodeId: nodeId, instrumentId })).id;
  const [a, b] = [await connected(), await connected()];
  try {
    await a.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    await b.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    await b.query('SELECT 1'); // b's snapshot is taken before a commits
    // Recorded in the past, before the position's own versions: each overlaps only the other.
    await a.query(INSERT, [id, '2020-01-01T00:00:00Z', '2020-06-01T00:00:00Z']);
    let bSettled = false;
    const second = b.query(INSERT, [id, '2020-03-01T00:00:00Z', '2020-09-01T00:00:00Z']).then(
      () => { bSettled = true; return null; },
      (e: { code?: string }) => { bSettled = true; return e; },
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bSettled).toBe(false); // waiting for a's row
    await a.query('COMMIT');
    const error = await second;
    expect(error?.code).toBe(code);
    await b.query('ROLLBACK');
    const [row] = await t.db.sql.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM position_version WHERE position_id = $1::uuid AND recorded_at < '2021-01-01'`, [id]);
    expect(row!.n).toBe(1);
  } finally {
    await a.end();
    await b.end();
  }
});
