// Every rule the database itself enforces rejects bad data with PostgreSQL's
// own error (SQLSTATE and constraint name), whatever the application does.
import { randomUUID } from 'node:crypto';
import { insertFixture, type Fixture } from '../support/sqlFixtures';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let f: Fixture;

beforeAll(async () => {
  t = await createTestDatabase();
  f = await insertFixture(t.db.sql);
});
afterAll(() => t?.drop());

interface DbError {
  code?: string;
  constraint?: string;
}

/** Runs the statement in a transaction that is always rolled back, and returns the error it raised. */
async function rejection(sql: string, params: unknown[] = []): Promise<DbError> {
  const marker = new Error('rollback');
  try {
    await t.db.sql.transaction(async (tx) => {
      await tx.query(sql, params);
      throw marker;
    });
  } catch (error) {
    if (error === marker) throw new Error(`statement was accepted: ${sql}`);
    return error as DbError;
  }
  throw new Error('unreachable');
}

const node = (type: string, parent: string | null, ccy = 'USD') =>
  [`INSERT INTO portfolio_node (name, node_type, parent_id, base_ccy) VALUES ('n', $1, $2, $3)`, [type, parent, ccy]] as const;

describe('enumerations', () => {
  it.each([
    ['portfolio_node.node_type', `INSERT INTO portfolio_node (name, node_type, base_ccy) VALUES ('x', 'REGION', 'USD')`],
    ['position.status', `UPDATE position SET status = 'OPEN'`],
    ['rating_history.agency', `INSERT INTO rating_history (entity_id, agency, rating, as_of_date) SELECT id, 'KROLL', 'AAA', '2026-01-01' FROM reference_data`],
    ['market_data_feed.validation_status', `UPDATE market_data_feed SET validation_status = 'OK'`],
    ['ingestion_batch.batch_type', `INSERT INTO ingestion_batch (batch_type, source_system) VALUES ('TRADES', 's')`],
    ['instrument.asset_class', `UPDATE instrument SET asset_class = 'FUTURE'`],
  ])('%s rejects a value outside the enum', async (_name, sql) => {
    expect((await rejection(sql)).code).toBe('22P02'); // invalid_text_representation
  });
});

describe('foreign keys', () => {
  it.each([
    ['position_portfolio_node_id_fkey', `INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy) VALUES ($1, $2, 1, 'USD')`, () => [randomUUID(), f.instrumentId]],
    ['position_instrument_id_fkey', `INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy) VALUES ($1, $2, 1, 'USD')`, () => [f.bookId, randomUUID()]],
    ['valuation_result_position_id_portfolio_node_id_fkey', `INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, '2026-06-30', 1, 'USD')`, () => [randomUUID()]],
    ['valuation_result_position_id_portfolio_node_id_fkey', `INSERT INTO valuation_result (position_id, portfolio_node_id, as_of_date, market_value, currency) VALUES ($1, $2, '2026-06-30', 1, 'USD')`, () => [randomUUID(), f.bookId]],
    // A valuation's node is its position's: another node is refused.
    ['valuation_result_position_id_portfolio_node_id_fkey', `INSERT INTO valuation_result (position_id, portfolio_node_id, as_of_date, market_value, currency) VALUES ($1, $2, '2026-06-30', 1, 'USD')`, () => [f.positionId, f.deskId]],
    ['fx_spot_snapshot_id_fkey', `INSERT INTO fx_spot (pair, snapshot_id, rate) VALUES ('EURUSD', $1, 1.1)`, () => [randomUUID()]],
    ['portfolio_node_parent_id_fkey', `INSERT INTO portfolio_node (name, node_type, parent_id, base_ccy) VALUES ('d', 'DESK', $1, 'USD')`, () => [randomUUID()]],
    ['rating_history_entity_id_fkey', `INSERT INTO rating_history (entity_id, agency, rating, as_of_date) VALUES ($1, 'SP', 'AAA', '2026-01-01')`, () => [randomUUID()]],
  ])('%s rejects a dangling reference', async (constraint, sql, params) => {
    const error = await rejection(sql, params());
    expect(error.code).toBe('23503'); // foreign_key_violation
    expect(error.constraint).toBe(constraint);
  });

  it('a valuation inserted without its node gets its position\'s', async () => {
    await t.db.sql.transaction(async (tx) => {
      const [row] = await tx.query<{ node: string }>(
        `INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1, '2026-05-29', 1, 'USD') RETURNING portfolio_node_id AS node`, [f.positionId]);
      const [position] = await tx.query<{ node: string }>('SELECT portfolio_node_id AS node FROM position WHERE id = $1', [f.positionId]);
      expect(row!.node).toBe(position!.node);
      throw new Error('rollback');
    }).catch((e: Error) => expect(e.message).toBe('rollback'));
  });

  it('refuses to delete a node that still holds positions', async () => {
    const error = await rejection('DELETE FROM portfolio_node WHERE id = $1', [f.bookId]);
    // ON DELETE RESTRICT: foreign_key_violation on PostgreSQL 15, restrict_violation from 17 (PGlite).
    expect(['23503', '23001']).toContain(error.code);
    expect(error.constraint).toBe('position_portfolio_node_id_fkey');
  });
});

