// Position counts on a date as known at a moment, kept by the database (node_position_change,
// migration 20261207000000): for every node, set of states, date and moment, the count now minus
// the events after the date or the moment equals the number of positions with a version in
// one of those states covering the date as known at the moment - after a seeded history with
// corrections, and after every kind of write (open, adjust, backdated close, delete, direct
// status and quantity updates, bulk statements, a move to another node, a position removed).
import { createChain, createInstrument, createPosition } from '../support/factories';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

const STATE_SETS = [['ACTIVE'], ['CLOSED'], ['DELETED'], ['ACTIVE', 'CLOSED']];

/** Every (node, states, date, moment) whose kept count differs from the versions' count: [node, states, date, moment, kept, real]. */
async function mismatches(days: string[], moments: (string | null)[], nodes: string[] | null = null): Promise<unknown[][]> {
  const rows = await t.db.sql.query<{ node: string; states: string; day: string; moment: string | null; kept: number; real: number }>(`
    SELECT n.id::text AS node, array_to_string(s.states, ',') AS states, d.day::text AS day, k.moment::text AS moment,
      ((SELECT COALESCE(sum(c.delta), 0) FROM node_position_count c WHERE c.portfolio_node_id = n.id AND c.status = ANY (s.states))
       - (SELECT COALESCE(sum(e.delta), 0) FROM node_position_change e WHERE e.portfolio_node_id = n.id AND e.status = ANY (s.states) AND e.day > d.day)
       - (SELECT COALESCE(sum(e.delta), 0) FROM node_position_change e WHERE e.portfolio_node_id = n.id AND e.status = ANY (s.states)
            AND k.moment IS NOT NULL AND e.stamp > k.moment AND e.day <= d.day))::int AS kept,
      (SELECT count(DISTINCT p.id)::int FROM position p JOIN position_version v ON v.position_id = p.id
        WHERE p.portfolio_node_id = n.id AND v.status = ANY (s.states) AND v.valid_from <= d.day AND (v.valid_to IS NULL OR v.valid_to > d.day)
          AND CASE WHEN k.moment IS NULL THEN v.superseded_at IS NULL
                   ELSE v.recorded_at <= k.moment AND (v.superseded_at IS NULL OR v.superseded_at > k.moment) END) AS real
    FROM portfolio_node n
    CROSS JOIN (SELECT ARRAY(SELECT jsonb_array_elements_text(x))::position_status[] AS states FROM jsonb_array_elements($1::jsonb) AS x) s
    CROSS JOIN unnest($2::date[]) AS d (day)
    CROSS JOIN unnest($3::timestamptz[]) AS k (moment)
    WHERE $4::uuid[] IS NULL OR n.id = ANY ($4::uuid[])`, [JSON.stringify(STATE_SETS), days, moments, nodes]);
  return rows.filter((r) => r.kept !== r.real).map((r) => [r.node, r.states, r.day, r.moment, r.kept, r.real]);
}

/** The dates around every date the versions name, and a few more. */
async function daysOfInterest(nodes: string[] | null = null): Promise<string[]> {
  const rows = await t.db.sql.query<{ day: string }>(`
    WITH v AS (SELECT v.* FROM position_version v JOIN position p ON p.id = v.position_id WHERE $1::uuid[] IS NULL OR p.portfolio_node_id = ANY ($1::uuid[]))
    SELECT DISTINCT (x.day + o.off)::text AS day FROM (
      SELECT valid_from AS day FROM v UNION SELECT valid_to FROM v WHERE valid_to IS NOT NULL
      UNION SELECT '1990-01-01'::date UNION SELECT '2100-01-01'::date
    ) x CROSS JOIN (VALUES (-1), (0), (1)) AS o (off) ORDER BY 1`, [nodes]);
  return rows.map((r) => r.day);
}

/** Just before, at and just after every recording stamp the versions carry, and now (null). */
async function momentsOfInterest(): Promise<(string | null)[]> {
  const rows = await t.db.sql.query<{ at: string }>(`
    SELECT DISTINCT (x.at + o.off)::text AS at FROM (
      SELECT recorded_at AS at FROM position_version UNION SELECT superseded_at FROM position_version WHERE superseded_at IS NOT NULL
    ) x CROSS JOIN (VALUES (interval '-1 microsecond'), (interval '0'), (interval '1 microsecond')) AS o (off) ORDER BY 1`);
  return [...rows.map((r) => r.at), null];
}

/** A sample of at most n, spread evenly (the first and last kept). */
const spread = <T>(xs: T[], n: number): T[] => (xs.length <= n ? xs : Array.from({ length: n }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (n - 1))]!));

it('counts a seeded history (versions and corrections recorded over months) on every date as known at every moment', async () => {
  await loadWorld(t.db.sql, buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 400, funds: 1 }), { reset: true });
  const superseded = (await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM position_version WHERE superseded_at IS NOT NULL'))[0]!.n;
  expect(superseded).toBeGreaterThan(0); // the history has corrections: the knownAt events are exercised
  const days = spread(await daysOfInterest(), 24);
  const moments = spread(await momentsOfInterest(), 16);
  expect(await mismatches(days, moments)).toEqual([]);
});

