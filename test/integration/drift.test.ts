// Drift: the database our migrations build matches prisma/schema.prisma in
// every table, column, type, nullability, default, index (with sort order),
// unique key and foreign key. The comparison itself is shown to catch drift.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDMMF } from '@prisma/internals';
import { diffShapes, shapeFromDatabase, shapeFromDmmf, type Dmmf, type SchemaShape } from '../support/schemaShape';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import type { SqlSession } from '../../src/db/sql';

let t: TestDatabase;
let expected: SchemaShape;

beforeAll(async () => {
  t = await createTestDatabase();
  const dmmf = (await getDMMF({ datamodel: readFileSync(join(__dirname, '../../prisma/schema.prisma'), 'utf8') })) as unknown as Dmmf;
  expected = shapeFromDmmf(dmmf);
});
afterAll(() => t?.drop());

/**
 * Indexes the Prisma schema cannot express (partial, covering, unique among current versions, and
 * the indexes of exclusion constraints), created by migrations on purpose. Named *_xidx or *_xexcl;
 * each must exist exactly as defined here (columns, INCLUDE, predicate, method), and no other index
 * may exist outside schema.prisma.
 */
const EXTRA_INDEXES: Record<string, string> = {
  valuation_result_current_xidx: 'ON public.valuation_result USING btree (position_id) INCLUDE (as_of_date, market_value, currency) WHERE ((valid_to IS NULL) AND (superseded_at IS NULL))',
  valuation_result_valid_to_xidx: 'ON public.valuation_result USING btree (portfolio_node_id, valid_to) INCLUDE (position_id, as_of_date, market_value, currency) WHERE ((valid_to IS NOT NULL) AND (superseded_at IS NULL))',
  valuation_result_current_date_xidx: 'UNIQUE ON public.valuation_result USING btree (position_id, as_of_date) WHERE (superseded_at IS NULL)',
  rating_history_current_date_xidx: 'UNIQUE ON public.rating_history USING btree (entity_id, agency, as_of_date) WHERE (superseded_at IS NULL)',
  position_node_status_id_xidx: 'ON public."position" USING btree (portfolio_node_id, status, id) INCLUDE (state_from, last_recorded_at)',
  position_held_xidx: 'ON public."position" USING btree (portfolio_node_id) INCLUDE (id, instrument_id, quantity, status, state_from, latest_as_of, latest_market_value, latest_currency, last_recorded_at)',
  position_version_valid_to_xidx: 'ON public.position_version USING btree (valid_to) INCLUDE (position_id, valid_from, quantity, status) WHERE ((superseded_at IS NULL) AND (valid_to IS NOT NULL))',
  reference_data_version_no_overlap_xexcl: 'ON public.reference_data_version USING gist (entity_id, tstzrange(recorded_at, superseded_at))',
  instrument_version_no_overlap_xexcl: 'ON public.instrument_version USING gist (instrument_id, tstzrange(recorded_at, superseded_at))',
  portfolio_node_version_no_overlap_xexcl: 'ON public.portfolio_node_version USING gist (node_id, tstzrange(recorded_at, superseded_at))',
};

/**
 * Exclusion constraints (Prisma cannot express them): as known at any moment, versions never overlap.
 * (position_version's versions are checked by statement triggers instead: see
 * test/integration/positionVersionOverlap.test.ts.)
 */
const EXCLUSIONS: Record<string, string> = {
  reference_data_version_no_overlap_xexcl: 'EXCLUDE USING gist (entity_id WITH =, tstzrange(recorded_at, superseded_at) WITH &&)',
  instrument_version_no_overlap_xexcl: 'EXCLUDE USING gist (instrument_id WITH =, tstzrange(recorded_at, superseded_at) WITH &&)',
  portfolio_node_version_no_overlap_xexcl: 'EXCLUDE USING gist (node_id WITH =, tstzrange(recorded_at, superseded_at) WITH &&)',
};