describe('unique keys', () => {
  it('stores a snapshot hash once per node, but the same hash for another node', async () => {
    const hash = 'b'.repeat(64);
    const insert = `INSERT INTO portfolio_snapshot (portfolio_node_id, as_of_date, payload_json, payload_hash) VALUES ($1, $2, '{}', $3)`;
    await t.db.sql.transaction(async (tx) => {
      await tx.query(insert, [f.bookId, '2026-06-30', hash]);
      await tx.query(insert, [f.deskId, '2026-06-30', hash]);
    });
    const error = await rejection(insert, [f.bookId, '2026-07-31', hash]);
    expect(error.code).toBe('23505'); // unique_violation
    expect(error.constraint).toBe('portfolio_snapshot_portfolio_node_id_payload_hash_key');
    // Hand-made rows (no real payload): gone before the database checks that its snapshots reproduce.
    await t.db.sql.query('DELETE FROM portfolio_snapshot WHERE payload_hash = $1', [hash]);
  });

  it.each([
    ['instrument_isin_key', `INSERT INTO instrument (name, asset_class, currency, isin) VALUES ('dup', 'BOND', 'USD', 'US037833EB25')`],
    ['reference_data_lei_key', `INSERT INTO reference_data (entity_type, name, lei) VALUES ('ISSUER', 'dup', 'HWUPKR0MPOU8FGXBT394')`],
    ['market_data_feed_feed_type_as_of_date_source_payload_hash_key', `INSERT INTO market_data_feed (feed_type, as_of_date, source, payload_json, payload_hash) VALUES ('FX_SPOT', '2026-06-30', 'TEST', '{}', '${'a'.repeat(64)}')`],
    ['valuation_result_current_date_xidx', `INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) SELECT id, '2026-01-01', v, 'USD' FROM position, (VALUES (1), (2)) AS t(v)`],
  ])('%s rejects a duplicate', async (constraint, sql) => {
    const error = await rejection(sql);
    expect(error.code).toBe('23505');
    expect(error.constraint).toBe(constraint);
  });

  it('rating_history keeps one current rating per entity, agency and date', async () => {
    const error = await rejection(
      `INSERT INTO rating_history (entity_id, agency, rating, as_of_date) VALUES ($1, 'SP', 'AAA', '2026-03-31'), ($1, 'SP', 'AA', '2026-03-31')`,
      [f.issuerId],
    );
    expect(error.code).toBe('23505');
    expect(error.constraint).toBe('rating_history_current_date_xidx');
  });
});

