// Live updates (issue 13), the database side: the NOTIFY triggers of migration
// 20261205140000_live_notify and the listener of src/live/listener.ts, on a real database (PGlite,
// or PostgreSQL with TEST_DATABASE_URL).
//
// No wall-clock bounds: "nothing else arrived" is decided by a barrier, a notification of our own
// sent after the write. Notifications reach the listener in commit order, so once the barrier is
// in, everything the write committed before it is in too.
import { Client } from 'pg';
import type { ChangeEvent, LiveEvent, LiveEvents } from '../../src/live/events';
import { createLiveEvents, LIVE_APPLICATION_NAME } from '../../src/live/listener';
import { createSnapshot } from '../../src/services/snapshots/create';
import { createChain, createInstrument, createNode, createPosition } from '../support/factories';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/testDatabase';

const WAIT_MS = 50_000;

/** Every event the listener delivers, with waits on them. */
class Recorder {
  private events: LiveEvent[] = [];
  private waiters: { test: (e: LiveEvent) => boolean; resolve: (e: LiveEvent) => void }[] = [];
  private barriers = 0;

  constructor(live: LiveEvents, private readonly t: TestDatabase) {
    live.subscribe((event) => {
      this.events.push(event);
      this.waiters = this.waiters.filter((w) => (w.test(event) ? (w.resolve(event), false) : true));
    });
  }