async function extraDefinitions(sql: SqlSession = t.db.sql): Promise<{ indexes: Record<string, string>; exclusions: Record<string, string> }> {
  const indexes = await sql.query<{ name: string; def: string }>(
    `SELECT indexname AS name, regexp_replace(indexdef, '^CREATE (UNIQUE )?INDEX \\S+ ', '\\1') AS def FROM pg_indexes
     WHERE schemaname = 'public' AND (indexname LIKE '%\\_xidx' OR indexname LIKE '%\\_xexcl')`,
  );
  const exclusions = await sql.query<{ name: string; def: string }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'x' AND connamespace = 'public'::regnamespace`,
  );
  const asMap = (rows: { name: string; def: string }[]) => Object.fromEntries(rows.map((r) => [r.name, r.def]));
  return { indexes: asMap(indexes), exclusions: asMap(exclusions) };
}

function withoutExtras(shape: SchemaShape): SchemaShape {
  const tables = Object.fromEntries(Object.entries(shape.tables).map(([name, table]) => [
    name, { ...table, indexes: Object.fromEntries(Object.entries(table.indexes).filter(([index]) => !(index in EXTRA_INDEXES))) },
  ]));
  return { ...shape, tables };
}

it('the migrated database matches schema.prisma exactly, plus the listed extra indexes and exclusion constraints', async () => {
  const actual = await shapeFromDatabase(t.db.sql);
  const extras = await extraDefinitions();
  expect(extras.indexes).toEqual(EXTRA_INDEXES);
  expect(extras.exclusions).toEqual(EXCLUSIONS);
  expect(diffShapes(expected, withoutExtras(actual))).toEqual([]);
  // The comparison covered the whole model, not an empty one.
  // The eleven of the data model, content_change, reference_change, snapshot_probe, node_position_count,
  // node_position_change and the four version tables.
  expect(Object.keys(actual.tables)).toHaveLength(20);
  expect(Object.values(actual.tables).flatMap((x) => Object.keys(x.indexes)).length).toBeGreaterThan(30);
  expect(actual.tables.valuation_result!.indexes.valuation_result_position_id_as_of_date_idx!.columns).toEqual(['position_id', 'as_of_date DESC']);
});

it.each([
  ['a dropped index', 'DROP INDEX "position_instrument_id_idx"', /position indexes position_instrument_id_idx/],
  ['an ascending temporal index', 'DROP INDEX "rating_history_entity_id_as_of_date_idx"; CREATE INDEX "rating_history_entity_id_as_of_date_idx" ON rating_history (entity_id, as_of_date)', /rating_history indexes rating_history_entity_id_as_of_date_idx/],
  ['a changed precision', 'ALTER TABLE fx_spot ALTER COLUMN rate TYPE numeric(20,6)', /fx_spot columns rate/],
  ['a dropped NOT NULL', 'ALTER TABLE position ALTER COLUMN base_ccy DROP NOT NULL', /position columns base_ccy/],
  ['a changed default', `ALTER TABLE position ALTER COLUMN status SET DEFAULT 'CLOSED'`, /position columns status/],
  ['a changed delete rule', 'ALTER TABLE position DROP CONSTRAINT position_instrument_id_fkey, ADD CONSTRAINT position_instrument_id_fkey FOREIGN KEY (instrument_id) REFERENCES instrument(id) ON DELETE CASCADE', /position foreignKeys position_instrument_id_fkey/],
  ['an extra enum value', `ALTER TYPE position_status ADD VALUE 'PENDING'`, /enum position_status/],
  ['an extra column', 'ALTER TABLE instrument ADD COLUMN sedol char(7)', /instrument columns sedol/],
])('detects %s', async (_what, ddl, message) => {
  const marker = new Error('rollback');
  let diff: string[] = [];
  await t.db.sql
    .transaction(async (tx) => {
      await tx.exec(ddl);
      diff = diffShapes(expected, await shapeFromDatabase(tx));
      throw marker;
    })
    .catch((error: unknown) => {
      if (error !== marker) throw error;
    });
  expect(diff.join('\n')).toMatch(message);
});

it.each([
  ['a dropped exclusion constraint', 'ALTER TABLE portfolio_node_version DROP CONSTRAINT portfolio_node_version_no_overlap_xexcl', 'portfolio_node_version_no_overlap_xexcl'],
  ['a partial unique index made whole', 'DROP INDEX valuation_result_current_date_xidx; CREATE UNIQUE INDEX valuation_result_current_date_xidx ON valuation_result (position_id, as_of_date)', 'valuation_result_current_date_xidx'],
  ['an exclusion without recorded time', 'ALTER TABLE instrument_version DROP CONSTRAINT instrument_version_no_overlap_xexcl, ADD CONSTRAINT instrument_version_no_overlap_xexcl EXCLUDE USING gist (instrument_id WITH =)', 'instrument_version_no_overlap_xexcl'],
])('detects %s', async (_what, ddl, name) => {
  const marker = new Error('rollback');
  let extras: Awaited<ReturnType<typeof extraDefinitions>> | null = null;
  await t.db.sql
    .transaction(async (tx) => {
      await tx.exec(ddl);
      extras = await extraDefinitions(tx);
      throw marker;
    })
    .catch((error: unknown) => {
      if (error !== marker) throw error;
    });
  const { indexes, exclusions } = extras!;
  expect([indexes[name] === EXTRA_INDEXES[name], exclusions[name] === EXCLUSIONS[name]]).toContain(false);
});
