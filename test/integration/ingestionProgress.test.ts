// A running batch's progress (ingestionBatchProgress: "the batch now, then each change of status or
// counts"): the importer records the counts so far after each chunk outside its rows' transaction
// (src/services/ingestion/progress.ts), so that other sessions read them and the batch row's NOTIFY
// trigger announces them, while the rows stay invisible until COMPLETED.
//
// PostgreSQL (TEST_DATABASE_URL): the importer runs on a Database of its own (as `npm run ingest` or
// another instance would), the service and the readers on another; a reader sees the counts grow chunk
// by chunk before COMPLETED, a subscriber over a real WebSocket receives them, a late progress write
// never overwrites COMPLETED or FAILED, a failing progress write does not fail the upload, and with
// DB_POOL_MAX=1 the import skips progress instead of waiting for its own connection.
// PGlite: one session serves the process and the import's transaction holds it whole (every other
// read waits for the commit): the subscriber gets VALIDATING, then the outcome.
//
// No wall-clock bounds: the row source holds each chunk back until the progress of the chunk before
// the previous one has been seen (the importer reads one chunk ahead), and every other wait ends on an
// event, a state reached or the end of a stream.
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { AuthConfig } from '../../src/config';
import { openDatabase, type Database } from '../../src/db/database';
import type { LiveEvent, LiveEvents } from '../../src/live/events';
import { createLiveEvents } from '../../src/live/listener';
import type { Logger } from '../../src/logger';
import { recordProgress, type BatchCounts } from '../../src/services/ingestion/batches';
import { ingestPositionRows, type IngestOptions } from '../../src/services/ingestion/ingestRows';
import { ProgressWriter } from '../../src/services/ingestion/progress';
import type { IncomingRow } from '../../src/services/ingestion/types';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { startService, type RunningService } from '../support/http';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/testDatabase';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose: typeof Jose = require('jose');

const SECRET = 'an-ingestion-progress-test-secret-of-32-bytes';
const AUTH: AuthConfig = { mode: 'jwt', secret: SECRET, clockToleranceSec: 0 };
const CHUNK = 10;
const CHUNKS = 5;
const ROWS = CHUNK * CHUNKS;

const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 300, funds: 2 });
const book = world.nodes.find((n) => n.node_type === 'BOOK')!;
const isin = world.instruments.find((i) => i.isin)!.isin!;
const good = (n: number): IncomingRow[] =>
  Array.from({ length: n }, (_, i) => ({ values: { nodeId: book.id, isin, quantity: `${i + 1}`, baseCurrency: 'USD', marketValue: `${i}.5`, asOfDate: '2026-11-30' } }));
const bad: IncomingRow = { values: { nodeId: book.id, isin, quantity: 'many', baseCurrency: 'USD' } };

let t: TestDatabase;
/** The importer's database: on PostgreSQL a second pool on the same database (another process, as far as sessions go). */
let importer: Database;
let listener: LiveEvents;
let api: RunningService;
let token: string;
const clients: Client[] = [];

