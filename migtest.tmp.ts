import { createPGlite } from './src/db/database';
import { pgliteRunner } from './src/db/sql';
import { migrate } from './src/db/migrate';
(async () => { const db = await createPGlite(); await migrate(pgliteRunner(db));
  console.log(JSON.stringify((await db.query(`SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%xidx' OR indexname LIKE '%xexcl' ORDER BY 1`)).rows, null, 1));
  console.log(JSON.stringify((await db.query(`SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'x' ORDER BY 1`)).rows, null, 1));
  await db.close(); })();
