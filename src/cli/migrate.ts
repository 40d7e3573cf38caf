// npm run db:migrate — applies pending migrations from prisma/migrations to the
// configured database (DATABASE_URL, or the embedded database in DATA_DIR) and
// records them in _prisma_migrations as `prisma migrate deploy` would.
import { databaseConfigFrom } from '../config';
import { maintenanceConfig, openDatabase } from '../db/database';
import { migrate } from '../db/migrate';

async function main(): Promise<void> {
  const config = databaseConfigFrom(process.env);
  // No statement timeout: a migration's backfill of a large table may take minutes.
  const db = await openDatabase(maintenanceConfig(config));
  try {
    const report = await migrate(db.sql, { onApply: (name) => console.log(`applying ${name}`) });
    for (const name of report.unknown) {
      console.warn(`warning: ${name} is recorded in the database but not in prisma/migrations`);
    }
    console.log(
      report.applied.length === 0
        ? `database is up to date (${report.alreadyApplied.length} migrations applied earlier)`
        : `applied ${report.applied.length} migration(s); ${report.alreadyApplied.length} were already applied`,
    );
  } finally {
    await db.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