describe('CHECK constraints', () => {
  it.each([
    // A direct update is recorded as a change effective today: the new version refuses NaN first.
    ['position_version_quantity_check', `UPDATE position SET quantity = 'NaN'`],
    ['position_quantity_check', `INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy) SELECT portfolio_node_id, instrument_id, 'NaN', 'USD' FROM position`],
    ['position_version_valid_check', `INSERT INTO position_version (position_id, valid_from, valid_to, quantity, status) SELECT id, '2026-02-01', '2026-02-01', 1, 'ACTIVE' FROM position`],
    ['position_version_recorded_check', `UPDATE position_version SET superseded_at = recorded_at`],
    ['valuation_result_recorded_check', `INSERT INTO valuation_result (position_id, as_of_date, market_value, currency, recorded_at, superseded_at) SELECT id, '2026-01-01', 1, 'USD', now(), now() FROM position`],
    ['valuation_result_market_value_check', `INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) SELECT id, '2026-01-01', 'NaN', 'USD' FROM position`],
    ['fx_spot_rate_check', `INSERT INTO fx_spot (pair, snapshot_id, rate) SELECT 'EURUSD', id, 'NaN' FROM market_data_feed`],
    ['fx_spot_rate_check', `INSERT INTO fx_spot (pair, snapshot_id, rate) SELECT 'EURUSD', id, -1.1 FROM market_data_feed`],
    ['fx_spot_rate_check', `INSERT INTO fx_spot (pair, snapshot_id, rate) SELECT 'EURUSD', id, 0 FROM market_data_feed`],
    ['fx_spot_pair_check', `INSERT INTO fx_spot (pair, snapshot_id, rate) SELECT 'eurusd', id, 1.1 FROM market_data_feed`],
    ['fx_spot_pair_check', `INSERT INTO fx_spot (pair, snapshot_id, rate) SELECT 'EUREUR', id, 1 FROM market_data_feed`],
    ['position_base_ccy_check', `UPDATE position SET base_ccy = 'usd'`],
    ['portfolio_node_base_ccy_check', `UPDATE portfolio_node SET base_ccy = 'U$D'`],
    ['valuation_result_currency_check', `INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) SELECT id, '2026-01-01', 1, '12A' FROM position`],
    ['instrument_currency_check', `UPDATE instrument SET currency = 'eur'`],
    ['reference_data_code_check', `INSERT INTO reference_data (entity_type, name, code) VALUES ('CURRENCY', 'Bad', 'EURO')`],
    ['reference_data_code_check', `INSERT INTO reference_data (entity_type, name, code) VALUES ('GEOGRAPHY', 'Bad', 'GBR')`],
    ['portfolio_snapshot_payload_hash_check', `INSERT INTO portfolio_snapshot (portfolio_node_id, as_of_date, payload_json, payload_hash) SELECT id, '2026-01-01', '{}', '${'A'.repeat(64)}' FROM portfolio_node WHERE node_type = 'FUND'`],
    ['market_data_feed_payload_hash_check', `INSERT INTO market_data_feed (feed_type, as_of_date, source, payload_json, payload_hash) VALUES ('RATING', '2026-01-01', 's', '{}', 'not-a-hash')`],
    ['instrument_isin_check', `UPDATE instrument SET isin = 'US03783'`],
    ['reference_data_lei_check', `UPDATE reference_data SET lei = 'SHORT-LEI-1234567890' WHERE lei IS NOT NULL`],
    ['data_lineage_owner_check', `INSERT INTO data_lineage (source_system, transformation_chain) VALUES ('s', '{a}')`],
    ['ingestion_batch_counts_check', `INSERT INTO ingestion_batch (batch_type, source_system, row_count, accepted_count, rejected_count) VALUES ('POSITION_UPLOAD', 's', 1, 1, 1)`],
  ])('%s rejects: %s', async (constraint, sql) => {
    const error = await rejection(sql);
    expect(error.code).toBe('23514'); // check_violation
    expect(error.constraint).toBe(constraint);
  });

  it('no node is its own parent', async () => {
    const error = await rejection('UPDATE portfolio_node SET parent_id = id WHERE id = $1', [f.deskId]);
    expect(error.code).toBe('23514');
    expect(error.constraint).toBe('portfolio_node_not_own_parent_check');
  });

  it('exactly the FUND nodes are roots', async () => {
    const [fundWithParent, params1] = node('FUND', f.fundId);
    expect((await rejection(fundWithParent, [...params1])).constraint).toBe('portfolio_node_root_is_fund_check');
    const [rootDesk, params2] = node('DESK', null);
    expect((await rejection(rootDesk, [...params2])).constraint).toBe('portfolio_node_root_is_fund_check');
  });

  it('rejects an infinite or over-precise amount instead of storing it', async () => {
    expect((await rejection(`UPDATE position SET quantity = 'Infinity'`)).code).toMatch(/^22/);
    expect((await rejection(`UPDATE position SET quantity = 1e30`)).code).toBe('22003'); // numeric_value_out_of_range
  });

  it('the application layer sees the same rule through Prisma', async () => {
    await expect(
      t.db.prisma.portfolioNode.create({ data: { name: 'x', nodeType: 'DESK', baseCcy: 'USD' } }),
    ).rejects.toThrow(/portfolio_node_root_is_fund_check|check constraint/i);
    const count = await t.db.prisma.portfolioNode.count();
    expect(count).toBe(3);
  });
});
