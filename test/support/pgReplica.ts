// A streaming replica (hot standby) of a private test cluster: pg_basebackup -R
// copies the primary and writes its primary_conninfo, and the copy starts on a
// port of its own. initdb's defaults already allow it (wal_level=replica,
// max_wal_senders=10, `host replication all 127.0.0.1/32 trust`).
//
// Replay can be slowed down (recovery_min_apply_delay: each commit is applied
// that long after the primary made it) or paused, to make the replica behind
// on purpose.
import { join } from 'node:path';
import { Client } from 'pg';
import { clusterAt, clusterDirectory, freePort, pg, type PgCluster } from './pgCluster';

export interface PgReplica extends PgCluster {
  /** One statement on the replica (e.g. pg_wal_replay_pause()), through a short-lived connection. */
  query<T = Record<string, unknown>>(sql: string, database?: string): Promise<T[]>;
  /** Sets recovery_min_apply_delay ('0' for none) and reloads the configuration. */
  setApplyDelay(delay: string): Promise<void>;
}

export async function createPgReplica(primary: PgCluster, options: { settings?: Record<string, string | number> } = {}): Promise<PgReplica> {
  const dir = await clusterDirectory();
  const port = await freePort();
  // -c fast: an immediate checkpoint on the primary, not a spread one (seconds).
  await pg('pg_basebackup', ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', join(dir, 'data'), '-R', '-X', 'stream', '-c', 'fast']);
  const cluster = clusterAt(dir, port, { hot_standby: 'on', ...options.settings });
  const query = async <T>(sql: string, database = 'postgres'): Promise<T[]> => {
    const client = new Client({ connectionString: cluster.url(database) });
    await client.connect();
    try {
      return (await client.query(sql)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const replica: PgReplica = {
    ...cluster,
    query,
    async setApplyDelay(delay) {
      // ALTER SYSTEM writes postgresql.auto.conf, which a standby may do; the setting is reloadable.
      await query(`ALTER SYSTEM SET recovery_min_apply_delay = '${delay}'`);
      await query('SELECT pg_reload_conf()');
    },
  };
  await replica.start();
  return replica;
}
