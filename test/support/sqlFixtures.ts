// Minimal valid rows inserted with plain SQL, for tests of the database's own
// rules (which must hold whatever the application does).
import { randomUUID } from 'node:crypto';
import type { SqlSession } from '../../src/db/sql';

export interface Fixture {
  fundId: string;
  deskId: string;
  bookId: string;
  issuerId: string;
  instrumentId: string;
  positionId: string;
  feedId: string;
}

export async function insertFixture(sql: SqlSession): Promise<Fixture> {
  const f: Fixture = {
    fundId: randomUUID(), deskId: randomUUID(), bookId: randomUUID(), issuerId: randomUUID(),
    instrumentId: randomUUID(), positionId: randomUUID(), feedId: randomUUID(),
  };
  await sql.query(`INSERT INTO portfolio_node (id, name, node_type, parent_id, base_ccy) VALUES ($1, 'Fund', 'FUND', NULL, 'USD')`, [f.fundId]);
  await sql.query(`INSERT INTO portfolio_node (id, name, node_type, parent_id, base_ccy) VALUES ($1, 'Desk', 'DESK', $2, 'USD')`, [f.deskId, f.fundId]);
  await sql.query(`INSERT INTO portfolio_node (id, name, node_type, parent_id, base_ccy) VALUES ($1, 'Book', 'BOOK', $2, 'USD')`, [f.bookId, f.deskId]);
  await sql.query(`INSERT INTO reference_data (id, entity_type, name, lei) VALUES ($1, 'ISSUER', 'Apple Inc.', 'HWUPKR0MPOU8FGXBT394')`, [f.issuerId]);
  await sql.query(`INSERT INTO instrument (id, name, asset_class, currency, isin, issuer_id) VALUES ($1, 'Apple 1.65% 2031', 'BOND', 'USD', 'US037833EB25', $2)`, [f.instrumentId, f.issuerId]);
  await sql.query(`INSERT INTO position (id, portfolio_node_id, instrument_id, quantity, base_ccy) VALUES ($1, $2, $3, '1000000', 'USD')`, [f.positionId, f.bookId, f.instrumentId]);
  await sql.query(
    `INSERT INTO market_data_feed (id, feed_type, as_of_date, source, payload_json, payload_hash, validation_status)
     VALUES ($1, 'FX_SPOT', '2026-06-30', 'TEST', '{"rates":[]}', $2, 'PASS')`,
    [f.feedId, 'a'.repeat(64)],
  );
  return f;
}