  /** The first event from now on (or already received since the last barrier) that passes `test`. */
  waitFor(test: (e: LiveEvent) => boolean, what: string): Promise<LiveEvent> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no live event: ${what} (received: ${JSON.stringify(this.events)})`)), WAIT_MS);
      this.waiters.push({ test, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  /** Sends a marker notification, waits for it, and returns (and forgets) every event received before it. */
  async barrier(): Promise<LiveEvent[]> {
    const token = `barrier-${++this.barriers}`;
    await this.t.db.sql.query(`SELECT pg_notify('pds_live', json_build_object('k', 'REFERENCE_DATA', 'f', json_build_array($1::text), 'n', NULL)::text)`, [token]);
    await this.waitFor((e) => e.type === 'change' && e.fundIds[0] === token, token);
    const index = this.events.findIndex((e) => e.type === 'change' && e.fundIds[0] === token);
    const before = this.events.slice(0, index);
    this.events = this.events.slice(index + 1);
    return before;
  }
}

type Shape = Omit<ChangeEvent, 'type' | 'committedAt'>;

/** Sorted by fund. */
const byFund = (shapes: Shape[]) => [...shapes].sort((x, y) => (x.fundIds[0] ?? '').localeCompare(y.fundIds[0] ?? ''));

/** Change events as their ids (without the receipt time), sorted by fund. */
const shape = (events: LiveEvent[]): Shape[] =>
  byFund(
    events.map((e) => {
      expect(e.type).toBe('change');
      const { committedAt, type: _type, ...rest } = e as ChangeEvent;
      expect(Number.isNaN(Date.parse(committedAt))).toBe(false);
      return rest;
    }),
  );

const sorted = (...ids: string[]) => [...ids].sort();

const INSERT_POSITIONS = `INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy)
  SELECT node, $2::uuid, 1, 'USD' FROM unnest($1::uuid[]) AS node`;

let t: TestDatabase;
let live: LiveEvents;
let rec: Recorder;
let a: Awaited<ReturnType<typeof createChain>>;
let b: Awaited<ReturnType<typeof createChain>>;
let instrumentId: string;

beforeAll(async () => {
  t = await createTestDatabase();
  live = await createLiveEvents(t.db, onPostgres ? { kind: 'postgres', url: t.url as string } : { kind: 'embedded' }, {
    minBackoffMs: 50,
    maxBackoffMs: 1_000,
  });
  rec = new Recorder(live, t);
  a = await createChain(t.db, 'A');
  b = await createChain(t.db, 'B');
  instrumentId = (await createInstrument(t.db)).id;
  await rec.barrier();
});

afterAll(async () => {
  await live?.close();
  await t?.drop();
});

describe('live notifications', () => {
  it('an INSERT of positions in two funds gives one POSITIONS event per fund, naming its nodes', async () => {
    await t.db.sql.query(INSERT_POSITIONS, [[a.book.id, a.strategy.id, a.strategy.id, b.book.id], instrumentId]);
    expect(shape(await rec.barrier())).toEqual(
      byFund([
        { kinds: ['POSITIONS'], fundIds: [a.fund.id], nodeIds: sorted(a.book.id, a.strategy.id) },
        { kinds: ['POSITIONS'], fundIds: [b.fund.id], nodeIds: [b.book.id] },
      ]),
    );
  });

  it('a 5,000-row INSERT over 150 nodes gives one notification, naming no nodes (too many)', async () => {
    const desk = await createNode(t.db, { nodeType: 'DESK', parentId: a.fund.id });
    await rec.barrier();
    await t.db.sql.query(
      `INSERT INTO portfolio_node (name, node_type, parent_id, base_ccy) SELECT 'Book ' || i, 'BOOK'::node_type, $1::uuid, 'USD' FROM generate_series(1, 150) i`,
      [desk.id],
    );
    expect(shape(await rec.barrier())).toEqual([{ kinds: ['STRUCTURE'], fundIds: [a.fund.id], nodeIds: null }]);
    await t.db.sql.query(
      `INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy)
       SELECT books.ids[1 + i % 150], $2::uuid, i, 'USD'
       FROM generate_series(1, 5000) i, (SELECT array_agg(id) AS ids FROM portfolio_node WHERE parent_id = $1::uuid) books`,
      [desk.id, instrumentId],
    );
    expect(shape(await rec.barrier())).toEqual([{ kinds: ['POSITIONS'], fundIds: [a.fund.id], nodeIds: null }]);
  });

  it('a statement touching exactly 100 nodes names them all, well under NOTIFY\'s 8,000 bytes', async () => {
    const desk = await createNode(t.db, { nodeType: 'DESK', parentId: b.fund.id });
    await rec.barrier();
    const books = await t.db.sql.query<{ id: string }>(
      `INSERT INTO portfolio_node (name, node_type, parent_id, base_ccy) SELECT 'Book ' || i, 'BOOK'::node_type, $1::uuid, 'USD' FROM generate_series(1, 99) i
       RETURNING id::text`,
      [desk.id],
    );
    const [event] = shape(await rec.barrier());
    expect(event).toEqual({ kinds: ['STRUCTURE'], fundIds: [b.fund.id], nodeIds: sorted(desk.id, ...books.map((book) => book.id)) });
    // The payload as the trigger writes it (json_build_object's spacing), the longest a node list makes.
    expect(`{"k" : "STRUCTURE", "f" : ${JSON.stringify(event!.fundIds)}, "n" : ${JSON.stringify(event!.nodeIds)}}`.length).toBeLessThan(4_200);
  });

  it('a valuation gives VALUATIONS with its position\'s fund and node', async () => {
    const position = await createPosition(t.db, { portfolioNodeId: b.strategy.id, instrumentId });
    await rec.barrier();
    await t.db.sql.query(`INSERT INTO valuation_result (position_id, as_of_date, market_value, currency) VALUES ($1::uuid, '2026-01-02', 10, 'USD')`, [position.id]);
    expect(shape(await rec.barrier())).toEqual([{ kinds: ['VALUATIONS'], fundIds: [b.fund.id], nodeIds: [b.strategy.id] }]);
  });

  it('a node moved to another fund gives STRUCTURE to both funds, with the old and the new parent', async () => {
    const book = await createNode(t.db, { nodeType: 'BOOK', parentId: a.desk.id });
    await rec.barrier();
    await t.db.sql.query(`UPDATE portfolio_node SET parent_id = $2::uuid WHERE id = $1::uuid`, [book.id, b.desk.id]);
    expect(shape(await rec.barrier())).toEqual(
      byFund([
        { kinds: ['STRUCTURE'], fundIds: [a.fund.id], nodeIds: sorted(book.id, a.desk.id) },
        { kinds: ['STRUCTURE'], fundIds: [b.fund.id], nodeIds: sorted(book.id, b.desk.id) },
      ]),
    );
  });

  it('a snapshot gives SNAPSHOTS with its node', async () => {
    const result = await createSnapshot(t.db.prisma, a.book.id, new Date('2026-01-02T00:00:00Z'));
    expect(result.created).toBe(true);
    expect(shape(await rec.barrier())).toEqual([{ kinds: ['SNAPSHOTS'], fundIds: [a.fund.id], nodeIds: [a.book.id] }]);
  });

  it('a stored feed gives MARKET_DATA with its id and type, for every fund', async () => {
    const [feed] = await t.db.sql.query<{ id: string }>(
      `INSERT INTO market_data_feed (feed_type, as_of_date, source, payload_json, payload_hash)
       VALUES ('FX_SPOT', '2026-01-02', 'liveNotify', '{}', encode(sha256('liveNotify'), 'hex')) RETURNING id::text`,
    );
    expect(shape(await rec.barrier())).toEqual([{ kinds: ['MARKET_DATA'], fundIds: [], nodeIds: null, feed: { id: feed!.id, feedType: 'FX_SPOT' } }]);
  });

  it('a batch gives its id when created and when its status or counts change, not for updated_at alone', async () => {
    const [batch] = await t.db.sql.query<{ id: string }>(`INSERT INTO ingestion_batch (batch_type, source_system) VALUES ('POSITION_UPLOAD', 'liveNotify') RETURNING id::text`);
    expect(shape(await rec.barrier())).toEqual([{ kinds: [], fundIds: [], nodeIds: [], batchId: batch!.id }]);
    await t.db.sql.query(`UPDATE ingestion_batch SET updated_at = clock_timestamp() WHERE id = $1::uuid`, [batch!.id]);
    expect(await rec.barrier()).toEqual([]);
    await t.db.sql.query(
      `UPDATE ingestion_batch SET status = 'COMPLETED', row_count = 2, accepted_count = 2, fund_ids = ARRAY[$2::uuid], completed_at = clock_timestamp()
       WHERE id = $1::uuid`,
      [batch!.id, a.fund.id],
    );
    expect(shape(await rec.barrier())).toEqual([{ kinds: [], fundIds: [a.fund.id], nodeIds: [], batchId: batch!.id }]);
  });

  it('reference data changes are firm-wide, and repeats within one transaction arrive once', async () => {
    await t.db.sql.transaction(async (tx) => {
      await tx.query(`UPDATE instrument SET name = 'Renamed once' WHERE id = $1::uuid`, [instrumentId]);
      await tx.query(`UPDATE instrument SET name = 'Renamed twice' WHERE id = $1::uuid`, [instrumentId]);
    });
    expect(shape(await rec.barrier())).toEqual([{ kinds: ['REFERENCE_DATA'], fundIds: [], nodeIds: null }]);
  });

  it('nothing is announced for a rolled-back transaction', async () => {
    await expect(
      t.db.sql.transaction(async (tx) => {
        await tx.query(INSERT_POSITIONS, [[a.book.id, b.book.id], instrumentId]);
        await tx.query(`UPDATE portfolio_node SET name = 'Renamed' WHERE id = $1::uuid`, [a.book.id]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await rec.barrier()).toEqual([]);
  });

  it('a malformed notification is ignored and the listener goes on', async () => {
    await t.db.sql.query(`SELECT pg_notify('pds_live', 'not json'), pg_notify('pds_live', '{"k":"NOT_A_KIND","f":[]}')`);
    expect(await rec.barrier()).toEqual([]);
  });
});

if (onPostgres) {
  describe('live notifications on PostgreSQL', () => {
    it('a write by a plain SQL client (another session) reaches the listener', async () => {
      const client = new Client({ connectionString: t.url });
      await client.connect();
      try {
        await client.query(INSERT_POSITIONS, [[b.strategy.id], instrumentId]);
      } finally {
        await client.end();
      }
      expect(shape(await rec.barrier())).toEqual([{ kinds: ['POSITIONS'], fundIds: [b.fund.id], nodeIds: [b.strategy.id] }]);
    });

    it('when the listening session is terminated, the listener reconnects, tells subscribers to resync, and events arrive again', async () => {
      const listening = (other = 0) =>
        t.db.sql.query<{ pid: number }>(
          `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database() AND pid <> $2`,
          [LIVE_APPLICATION_NAME, other],
        );
      const [before] = await listening();
      expect(before).toBeDefined();
      await t.db.sql.query(`SELECT pg_terminate_backend($1)`, [before!.pid]);
      await rec.waitFor((e) => e.type === 'resync', 'resync');
      expect(await listening(before!.pid)).toHaveLength(1);
      await rec.barrier();
      await t.db.sql.query(INSERT_POSITIONS, [[a.strategy.id], instrumentId]);
      expect(shape(await rec.barrier())).toEqual([{ kinds: ['POSITIONS'], fundIds: [a.fund.id], nodeIds: [a.strategy.id] }]);
    });
  });
}
