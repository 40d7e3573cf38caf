// The backfill of migration 20261204120000_two_clocks on a database that already holds data: a world
// written with the schema before it (raw SQL of the old columns; the old triggers run on it), then the
// migration, then every backfill rule checked row by row and through the service. Existing databases
// are where a backfill runs for real, and no other test sees one: every other file starts empty.
// The migration runs in a session whose time zone is America/New_York, and some timestamps fall on
// another date there than in UTC: the backfilled dates must be UTC dates whatever the server's zone.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { DEFAULT_MIGRATIONS_DIR, migrate, readMigrations } from '../../src/db/migrate';
import { pgRunner, type SqlRunner } from '../../src/db/sql';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

const TWO_CLOCKS = '20261204120000_two_clocks';
const ZONE = 'America/New_York';
const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const [FUND, DESK, BOOK, GEO, SECTOR, HOLDING, BANK, SAP, APPLE, BOND] = [uuid(1), uuid(2), uuid(3), uuid(4), uuid(5), uuid(6), uuid(7), uuid(8), uuid(9), uuid(10)];
// ACTIVE; CLOSED months after creation; DELETED months after creation; CLOSED and DELETED as created.
const [PA, PC, PD, PC2, PD2] = [uuid(21), uuid(22), uuid(23), uuid(24), uuid(25)];
const [FEED_MAR, FEED_JUN] = [uuid(31), uuid(32)];

