// The embedded first run: a small demo world so the service has something to show,
// with its history (trades over the period, adjustments, closes, corrections and a
// restated FX feed recorded in the weeks before now) for the IDE's time examples.
import type { Database } from '../../db/database';
import type { Logger } from '../../logger';
import { loadWorld, type SeedSummary } from './load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from './world';

/** Seeds the default demo world when the database holds no portfolio yet; returns what it wrote, or null. */
export async function seedDemoIfEmpty(db: Database, logger: Logger): Promise<SeedSummary | null> {
  const [row] = await db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolio_node');
  if ((row?.n ?? 0) > 0) return null;
  logger.info({ positions: DEFAULT_SEED_OPTIONS.positions, seed: DEFAULT_SEED_OPTIONS.seed }, 'empty embedded database: seeding the demo world');
  // Recorded times are relative to this moment: corrections in the last two weeks.
  const summary = await loadWorld(db.sql, buildWorld(DEFAULT_SEED_OPTIONS, new Date()));
  logger.info(summary, 'demo world seeded');
  return summary;
}
