// PostgreSQL only (test/postgres runs when TEST_DATABASE_URL is set): a second
// connection can hold a transaction open, which the single-connection
// embedded database cannot. The loser of an insert race on the snapshot's
// unique key waits for the winner, then answers the winner's row.
import { createChain, createInstrument, createPosition } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { waitForLockWait } from '../support/statements';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;

beforeAll(async () => {
  t = await createTestDatabase();
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

const createLean = async (nodeId: string, asOfDate: string) =>
  (await graphql(api.url, `mutation($n: ID!, $d: Date!) { createPortfolioSnapshot(nodeId: $n, asOfDate: $d) { created snapshot { id payloadHash } } }`, { n: nodeId, d: asOfDate }))
    .data!.createPortfolioSnapshot as { created: boolean; snapshot: { id: string; payloadHash: string } };

const waitForBlockedInsert = () => waitForLockWait(t.db.sql, 'INSERT INTO portfolio_snapshot');

it('makes the loser of an insert race wait for the winner and answer its row', async () => {
  const { book, desk } = await createChain(t.db, 'Race');
  const instrument = await createInstrument(t.db, { isin: null });
  const position = await createPosition(t.db, { portfolioNodeId: book.id, instrumentId: instrument.id, quantity: '1000.50' });
  await t.db.sql.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, '2026-06-30', 100.1, 'USD')`, [position.id]);
  const first = await createLean(desk.id, '2026-10-30');
  const [stored] = await t.db.sql.query<{ payload: string }>('SELECT payload_json::text AS payload FROM portfolio_snapshot WHERE id = $1', [first.snapshot.id]);
  await t.db.sql.query('DELETE FROM snapshot_probe WHERE snapshot_id = $1', [first.snapshot.id]);
  await t.db.sql.query('DELETE FROM portfolio_snapshot WHERE id = $1', [first.snapshot.id]);
  let loser: ReturnType<typeof createLean> | undefined;
  // The winner's insert is held open while the request checks (sees nothing), inserts (waits on the
  // unique key), then does nothing and reads the winner back.
  const winner = await t.db.sql.transaction(async (tx) => {
    const [row] = await tx.query<{ id: string }>(
      `INSERT INTO portfolio_snapshot (portfolio_node_id, as_of_date, payload_json, payload_hash) VALUES ($1, '2026-10-31', $2::jsonb, $3) RETURNING id::text`,
      [desk.id, stored!.payload, first.snapshot.payloadHash],
    );
    loser = createLean(desk.id, '2026-10-30');
    await waitForBlockedInsert();
    return row!;
  });
  expect(await loser).toEqual({ created: false, snapshot: { id: winner.id, payloadHash: first.snapshot.payloadHash } });
  const rows = await t.db.sql.query('SELECT id FROM portfolio_snapshot WHERE portfolio_node_id = $1', [desk.id]);
  expect(rows).toHaveLength(1);
});