// The old schema's world, as the service before two clocks wrote it (created_at/updated_at given).
// Valuations are dated months before the positions were created, as seeded and uploaded data are.
const WORLD = `
INSERT INTO portfolio_node (id, name, node_type, parent_id, base_ccy, created_at, updated_at) VALUES
  ('${FUND}', 'Legacy Fund', 'FUND', NULL, 'USD', '2025-10-01T08:00:00Z', '2025-10-01T08:00:00Z');
INSERT INTO portfolio_node (id, name, node_type, parent_id, base_ccy, created_at, updated_at) VALUES
  ('${DESK}', 'Credit Desk', 'DESK', '${FUND}', 'USD', '2025-10-01T08:00:00Z', '2025-10-01T08:00:00Z');
INSERT INTO portfolio_node (id, name, node_type, parent_id, base_ccy, created_at, updated_at) VALUES
  ('${BOOK}', 'Euro Book', 'BOOK', '${DESK}', 'EUR', '2025-10-01T08:00:00Z', '2025-10-01T08:00:00Z');
INSERT INTO reference_data (id, entity_type, name, code, created_at, updated_at) VALUES
  ('${GEO}', 'GEOGRAPHY', 'Germany', 'DE', '2025-09-01T07:00:00Z', '2025-09-01T07:00:00Z'),
  ('${SECTOR}', 'SECTOR', 'Banks', 'BANKS', '2025-09-01T07:00:01Z', '2025-09-01T07:00:01Z');
INSERT INTO reference_data (id, entity_type, name, lei, sector_id, geography_id, created_at, updated_at) VALUES
  ('${HOLDING}', 'ISSUER', 'Holding AG', '529900HOLDINGAG00012', '${SECTOR}', '${GEO}', '2026-01-15T10:00:00Z', '2026-01-15T10:00:00Z');
INSERT INTO reference_data (id, entity_type, name, lei, parent_entity_id, sector_id, geography_id, created_at, updated_at) VALUES
  ('${BANK}', 'ISSUER', 'Bank AG (renamed)', '529900BANKAGXYZ00034', '${HOLDING}', '${SECTOR}', '${GEO}', '2026-01-15T10:05:00Z', '2026-08-01T09:00:00Z');
INSERT INTO instrument (id, name, asset_class, currency, isin, ticker, issuer_id, maturity_date, created_at, updated_at) VALUES
  ('${SAP}', 'SAP SE', 'EQUITY', 'EUR', 'DE0007164600', 'SAP GY', NULL, NULL, '2026-01-10T09:00:00Z', '2026-01-10T09:00:00Z'),
  ('${APPLE}', 'Apple Inc', 'EQUITY', 'USD', 'US0378331005', 'AAPL', NULL, NULL, '2026-01-10T09:00:01Z', '2026-03-02T11:00:00Z'),
  ('${BOND}', 'Bank AG 3.5% 2031', 'BOND', 'EUR', NULL, 'BANK 3.5 31', '${BANK}', '2031-06-15', '2026-02-20T14:00:00Z', '2026-02-20T14:00:00Z');
INSERT INTO rating_history (entity_id, agency, rating, as_of_date, created_at) VALUES
  ('${BANK}', 'SP', 'A+', '2026-02-01', '2026-02-02T07:15:00Z'),
  ('${BANK}', 'MOODYS', 'A1', '2026-02-01', '2026-02-03T07:15:00Z'),
  ('${BANK}', 'SP', 'A', '2026-07-15', '2026-07-16T07:15:00Z');
INSERT INTO market_data_feed (id, feed_type, as_of_date, source, payload_json, payload_hash, validation_status, created_at) VALUES
  ('${FEED_MAR}', 'FX_SPOT', '2026-03-31', 'ECB', '{"rates":[{"pair":"EURUSD","rate":"1.08"}]}', repeat('a', 64), 'PASS', '2026-04-01T06:00:00Z'),
  ('${FEED_JUN}', 'FX_SPOT', '2026-06-30', 'ECB', '{"rates":[{"pair":"EURUSD","rate":"1.10"}]}', repeat('b', 64), 'PASS', '2026-07-01T06:00:00Z');
INSERT INTO fx_spot (pair, snapshot_id, rate, created_at) VALUES
  ('EURUSD', '${FEED_MAR}', 1.08, '2026-04-01T06:00:00Z'), ('EURUSD', '${FEED_JUN}', 1.10, '2026-07-01T06:00:00Z');
INSERT INTO position (id, portfolio_node_id, instrument_id, quantity, base_ccy, status, created_at, updated_at) VALUES
  ('${PA}', '${BOOK}', '${SAP}', 1000, 'EUR', 'ACTIVE', '2026-05-15T09:00:00Z', '2026-05-15T09:00:00Z'),
  ('${PC}', '${BOOK}', '${BOND}', 2000000, 'EUR', 'CLOSED', '2026-05-15T09:00:00Z', '2026-09-21T01:00:00Z'),
  ('${PD}', '${BOOK}', '${APPLE}', 500, 'USD', 'DELETED', '2026-05-15T09:00:00Z', '2026-08-01T10:00:00Z'),
  ('${PC2}', '${BOOK}', '${BOND}', 10, 'EUR', 'CLOSED', '2026-04-11T02:30:00Z', '2026-04-11T02:30:00Z'),
  ('${PD2}', '${BOOK}', '${APPLE}', 1, 'USD', 'DELETED', '2026-06-10T12:00:00Z', '2026-06-10T12:00:00Z');
INSERT INTO valuation_result (position_id, as_of_date, market_value, currency, created_at, updated_at) VALUES
  ('${PA}', '2026-06-30', 150000, 'EUR', '2026-07-02T08:00:00Z', '2026-07-02T08:00:00Z'),
  ('${PC}', '2026-03-31', 1980000, 'EUR', '2026-05-15T09:00:00Z', '2026-05-15T09:00:00Z'),
  ('${PC}', '2026-06-30', 1990000, 'EUR', '2026-07-02T08:00:01Z', '2026-07-02T08:00:01Z'),
  ('${PD}', '2026-03-31', 85000, 'USD', '2026-05-15T09:00:01Z', '2026-05-15T09:00:01Z'),
  ('${PD}', '2026-06-30', 90000, 'USD', '2026-07-02T08:00:02Z', '2026-07-02T08:00:02Z'),
  ('${PD2}', '2026-05-29', 190, 'USD', '2026-06-10T12:00:00Z', '2026-06-12T12:00:00Z');`; // replaced in place on 06-12