const options = (over: Partial<IngestOptions> = {}): IngestOptions => ({
  batchType: 'POSITION_UPLOAD', mode: 'ALL_OR_NOTHING', sourceSystem: 'progress-test', origin: { kind: 'api', step: 'test' }, chunkSize: CHUNK, ...over,
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const until = async (condition: () => boolean | Promise<boolean>) => {
  while (!(await condition())) await sleep(10);
};

interface StoredBatch {
  status: string;
  rowCount: number;
  acceptedCount: number;
  rejectedCount: number;
  positions: number;
}

/** The batch as another session reads it, with the number of positions that session sees. */
async function readBatch(id: string): Promise<StoredBatch> {
  const [row] = await t.db.sql.query<StoredBatch>(
    `SELECT status::text AS status, row_count AS "rowCount", accepted_count AS "acceptedCount", rejected_count AS "rejectedCount",
            (SELECT count(*)::int FROM position) AS positions
     FROM ingestion_batch WHERE id = $1::uuid`,
    [id],
  );
  return row!;
}

/**
 * The rows, each chunk from the third on held back until `seen(n)` resolves for the rows of the chunk
 * before the previous one: when the importer asks for chunk k + 2 it has written and reported chunk k
 * (and holds chunk k + 1, read ahead).
 */
async function* gated(rows: IncomingRow[], seen: (rowCount: number) => Promise<void>): AsyncGenerator<IncomingRow> {
  for (let i = 0; i < rows.length; i++) {
    if (i % CHUNK === 0 && i >= 2 * CHUNK) await seen(i - CHUNK);
    yield rows[i]!;
  }
}

type Progress = { id: string; status: string; rowCount: number; acceptedCount: number; rejectedCount: number };

/** One ingestionBatchProgress subscription over a real WebSocket, its events kept in order. */
class Subscription {
  readonly events: Progress[] = [];
  readonly ended: Promise<{ error?: unknown }>;
  private readonly client: Client;

  constructor(id: string) {
    this.client = createClient({
      url: `${api.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    clients.push(this.client);
    let end!: (outcome: { error?: unknown }) => void;
    this.ended = new Promise((resolve) => (end = resolve));
    this.client.subscribe<{ ingestionBatchProgress: Progress }>(
      { query: 'subscription($id: ID!) { ingestionBatchProgress(id: $id) { id status rowCount acceptedCount rejectedCount } }', variables: { id } },
      {
        next: (result: FormattedExecutionResult<{ ingestionBatchProgress: Progress }>) => {
          if (result.errors) end({ error: result.errors });
          else this.events.push(result.data!.ingestionBatchProgress);
        },
        error: (error) => end({ error }),
        complete: () => end({}),
      },
    );
  }

  /** Resolves once an event with at least `rowCount` rows has come. */
  async reached(rowCount: number): Promise<void> {
    await until(() => this.events.some((e) => e.rowCount >= rowCount));
  }
}

/**
 * Records the LiveEvents from now on; `until()` sends a marker notification and returns every event received
 * before it (notifications arrive in commit order: whatever committed before the marker is in).
 */
function recordEvents(): { until(): Promise<LiveEvent[]> } {
  const marker = crypto.randomUUID();
  const seen: LiveEvent[] = [];
  let reached!: () => void;
  const done = new Promise<void>((resolve) => (reached = resolve));
  const off = listener.subscribe((event) => {
    if (event.type === 'change' && event.fundIds[0] === marker) reached();
    else seen.push(event);
  });
  return {
    async until() {
      await t.db.sql.query(`SELECT pg_notify('pds_live', json_build_object('k', 'REFERENCE_DATA', 'f', json_build_array($1::text), 'n', NULL)::text)`, [marker]);
      await done;
      off();
      return seen;
    },
  };
}

async function openImporter(poolMax: number): Promise<Database> {
  return openDatabase({ kind: 'postgres', url: t.url!, poolMax, connectTimeoutMs: 10_000, statementTimeoutMs: 60_000, idleTimeoutMs: 10_000, jit: false });
}

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, world);
  importer = onPostgres ? await openImporter(3) : t.db;
  listener = await createLiveEvents(t.db, onPostgres ? { kind: 'postgres', url: t.url! } : { kind: 'embedded' });
  api = await startService(t.db, { auth: AUTH, live: listener });
  token = await new jose.SignJWT({ roles: ['ADMIN'], funds: ['*'] } as Jose.JWTPayload).setProtectedHeader({ alg: 'HS256' })
    .setSubject('progress-tester').setExpirationTime('1h').sign(new TextEncoder().encode(SECRET));
});

afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
});

afterAll(async () => {
  await api?.stop();
  await listener?.close();
  if (importer && importer !== t?.db) await importer.close();
  await t?.drop();
});

describe('ProgressWriter', () => {
  const counts = (rowCount: number): BatchCounts => ({ rowCount, acceptedCount: rowCount, rejectedCount: 0 });

  it('keeps at most one write in flight, writes the latest counts after it, never rejects, and close() waits for the one in flight', async () => {
    const started: number[] = [];
    const finish: (() => void)[] = [];
    let inFlight = 0;
    let most = 0;
    const errors: unknown[] = [];
    const writer = new ProgressWriter(async (c) => {
      started.push(c.rowCount);
      most = Math.max(most, ++inFlight);
      await new Promise<void>((resolve) => finish.push(resolve));
      inFlight--;
      if (c.rowCount === 30) throw new Error('database gone');
    }, () => true, (error) => errors.push(error));
    writer.report(counts(10));
    writer.report(counts(20));
    writer.report(counts(30)); // replaces 20: the latest wins
    expect(started).toEqual([10]);
    finish.shift()!();
    await until(() => started.length === 2);
    expect(started).toEqual([10, 30]);
    writer.report(counts(40));
    finish.shift()!(); // 30 fails: reported, not thrown; 40 follows
    await until(() => started.length === 3);
    expect(errors).toEqual([new Error('database gone')]);
    writer.report(counts(50)); // pending behind 40, dropped by close()
    let closed = false;
    const closing = writer.close().then(() => (closed = true));
    await sleep(20);
    expect(closed).toBe(false); // 40 is still in flight
    finish.shift()!();
    await closing;
    writer.report(counts(60)); // after close: nothing
    await sleep(20);
    expect(started).toEqual([10, 30, 40]);
    expect(most).toBe(1);
    expect(writer.stats).toEqual({ written: 3, skipped: 0, failed: 1 });
  });

  it('skips a write when no connection is to spare, and writes the next counts when one is', async () => {
    const written: number[] = [];
    let spare = false;
    const writer = new ProgressWriter(async (c) => void written.push(c.rowCount), () => spare, () => undefined);
    writer.report(counts(10));
    spare = true;
    writer.report(counts(20));
    await writer.close();
    expect(written).toEqual([20]);
    expect(writer.stats).toMatchObject({ written: 1, skipped: 1 });
  });
});

describe('a late progress write', () => {
  it('never overwrites a finished batch', async () => {
    const { batch } = await ingestPositionRows(importer, good(3), options());
    expect(batch).toMatchObject({ status: 'COMPLETED', rowCount: 3, acceptedCount: 3 });
    expect(await recordProgress(importer.sql, batch.id, { rowCount: 1, acceptedCount: 1, rejectedCount: 0 })).toBe(false);
    expect(await readBatch(batch.id)).toMatchObject({ status: 'COMPLETED', rowCount: 3, acceptedCount: 3 });
    const failed = await ingestPositionRows(importer, [...good(3), bad], options());
    expect(failed.batch).toMatchObject({ status: 'FAILED', rowCount: 4, acceptedCount: 0, rejectedCount: 1 });
    expect(await recordProgress(importer.sql, failed.batch.id, { rowCount: 3, acceptedCount: 3, rejectedCount: 0 })).toBe(false);
    expect(await readBatch(failed.batch.id)).toMatchObject({ status: 'FAILED', rowCount: 4, acceptedCount: 0 });
  });

  if (onPostgres) {
    it('that waited on the row lock of the finishing transaction changes nothing after its commit', async () => {
      const [batch] = await t.db.sql.query<{ id: string }>(
        `INSERT INTO ingestion_batch (batch_type, status, source_system) VALUES ('POSITION_UPLOAD', 'VALIDATING', 'late-write') RETURNING id::text AS id`,
      );
      const id = batch!.id;
      let late!: Promise<boolean>;
      await t.db.sql.transaction(async (tx) => {
        await tx.query(
          `UPDATE ingestion_batch SET status = 'COMPLETED', row_count = 7, accepted_count = 7, completed_at = clock_timestamp() WHERE id = $1::uuid`, [id],
        );
        late = recordProgress(importer.sql, id, { rowCount: 5, acceptedCount: 5, rejectedCount: 0 });
        // The late write is waiting for this transaction's lock on the batch row.
        await until(async () => (await importer.sql.query(
          `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'UPDATE ingestion_batch SET row_count%'`,
        )).length === 1);
      });
      expect(await late).toBe(false);
      expect(await readBatch(id)).toMatchObject({ status: 'COMPLETED', rowCount: 7, acceptedCount: 7 });
    });
  }
});

if (onPostgres) {
  describe('on PostgreSQL', () => {
    it('another session sees the counts grow chunk by chunk, and none of the rows, before COMPLETED', async () => {
      const before = (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM position'))[0]!.n;
      let id = '';
      const seen: StoredBatch[] = [];
      const source = gated(good(ROWS), async (rowCount) => {
        await until(async () => {
          const now = await readBatch(id);
          if (now.rowCount < rowCount) return false;
          seen.push(now);
          return true;
        });
      });
      const { batch } = await ingestPositionRows(importer, source, options({ onStatus: (_s, batchId) => void (id = batchId) }));
      expect(batch).toMatchObject({ status: 'COMPLETED', rowCount: ROWS, acceptedCount: ROWS, rejectedCount: 0 });
      expect(seen).toHaveLength(CHUNKS - 2);
      seen.forEach((s, k) => {
        expect(s).toMatchObject({ status: 'VALIDATING', acceptedCount: s.rowCount, rejectedCount: 0, positions: before });
        expect(s.rowCount % CHUNK).toBe(0);
        expect(s.rowCount).toBeGreaterThanOrEqual((k + 1) * CHUNK);
        expect(s.rowCount).toBeLessThan(ROWS);
      });
      expect(await readBatch(batch.id)).toMatchObject({ status: 'COMPLETED', rowCount: ROWS, acceptedCount: ROWS, positions: before + ROWS });
    });

    it('an ingestionBatchProgress subscriber receives increasing counts, then COMPLETED, and the subscription completes', async () => {
      let subscription!: Subscription;
      const source = gated(good(ROWS), (rowCount) => subscription.reached(rowCount));
      const { batch } = await ingestPositionRows(importer, source, options({
        onStatus: async (status, id) => {
          if (status !== 'VALIDATING') return;
          subscription = new Subscription(id);
          await until(() => subscription.events.length > 0); // subscribed before the rows' transaction begins
        },
      }));
      expect(await subscription.ended).toEqual({});
      const events = subscription.events;
      expect(events[0]).toEqual({ id: batch.id, status: 'VALIDATING', rowCount: 0, acceptedCount: 0, rejectedCount: 0 });
      expect(events.at(-1)).toEqual({ id: batch.id, status: 'COMPLETED', rowCount: ROWS, acceptedCount: ROWS, rejectedCount: 0 });
      const progress = events.slice(1, -1);
      expect(progress.length).toBeGreaterThanOrEqual(CHUNKS - 2);
      for (const [i, e] of progress.entries()) {
        expect(e).toMatchObject({ status: 'VALIDATING', acceptedCount: e.rowCount, rejectedCount: 0 });
        expect(e.rowCount).toBeGreaterThan(i === 0 ? 0 : progress[i - 1]!.rowCount);
      }
    });

    it('ALL_OR_NOTHING with a bad row: progress shows it refused, then FAILED with acceptedCount 0 and nothing written', async () => {
      const before = (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM position'))[0]!.n;
      const rows = good(ROWS);
      rows[CHUNK + 2] = bad; // row 13, in chunk 2
      let subscription!: Subscription;
      const source = gated(rows, (rowCount) => subscription.reached(rowCount));
      const { batch } = await ingestPositionRows(importer, source, options({
        onStatus: async (status, id) => {
          if (status !== 'VALIDATING') return;
          subscription = new Subscription(id);
          await until(() => subscription.events.length > 0);
        },
      }));
      expect(batch).toMatchObject({ status: 'FAILED', rowCount: ROWS, acceptedCount: 0, rejectedCount: 1 });
      expect(await subscription.ended).toEqual({});
      const events = subscription.events;
      expect(events.at(-1)).toMatchObject({ status: 'FAILED', rowCount: ROWS, acceptedCount: 0, rejectedCount: 1 });
      const progress = events.slice(1, -1);
      expect(progress.length).toBeGreaterThanOrEqual(CHUNKS - 2);
      for (const e of progress) expect(e.status).toBe('VALIDATING');
      // Once chunk 2 is in, its refused row shows while the batch runs.
      expect(progress.filter((e) => e.rowCount >= 2 * CHUNK).every((e) => e.rejectedCount === 1 && e.acceptedCount === e.rowCount - 1)).toBe(true);
      expect((await readBatch(batch.id)).positions).toBe(before);
    });

    it('a failing progress write does not fail the upload (logged once)', async () => {
      const warnings: unknown[] = [];
      const logger = { warn: (...args: unknown[]) => warnings.push(args) } as unknown as Logger;
      const broken: Database = {
        ...importer,
        sql: {
          ...importer.sql,
          query: <T,>(sql: string, params?: unknown[]) => (sql.startsWith('UPDATE ingestion_batch SET row_count')
            ? Promise.reject(new Error('progress write refused')) : importer.sql.query<T>(sql, params)),
        },
      };
      const { batch } = await ingestPositionRows(broken, good(ROWS), options({ logger }));
      expect(batch).toMatchObject({ status: 'COMPLETED', rowCount: ROWS, acceptedCount: ROWS });
      expect(warnings).toHaveLength(1);
      expect(JSON.stringify(warnings[0])).toContain('progress write refused');
    });

    it('with DB_POOL_MAX=1 skips progress (its transaction holds the only connection) instead of waiting for it', async () => {
      const single = await openImporter(1);
      try {
        const events = recordEvents();
        const { batch } = await ingestPositionRows(single, good(ROWS), options());
        expect(batch).toMatchObject({ status: 'COMPLETED', rowCount: ROWS, acceptedCount: ROWS });
        // Announced: created, VALIDATING, COMPLETED; no progress in between.
        const announced = (await events.until()).filter((e) => e.type === 'change' && e.batchId === batch.id);
        expect(announced).toHaveLength(3);
      } finally {
        await single.close();
      }
    });

    it('with connections to spare, each recorded chunk is announced (NOTIFY)', async () => {
      const events = recordEvents();
      let id = '';
      const source = gated(good(ROWS), (rowCount) => until(async () => (await readBatch(id)).rowCount >= rowCount));
      const { batch } = await ingestPositionRows(importer, source, options({ onStatus: (_s, batchId) => void (id = batchId) }));
      const announced = (await events.until()).filter((e) => e.type === 'change' && e.batchId === batch.id);
      expect(announced.length).toBeGreaterThanOrEqual(3 + CHUNKS - 2);
    });
  });
} else {
  describe('on the embedded database (PGlite)', () => {
    it('the subscriber gets VALIDATING, then COMPLETED: a read made during the import waits for its commit', async () => {
      let subscription!: Subscription;
      const during: { read?: Promise<StoredBatch> } = {};
      let id = '';
      async function* rows(): AsyncGenerator<IncomingRow> {
        for (const [i, row] of good(ROWS).entries()) {
          if (i === 3 * CHUNK) during.read = readBatch(id); // the rows' transaction holds the one session
          yield row;
        }
      }
      const { batch } = await ingestPositionRows(importer, rows(), options({
        onStatus: async (status, batchId) => {
          if (status !== 'VALIDATING') return;
          id = batchId;
          subscription = new Subscription(batchId);
          await until(() => subscription.events.length > 0);
        },
      }));
      expect(batch).toMatchObject({ status: 'COMPLETED', rowCount: ROWS, acceptedCount: ROWS });
      expect(await during.read).toMatchObject({ status: 'COMPLETED', rowCount: ROWS });
      expect(await subscription.ended).toEqual({});
      expect(subscription.events).toEqual([
        { id: batch.id, status: 'VALIDATING', rowCount: 0, acceptedCount: 0, rejectedCount: 0 },
        { id: batch.id, status: 'COMPLETED', rowCount: ROWS, acceptedCount: ROWS, rejectedCount: 0 },
      ]);
    });

    it('ALL_OR_NOTHING with a bad row ends FAILED with acceptedCount 0', async () => {
      const rows = good(ROWS);
      rows[CHUNK + 2] = bad;
      let subscription!: Subscription;
      const { batch } = await ingestPositionRows(importer, rows, options({
        onStatus: async (status, batchId) => {
          if (status !== 'VALIDATING') return;
          subscription = new Subscription(batchId);
          await until(() => subscription.events.length > 0);
        },
      }));
      expect(batch).toMatchObject({ status: 'FAILED', rowCount: ROWS, acceptedCount: 0, rejectedCount: 1 });
      expect(await subscription.ended).toEqual({});
      expect(subscription.events.map((e) => e.status)).toEqual(['VALIDATING', 'FAILED']);
      expect(subscription.events.at(-1)).toMatchObject({ rowCount: ROWS, acceptedCount: 0, rejectedCount: 1 });
    });
  });
}
