// npm start: reads the configuration, opens the database (migrating and
// seeding the embedded one on first run), and serves until SIGTERM/SIGINT.
// Tracing first: it must patch http, express, graphql and pg before they load.
import { tracing } from './tracing';
import { ConfigError, loadConfig } from './config';
import { maintenanceConfig, openDatabase } from './db/database';
import { migrate } from './db/migrate';
import { ReplicaSet } from './db/replicas';
import { createLiveEvents } from './live/listener';
import { createLogger } from './logger';
import { createServer } from './server';
import { qualityThresholds } from './services/marketData/thresholds';
import { seedDemoIfEmpty } from './services/seed/demo';

async function main(): Promise<void> {
  const config = loadConfig();
  qualityThresholds(); // a malformed QUALITY_* setting stops the start, not the first ingest
  const logger = createLogger(config.logLevel);
  if (tracing) logger.info('tracing: spans exported over OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT');
  const db = await openDatabase(config.database, { logger });
  if (config.database.kind === 'embedded') {
    logger.warn({ dataDir: config.database.dataDir }, 'DATABASE_URL is not set: using the embedded PGlite database (single connection; for local use, not for load)');
  }
  if (config.auth.mode === 'off') {
    logger.warn(
      'AUTH_MODE=off: NO AUTHENTICATION. Anyone who can reach this port can read and change every portfolio. ' +
        'For local use only; set AUTH_MODE=jwt with JWT_SECRET, JWT_PUBLIC_KEY or JWT_JWKS_FILE to protect it.',
    );
  }
  if (config.migrateOnStart) {
    // On PostgreSQL through a connection of its own, without the request statement timeout.
    const maintenance = config.database.kind === 'postgres' ? await openDatabase(maintenanceConfig(config.database), { logger }) : db;
    try {
      const report = await migrate(maintenance.sql);
      logger.info({ applied: report.applied, alreadyApplied: report.alreadyApplied.length }, 'migrations checked');
    } finally {
      if (maintenance !== db) await maintenance.close();
    }
  }
  if (config.seedDemo) await seedDemoIfEmpty(db, logger);

  // Subscriptions' events: one dedicated listening connection (not from the pool), on the primary.
  const live = await createLiveEvents(
    db,
    config.database.kind === 'postgres' ? { kind: 'postgres', url: config.database.url, connectTimeoutMs: config.database.connectTimeoutMs } : { kind: 'embedded' },
    { logger },
  );
  // Read replicas (DATABASE_REPLICA_URLS): checked once now; one that is down is skipped, not fatal.
  const replicas = config.replicas && config.database.kind === 'postgres' ? await ReplicaSet.open(db, config.database, config.replicas, { logger }) : null;
  const service = await createServer({ config, db, logger, live, replicas });
  const port = await service.listen(config.port, config.host);
  logger.info({ port, database: db.kind, graphql: `http://localhost:${port}/graphql` }, 'portfolio data service listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    const timer = setTimeout(() => {
      logger.error('grace period over: exiting with requests still in flight');
      process.exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    try {
      await service.stop();
      await live.close();
      await replicas?.close();
      await db.close();
      // The spans of the last requests are still batched in memory.
      await tracing?.shutdown();
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) console.error(`configuration error: ${error.message}`);
  else console.error(error);
  process.exit(1);
});