let t: TestDatabase;
let api: RunningService;
let firstReport: Awaited<ReturnType<typeof migrate>>;
const iso = (d: Date | null) => d && d.toISOString();

/** Runs fn on a session of this database whose time zone is ZONE (PGlite has one session: set, then reset). */
async function inZone<T>(fn: (sql: SqlRunner) => Promise<T>): Promise<T> {
  if (t.url) {
    const pool = new Pool({ connectionString: t.url, max: 1, options: `-c TimeZone=${ZONE}` });
    try {
      return await fn(pgRunner(pool));
    } finally {
      await pool.end();
    }
  }
  await t.db.sql.query(`SET TIME ZONE '${ZONE}'`);
  try {
    return await fn(t.db.sql);
  } finally {
    await t.db.sql.query('RESET TIME ZONE');
  }
}

beforeAll(async () => {
  t = await createTestDatabase({ migrated: false });
  // The migrations folder as it was before two clocks.
  const before = mkdtempSync(join(tmpdir(), 'pds-before-two-clocks-'));
  try {
    for (const m of readMigrations().filter((m) => m.name < TWO_CLOCKS)) cpSync(join(DEFAULT_MIGRATIONS_DIR, m.name), join(before, m.name), { recursive: true });
    firstReport = await inZone(async (sql) => {
      // The trap is armed: in this session a timestamp's own date is its New York date.
      const [zoned] = await sql.query<{ d: string }>(`SELECT ('2026-04-11T02:30:00Z'::timestamptz)::date::text AS d`);
      expect(zoned!.d).toBe('2026-04-10');
      expect((await migrate(sql, { dir: before })).applied).toHaveLength(readMigrations(before).length);
      await sql.exec(WORLD);
      return migrate(sql);
    });
  } finally {
    rmSync(before, { recursive: true, force: true });
  }
  api = await startService(t.db);
}, 120_000);
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

it('applies two clocks (and what follows) over the existing data', () => {
  expect(firstReport.applied).toEqual(readMigrations().filter((m) => m.name >= TWO_CLOCKS).map((m) => m.name));
});

it('holds each position from the earlier of its creation date (UTC) and first valuation, closed on its last update', async () => {
  const rows = await t.db.sql.query<Record<string, string | null>>(
    `SELECT id::text, status::text, opened_on::text AS opened, closed_on::text AS closed, state_from::text AS state FROM position ORDER BY id`,
  );
  expect(rows).toEqual([
    { id: PA, status: 'ACTIVE', opened: '2026-05-15', closed: null, state: '2026-05-15' }, // created before its first valuation
    { id: PC, status: 'CLOSED', opened: '2026-03-31', closed: '2026-09-21', state: '2026-09-21' }, // updated 09-20 in New York
    { id: PD, status: 'DELETED', opened: '2026-03-31', closed: null, state: '2026-03-31' },
    { id: PC2, status: 'CLOSED', opened: '2026-04-11', closed: '2026-04-11', state: '2026-04-11' }, // 04-10 in New York
    { id: PD2, status: 'DELETED', opened: '2026-05-29', closed: null, state: '2026-05-29' },
  ]);
});

