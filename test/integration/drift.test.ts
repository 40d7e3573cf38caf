// Drift: the database our migrations build matches prisma/schema.prisma in
// every table, column, type, nullability, default, index (with sort order),
// unique key and foreign key. The comparison itself is shown to catch drift.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDMMF } from '@prisma/internals';
import { diffShapes, shapeFromDatabase, shapeFromDmmf, type Dmmf, type SchemaShape } from '../support/schemaShape';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let expected: SchemaShape;

beforeAll(async () => {
  t = await createTestDatabase();
  const dmmf = (await getDMMF({ datamodel: readFileSync(join(__dirname, '../../prisma/schema.prisma'), 'utf8') })) as unknown as Dmmf;
  expected = shapeFromDmmf(dmmf);
});
afterAll(() => t?.drop());

/**
 * Indexes the Prisma schema cannot express (partial or covering), created by migrations on
 * purpose. Named *_xidx; they must exist, and no other index may exist outside schema.prisma.
 */
const EXTRA_INDEXES = {
  valuation_result_current_xidx: { table: 'valuation_result', unique: false, primary: false, columns: ['position_id', 'as_of_date', 'market_value', 'currency'] },
  valuation_result_valid_to_xidx: { table: 'valuation_result', unique: false, primary: false, columns: ['valid_to', 'position_id', 'as_of_date', 'market_value', 'currency'] },
};

function withoutExtras(shape: SchemaShape): SchemaShape {
  const tables = Object.fromEntries(Object.entries(shape.tables).map(([name, table]) => [
    name, { ...table, indexes: Object.fromEntries(Object.entries(table.indexes).filter(([index]) => !(index in EXTRA_INDEXES))) },
  ]));
  return { ...shape, tables };
}

it('the migrated database matches schema.prisma exactly, plus the listed extra indexes', async () => {
  const actual = await shapeFromDatabase(t.db.sql);
  for (const [name, { table, ...index }] of Object.entries(EXTRA_INDEXES)) expect(actual.tables[table]!.indexes[name]).toEqual(index);
  expect(diffShapes(expected, withoutExtras(actual))).toEqual([]);
  // The comparison covered the whole model, not an empty one.
  expect(Object.keys(actual.tables)).toHaveLength(15); // the eleven of the data model, content_change, reference_change, snapshot_probe and node_position_count
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