it('keeps the counts through every kind of write, and the API answers from them', async () => {
  const a = await createChain(t.db, 'HeldA');
  const b = await createChain(t.db, 'HeldB');
  const instrument = await createInstrument(t.db);
  const moments: (string | null)[] = [null];
  // A moment between two writes, a few milliseconds from each (the API takes knownAt to the millisecond).
  const pause = () => new Promise((resolve) => setTimeout(resolve, 3));
  const mark = async () => {
    await pause();
    moments.push(new Date((await t.db.sql.query<{ at: Date }>('SELECT clock_timestamp() AS at'))[0]!.at).toISOString());
    await pause();
  };
  const p1 = await createPosition(t.db, { portfolioNodeId: a.book.id, instrumentId: instrument.id, openedOn: new Date('2026-01-15') });
  const p2 = await createPosition(t.db, { portfolioNodeId: a.book.id, instrumentId: instrument.id, openedOn: new Date('2026-02-01') });
  const p3 = await createPosition(t.db, { portfolioNodeId: a.strategy.id, instrumentId: instrument.id, openedOn: new Date('2026-03-01') });
  // Born closed, and born deleted.
  await createPosition(t.db, { portfolioNodeId: b.book.id, instrumentId: instrument.id, openedOn: new Date('2026-01-10'), status: 'CLOSED', closedOn: new Date('2026-04-01') });
  await createPosition(t.db, { portfolioNodeId: b.book.id, instrumentId: instrument.id, openedOn: new Date('2026-01-10'), status: 'DELETED' });
  await mark();
  // Many positions in one statement, over several nodes.
  await t.db.sql.query(`INSERT INTO position (portfolio_node_id, instrument_id, quantity, base_ccy, opened_on, state_from)
    SELECT node, $4, 1, 'USD', '2026-02-15', '2026-02-15' FROM unnest(ARRAY[$1, $1, $2, $3, $3]::uuid[]) AS node`, [a.book.id, b.book.id, b.strategy.id, instrument.id]);
  await mark();
  // Adjustments (one backdated), a backdated close, a close of today, a delete.
  await t.db.sql.query(`SELECT position_change($1::uuid, 'ADJUST', 250, '2026-05-01')`, [p1.id]);
  await t.db.sql.query(`SELECT position_change($1::uuid, 'ADJUST', 300, '2026-03-01')`, [p1.id]);
  await mark();
  await t.db.sql.query(`SELECT position_change($1::uuid, 'CLOSE', NULL, '2026-04-15')`, [p2.id]);
  await mark();
  await t.db.sql.query(`UPDATE position SET status = 'CLOSED' WHERE portfolio_node_id = $1`, [b.strategy.id]);
  await t.db.sql.query(`SELECT position_change($1::uuid, 'DELETE', NULL, NULL)`, [p3.id]);
  await mark();
  // Several changes in one transaction (a version recorded and retired by the same transaction is removed).
  await t.db.sql.transaction(async (tx) => {
    await tx.query(`SELECT position_change($1::uuid, 'ADJUST', 400, '2026-06-01')`, [p1.id]);
    await tx.query(`SELECT position_change($1::uuid, 'ADJUST', 450, '2026-06-01')`, [p1.id]);
  });
  await mark();
  // Moves: one position, then a whole node's positions; then positions removed outright.
  await t.db.sql.query('UPDATE position SET portfolio_node_id = $1 WHERE id = $2', [b.book.id, p1.id]);
  await t.db.sql.query('UPDATE position SET portfolio_node_id = $1 WHERE portfolio_node_id = $2', [a.book.id, b.strategy.id]);
  await mark();
  const nodes = [a, b].flatMap((c) => [c.fund.id, c.desk.id, c.book.id, c.strategy.id]);
  const days = await daysOfInterest(nodes);
  expect(await mismatches(days, moments, nodes)).toEqual([]);
  // Through the API, as of dates, now and as known before the adjustments and moves.
  const service = await startService(t.db);
  try {
    const ask = async (node: string, asOf: string, knownAt: string | null, status: string[] | null = null) => {
      const res = await graphql(service.url, `query ($id: ID!, $asOf: Date!, $knownAt: DateTime, $status: [PositionStatus!]) {
        portfolioNode(id: $id) { positions(first: 0, asOf: $asOf, knownAt: $knownAt, status: $status, includeDescendants: true) { totalCount } } }`,
        { id: node, asOf, knownAt, status });
      expect(res.errors).toBeUndefined();
      return res.data!.portfolioNode.positions.totalCount as number;
    };
    // Fund A: p2 (held 02-01..04-15, then closed: recorded after moments[3]), four bulk positions
    // (two closed today after moments[4], moved in from fund B), p3 (deleted after moments[4]).
    expect(await ask(a.fund.id, '2026-05-01', null)).toBe(4);
    expect(await ask(a.fund.id, '2026-05-01', moments[3]!)).toBe(6);
    expect(await ask(a.fund.id, '2026-05-01', moments[4]!)).toBe(5);
    expect(await ask(a.fund.id, '2026-05-01', null, ['CLOSED'])).toBe(1);
    expect(await ask(a.fund.id, '2026-05-01', null, ['DELETED'])).toBe(1);
    expect(await ask(a.fund.id, '2026-05-01', moments[4]!, ['DELETED'])).toBe(0);
    // Fund B: p1 (moved in), one born closed on 04-01, one born deleted, one bulk position.
    expect(await ask(b.fund.id, '2026-03-15', null)).toBe(3);
    expect(await ask(b.fund.id, '2026-04-15', null, ['CLOSED'])).toBe(1);
    expect(await ask(b.fund.id, '2026-01-01', null)).toBe(0);
  } finally {
    await service.stop();
  }
  await t.db.sql.query('DELETE FROM position WHERE id = $1 OR portfolio_node_id = $2', [p2.id, a.strategy.id]);
  expect(await mismatches(days, moments, nodes)).toEqual([]);
});