it('records each position\'s versions as believed from its creation, superseded at its last update', async () => {
  const rows = await t.db.sql.query<{ id: string; vf: string; vt: string | null; q: number; s: string; rec: Date; sup: Date | null }>(
    `SELECT position_id::text AS id, valid_from::text AS vf, valid_to::text AS vt, quantity::float8 AS q, status::text AS s,
            recorded_at AS rec, superseded_at AS sup
     FROM position_version ORDER BY position_id, recorded_at, valid_from`,
  );
  expect(rows.map((r) => [r.id, r.vf, r.vt, r.q, r.s, iso(r.rec), iso(r.sup)])).toEqual([
    [PA, '2026-05-15', null, 1000, 'ACTIVE', '2026-05-15T09:00:00.000Z', null],
    [PC, '2026-03-31', null, 2000000, 'ACTIVE', '2026-05-15T09:00:00.000Z', '2026-09-21T01:00:00.000Z'],
    [PC, '2026-03-31', '2026-09-21', 2000000, 'ACTIVE', '2026-09-21T01:00:00.000Z', null],
    [PC, '2026-09-21', null, 2000000, 'CLOSED', '2026-09-21T01:00:00.000Z', null],
    [PD, '2026-03-31', null, 500, 'ACTIVE', '2026-05-15T09:00:00.000Z', '2026-08-01T10:00:00.000Z'],
    [PD, '2026-03-31', null, 500, 'DELETED', '2026-08-01T10:00:00.000Z', null],
    // Closed or deleted as created: never believed held; closed on its opening date, no ACTIVE range.
    [PC2, '2026-04-11', null, 10, 'CLOSED', '2026-04-11T02:30:00.000Z', null],
    [PD2, '2026-05-29', null, 1, 'DELETED', '2026-06-10T12:00:00.000Z', null],
  ]);
  // The summary kept on position is what position_summary() derives from the current versions, as
  // every later change (position_change, the update trigger) rewrites it.
  const [drift] = await t.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM position p, position_summary(p.id) s
    WHERE (s.quantity, s.status, s.opened_on, s.closed_on, s.state_from) IS DISTINCT FROM (p.quantity, p.status, p.opened_on, p.closed_on, p.state_from)`);
  expect(drift!.n).toBe(0);
});

it('makes existing valuations, ratings and feeds their first recorded versions: at their creation, a valuation at its last write', async () => {
  for (const table of ['valuation_result', 'rating_history', 'market_data_feed']) {
    const superseded = table === 'market_data_feed' ? 'true' : 'superseded_at IS NULL';
    // A valuation replaced in place before versions existed was not known before that write.
    const recorded = table === 'valuation_result' ? 'GREATEST(created_at, updated_at)' : 'created_at';
    const [row] = await t.db.sql.query<{ n: number; first: number }>(
      `SELECT count(*)::int AS n, (count(*) FILTER (WHERE recorded_at = ${recorded} AND ${superseded}))::int AS first FROM ${table}`,
    );
    expect({ table, ...row }).toEqual({ table, n: { valuation_result: 6, rating_history: 3, market_data_feed: 2 }[table], first: row!.n });
  }
  const [replaced] = await t.db.sql.query<{ at: Date }>(`SELECT recorded_at AS at FROM valuation_result WHERE position_id = $1`, [PD2]);
  expect(replaced!.at.toISOString()).toBe('2026-06-12T12:00:00.000Z');
});

it('keeps one version per entity and instrument: its fields as they stand, recorded at its creation', async () => {
  const entities = await t.db.sql.query(
    `SELECT r.name, count(v.id)::int AS versions,
            bool_and(v.recorded_at = r.created_at AND v.superseded_at IS NULL AND v.entity_type = r.entity_type AND v.name = r.name
              AND v.lei IS NOT DISTINCT FROM r.lei AND v.parent_entity_id IS NOT DISTINCT FROM r.parent_entity_id
              AND v.sector_id IS NOT DISTINCT FROM r.sector_id AND v.geography_id IS NOT DISTINCT FROM r.geography_id
              AND v.ultimate_parent_id = r.ultimate_parent_id) AS same
     FROM reference_data r LEFT JOIN reference_data_version v ON v.entity_id = r.id GROUP BY r.id, r.name ORDER BY r.name`,
  );
  expect(entities).toEqual(['Bank AG (renamed)', 'Banks', 'Germany', 'Holding AG'].map((name) => ({ name, versions: 1, same: true })));
  const instruments = await t.db.sql.query(
    `SELECT i.name, count(v.id)::int AS versions,
            bool_and(v.recorded_at = i.created_at AND v.superseded_at IS NULL AND v.name = i.name AND v.asset_class = i.asset_class
              AND v.currency = i.currency AND v.isin IS NOT DISTINCT FROM i.isin AND v.ticker IS NOT DISTINCT FROM i.ticker
              AND v.issuer_id IS NOT DISTINCT FROM i.issuer_id AND v.maturity_date IS NOT DISTINCT FROM i.maturity_date) AS same
     FROM instrument i LEFT JOIN instrument_version v ON v.instrument_id = i.id GROUP BY i.id, i.name ORDER BY i.name`,
  );
  expect(instruments).toEqual(['Apple Inc', 'Bank AG 3.5% 2031', 'SAP SE'].map((name) => ({ name, versions: 1, same: true })));
});

const ok = async (query: string, variables: Record<string, unknown> = {}) => {
  const res = await graphql(api.url, query, variables);
  expect(res.errors).toBeUndefined();
  return res.data as Record<string, any>;
};

it('answers openedOn, closedOn and history through the service, now and as known before the close', async () => {
  const VERSION = 'validFrom validTo quantity status recordedAt supersededAt';
  const position = async (id: string) =>
    (await ok(`query($id: ID!) { position(id: $id) { status openedOn closedOn history { ${VERSION} }
      before: history(knownAt: "2026-07-15T00:00:00Z") { ${VERSION} } } }`, { id })).position;
  const v = (validFrom: string, validTo: string | null, quantity: string, status: string, recordedAt: string, supersededAt: string | null) =>
    ({ validFrom, validTo, quantity, status, recordedAt, supersededAt });
  const held = v('2026-03-31', null, '2000000', 'ACTIVE', '2026-05-15T09:00:00.000Z', '2026-09-21T01:00:00.000Z');
  expect(await position(PC)).toEqual({
    status: 'CLOSED', openedOn: '2026-03-31', closedOn: '2026-09-21',
    history: [v('2026-03-31', '2026-09-21', '2000000', 'ACTIVE', '2026-09-21T01:00:00.000Z', null), v('2026-09-21', null, '2000000', 'CLOSED', '2026-09-21T01:00:00.000Z', null)],
    before: [held],
  });
  expect(await position(PD)).toEqual({
    status: 'DELETED', openedOn: '2026-03-31', closedOn: null,
    history: [v('2026-03-31', null, '500', 'DELETED', '2026-08-01T10:00:00.000Z', null)],
    before: [{ ...held, quantity: '500', supersededAt: '2026-08-01T10:00:00.000Z' }],
  });
  expect(await position(PC2)).toMatchObject({ status: 'CLOSED', openedOn: '2026-04-11', closedOn: '2026-04-11', before: [v('2026-04-11', null, '10', 'CLOSED', '2026-04-11T02:30:00.000Z', null)] });
});

it('values the CLOSED position while held and never the DELETED one; as known before the close and deletion, both held', async () => {
  const value = async (asOf: string, knownAt?: string) =>
    (await ok(`query($n: ID!, $d: Date!, $k: DateTime) { portfolioNode(id: $n) { marketValue(asOf: $d, knownAt: $k) { amount currency } } }`,
      { n: FUND, d: asOf, k: knownAt })).portfolioNode.marketValue;
  // Now: SAP 150,000 EUR + bond 1,990,000 EUR at 1.10 USD; the DELETED position is left out.
  expect(await value('2026-06-30')).toEqual({ amount: '2354000', currency: 'USD' });
  // Its last day held, then its closing date (the first date no longer held).
  expect(await value('2026-09-20')).toEqual({ amount: '2354000', currency: 'USD' });
  expect(await value('2026-09-21')).toEqual({ amount: '165000', currency: 'USD' });
  // As known on 07-15 (after the June valuations, before the close and the deletion): both still held.
  expect(await value('2026-06-30', '2026-07-15T00:00:00Z')).toEqual({ amount: '2444000', currency: 'USD' });
  // As known on 06-01: the June valuations and feed were not recorded yet (SAP unvalued; March values at 1.08).
  expect(await value('2026-06-30', '2026-06-01T00:00:00Z')).toEqual({ amount: '2223400', currency: 'USD' });
});

it('finds nothing to do on a second run', async () => {
  expect(await migrate(t.db.sql)).toEqual({ applied: [], alreadyApplied: readMigrations().map((m) => m.name), unknown: [] });
});
