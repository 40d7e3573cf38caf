// The analytics read a subtree's held positions from one covering index (position_held_xidx,
// migration 20261208000000; src/services/analytics/held.ts): every column of position their
// statements read must be in it, or the scan reads the table again (at a million positions the
// valuation tree 256 -> 420 ms). Checked on the statements the service really sends - marketValue,
// exposure and holdingsChange, now, as of a past date and as known at a past moment: each is
// planned where position is a view of the index's columns alone (in a transaction rolled back), so
// a statement reading any other column of position fails to plan. PostgreSQL can then answer every
// scan of position from the index alone (whether it does is its choice by cost: on a small table,
// or with few pages marked all-visible since the last VACUUM, it reads the table).
import { graphql } from '../support/http';
import { seededService } from '../support/seeded';

const seeded = seededService({ positions: 300, funds: 2 });
let fundId: string;
let asOf: string;
let past: string;
let moment: string;

beforeAll(async () => {
  const { fund, dates } = await seeded.fundAndValuationDates();
  [fundId, asOf, past] = [fund, dates[0]!, dates[1]!];
  moment = await seeded.weekBeforeLastRecording();
});

/** The columns of position_held_xidx (keys and INCLUDE), as the migrated database has them. */
async function indexColumns(): Promise<string[]> {
  const rows = await seeded.db.sql.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indexrelid = 'position_held_xidx'::regclass ORDER BY a.attnum`);
  return rows.map((r) => r.name);
}

class RolledBack extends Error {}

/**
 * The statements an operation sends that read position, each planned (EXPLAIN: parsed, every column
 * resolved) in a transaction where position is a view of the index's columns alone, then rolled
 * back: the error of each statement that reads another column of position, null for the others.
 */
async function planned(query: string, variables: Record<string, unknown>): Promise<{ sql: string; error: string | null }[]> {
  const seen: { query: string; params: string }[] = [];
  const off = seeded.db.onQuery((e) => seen.push({ query: e.query, params: e.params }));
  const res = await graphql(seeded.api.url, query, variables);
  off();
  expect(res.errors).toBeUndefined();
  const columns = (await indexColumns()).map((c) => `"${c}"`).join(', ');
  const out: { sql: string; error: string | null }[] = [];
  for (const s of seen.filter((x) => /\bFROM position p\b/.test(x.query))) {
    let error: string | null = null;
    await seeded.db.sql.transaction(async (tx) => {
      await tx.exec(`ALTER TABLE position RENAME TO position_whole; CREATE VIEW position AS SELECT ${columns} FROM position_whole`);
      try {
        await tx.query(`EXPLAIN ${s.query}`, JSON.parse(s.params) as unknown[]);
      } catch (e) {
        error = (e as Error).message;
      }
      throw new RolledBack();
    }).catch((e: unknown) => {
      if (!(e instanceof RolledBack)) throw e;
    });
    out.push({ sql: s.query.replace(/\s+/g, ' ').slice(0, 120), error });
  }
  return out;
}

const OPERATIONS: [string, string, () => Record<string, unknown>][] = [
  ['the valuation tree, now and as of a past date', `query($id: ID!, $asOf: Date!, $past: Date!) { portfolioNode(id: $id) {
      now: marketValue(asOf: $asOf, currency: "USD") { amount } children { now: marketValue(asOf: $asOf, currency: "USD") { amount }
        then: marketValue(asOf: $past, currency: "USD") { amount } } } }`, () => ({ id: fundId, asOf: asOf, past })],
  ['market values as known at a past moment', `query($id: ID!, $asOf: Date!, $at: DateTime!) { portfolioNode(id: $id) {
      marketValue(asOf: $asOf, knownAt: $at) { amount } children { marketValue(asOf: $asOf, knownAt: $at) { amount } } } }`,
  () => ({ id: fundId, asOf: asOf, at: moment })],
  ['exposure with look-through, now and as known at a past moment', `query($id: ID!, $asOf: Date!, $at: DateTime!) { portfolioNode(id: $id) {
      now: exposure(dimension: ISSUER, lookThrough: true, asOf: $asOf) { total buckets { key marketValue } }
      then: exposure(dimension: SECTOR, asOf: $asOf, knownAt: $at) { total buckets { key marketValue } } } }`,
  () => ({ id: fundId, asOf: asOf, at: moment })],
  ['every fund\'s exposure by child (firm-wide dashboard)', `query($asOf: Date!) { portfolioRoots {
      exposure(dimension: CHILD, asOf: $asOf) { total buckets { key marketValue } } marketValue(asOf: $asOf) { amount } } }`,
  () => ({ asOf: asOf })],
  ['holdingsChange between two dates and between two moments', `query($id: ID!, $asOf: Date!, $past: Date!, $at: DateTime!) { portfolioNode(id: $id) {
      dates: holdingsChange(from: { asOf: $past }, to: { asOf: $asOf }) { marketValueFrom marketValueTo changes(first: 5) { totalCount edges { node { kind quantityFrom quantityTo } } } }
      moments: holdingsChange(from: { asOf: $asOf, knownAt: $at }, to: { asOf: $asOf }) { marketValueFrom marketValueTo changes(first: 5) { totalCount } } } }`,
  () => ({ id: fundId, asOf: asOf, past, at: moment })],
];

it.each(OPERATIONS)('%s: every statement reads of position only what position_held_xidx holds', async (_name, query, variables) => {
  expect(await indexColumns()).toEqual(['id', 'portfolio_node_id', 'instrument_id', 'quantity', 'status', 'latest_as_of', 'latest_market_value', 'latest_currency', 'state_from', 'last_recorded_at']);
  const statements = await planned(query, variables());
  // The operation computes from position (else this checks nothing).
  expect(statements.length).toBeGreaterThan(0);
  for (const statement of statements) expect(statement).toEqual({ sql: statement.sql, error: null });
  // The view is gone with its transaction: position is the table again.
  const [{ kind }] = (await seeded.db.sql.query<{ kind: string }>(`SELECT relkind::text AS kind FROM pg_class WHERE relname = 'position'`)) as [{ kind: string }];
  expect(kind).toBe('r');
}, 60_000);

it('catches a statement reading a column the index lacks', async () => {
  // The check itself: the same planning refuses a read of a column outside the index.
  const columns = (await indexColumns()).map((c) => `"${c}"`).join(', ');
  let error: string | null = null;
  await seeded.db.sql.transaction(async (tx) => {
    await tx.exec(`ALTER TABLE position RENAME TO position_whole; CREATE VIEW position AS SELECT ${columns} FROM position_whole`);
    try {
      await tx.query(`EXPLAIN SELECT p.id, p.base_ccy FROM position p WHERE p.portfolio_node_id = ANY ($1::uuid[])`, [[fundId]]);
    } catch (e) {
      error = (e as Error).message;
    }
    throw new RolledBack();
  }).catch((e: unknown) => {
    if (!(e instanceof RolledBack)) throw e;
  });
  expect(error).toMatch(/base_ccy/);
});
