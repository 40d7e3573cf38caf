// PostgreSQL only: Database.read names (prepares) a statement the second time its text is sent,
// at most a bounded number of texts, and falls back to an unnamed statement when a table changed
// under a prepared one. Checked on the server itself (pg_prepared_statements of the one connection).
import { Pool } from 'pg';
import { databaseConfigFrom } from '../../src/config';
import { openDatabase } from '../../src/db/database';
import { preparedReads } from '../../src/db/prepared';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  t = await createTestDatabase({ migrated: false });
  // One connection: what it prepared is what pg_prepared_statements shows.
  pool = new Pool({ connectionString: t.url, max: 1 });
  await pool.query('CREATE TABLE prep_probe (id int PRIMARY KEY, label text)');
  await pool.query(`INSERT INTO prep_probe VALUES (1, 'one'), (2, 'two'), (3, 'three')`);
});
afterAll(async () => {
  await pool?.end();
  await t?.drop();
});

const prepared = async () =>
  (await pool.query<{ name: string; statement: string }>('SELECT name, statement FROM pg_prepared_statements ORDER BY name')).rows;

it('names a text the second time it is sent, answers the same rows, and keeps one name per text', async () => {
  const read = preparedReads(pool, 10);
  const byId = 'SELECT id, label FROM prep_probe WHERE id = ANY($1::int[]) ORDER BY id';
  expect(await read(byId, [[1, 3]])).toEqual([{ id: 1, label: 'one' }, { id: 3, label: 'three' }]);
  expect(await prepared()).toEqual([]);
  expect(await read(byId, [[2]])).toEqual([{ id: 2, label: 'two' }]);
  expect((await prepared()).map((p) => p.statement)).toEqual([byId]);
  expect((await prepared())[0]?.name).toMatch(/^pds_[\w-]{32}$/);
  for (const ids of [[1], [2, 3], [3]]) expect(await read(byId, [ids])).toHaveLength(ids.length);
  expect(read.named()).toBe(1);
  // Another text gets its own name; an error of a named statement reaches the caller.
  const label = 'SELECT label FROM prep_probe WHERE id = $1';
  await read(label, [1]);
  expect(await read(label, [2])).toEqual([{ label: 'two' }]);
  expect((await prepared()).map((p) => p.statement).sort()).toEqual([byId, label].sort());
  // Another reader of the same pool (another Database on it) names the same text the same way.
  const again = preparedReads(pool, 10);
  await again(label, [1]);
  expect(await again(label, [1])).toEqual([{ label: 'one' }]);
  expect(await prepared()).toHaveLength(2);
  await expect(read(label, ['not a number'])).rejects.toThrow(/invalid input syntax for type integer/);
  expect(await read(label, [3])).toEqual([{ label: 'three' }]);
});

it('names no more than its bound of texts: the others are sent unnamed and still answered', async () => {
  await pool.query('DEALLOCATE ALL');
  // pg remembers what each connection prepared: a new pool, so that nothing is thought prepared.
  await pool.end();
  pool = new Pool({ connectionString: t.url, max: 1 });
  const read = preparedReads(pool, 2);
  const texts = [1, 2, 3, 4].map((k) => `SELECT id FROM prep_probe WHERE id <= $1 AND ${k} = ${k} ORDER BY id`);
  for (const text of texts) for (let i = 0; i < 3; i++) expect(await read(text, [2])).toEqual([{ id: 1 }, { id: 2 }]);
  expect(read.named()).toBe(2);
  expect((await prepared()).map((p) => p.statement).sort()).toEqual(texts.slice(0, 2).sort());
});

it('falls back to an unnamed statement when a table changed under a prepared SELECT *', async () => {
  const read = preparedReads(pool, 10);
  const all = 'SELECT p.* FROM prep_probe p WHERE p.id = $1';
  await read(all, [1]);
  expect(await read(all, [1])).toEqual([{ id: 1, label: 'one' }]);
  await pool.query('ALTER TABLE prep_probe ADD COLUMN note text');
  await pool.query(`UPDATE prep_probe SET note = 'noted' WHERE id = 2`);
  // The prepared statement now fails on the server ("cached plan must not change result type").
  expect(await read(all, [2])).toEqual([{ id: 2, label: 'two', note: 'noted' }]);
  expect(await read(all, [1])).toEqual([{ id: 1, label: 'one', note: null }]);
});

it('is what Database.read does unless DB_PREPARED_STATEMENTS=false', async () => {
  const count = 'SELECT count(*)::int AS n FROM prep_probe WHERE id > $1';
  const names = `SELECT statement FROM pg_prepared_statements WHERE statement = '${count}'`;
  for (const [setting, expected] of [['false', 0], [undefined, 1]] as const) {
    const db = await openDatabase(databaseConfigFrom({ DATABASE_URL: t.url, DB_POOL_MAX: '1', ...(setting ? { DB_PREPARED_STATEMENTS: setting } : {}) }));
    try {
      for (let i = 0; i < 3; i++) expect(await db.read(count, [1])).toEqual([{ n: 2 }]);
      expect(await db.read(names)).toHaveLength(expected);
    } finally {
      await db.close();
    }
  }
});
