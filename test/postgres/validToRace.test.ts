// PostgreSQL only: two transactions writing valuations of the same position at
// the same time. valid_to (the date a valuation stops being in force) must come
// out as if they had run one after the other: exactly one valuation in force
// today, each older one ending where the next begins. Before the refresh locked
// the positions, the second writer computed the chain without the first's row
// and left two valuations in force (the position then counted twice).
import { createChain, createInstrument, createPosition } from '../support/factories';
import { waitForLockWait } from '../support/statements';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

const waitForBlockedInsert = () => waitForLockWait(t.db.sql, 'INSERT INTO valuation_result');

const insert = `INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, $2, $3, 'USD')`;

async function chain(positionId: string) {
  return t.db.sql.query<{ as_of_date: string; valid_to: string | null }>(
    `SELECT to_char(as_of_date, 'YYYY-MM-DD') AS as_of_date, to_char(valid_to, 'YYYY-MM-DD') AS valid_to
     FROM valuation_result WHERE position_id = $1 ORDER BY as_of_date`, [positionId]);
}

it.each([
  ['the later date second', '2026-10-30', '2026-11-30'],
  ['the earlier date second', '2026-11-30', '2026-10-30'],
])('keeps one valuation in force when two transactions value the same position at once (%s)', async (_name, firstDate, secondDate) => {
  const { book } = await createChain(t.db, `Race ${firstDate}`);
  const instrument = await createInstrument(t.db, { isin: null });
  const position = await createPosition(t.db, { portfolioNodeId: book.id, instrumentId: instrument.id });
  await t.db.sql.query(insert, [position.id, '2026-09-30', '100']);
  let second: Promise<unknown> | undefined;
  await t.db.sql.transaction(async (tx) => {
    await tx.query(insert, [position.id, firstDate, '200']);
    second = t.db.sql.query(insert, [position.id, secondDate, '300']);
    await waitForBlockedInsert();
  });
  await second;
  expect(await chain(position.id)).toEqual([
    { as_of_date: '2026-09-30', valid_to: '2026-10-30' },
    { as_of_date: '2026-10-30', valid_to: '2026-11-30' },
    { as_of_date: '2026-11-30', valid_to: null },
  ]);
  // The latest valuation kept on the position is the one of 2026-11-30, whoever wrote it.
  const [latest] = await t.db.sql.query<{ d: string; v: string }>(
    `SELECT to_char(latest_as_of, 'YYYY-MM-DD') AS d, latest_market_value::text AS v FROM position WHERE id = $1`, [position.id]);
  expect(latest).toEqual({ d: '2026-11-30', v: firstDate === '2026-11-30' ? '200.00000000' : '300.00000000' });
});
