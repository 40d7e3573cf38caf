// The analytics statements filter positions by the subtree's node ids read just
// before them (subtreeIds: so that the planner estimates the held positions from
// the column's statistics). A move committed between the two reads must not
// give an answer for a tree that never stood: each statement checks in its own
// snapshot that its subtree is still those ids, and withSubtreeIds runs it again
// without them when it is not. The move is committed exactly between the two
// reads here, on both databases.
import { heldSql } from '../../src/services/analytics/held';
import { subtreeCte, subtreeIds, subtreeSame, withSubtreeIds } from '../../src/services/analytics/exposure';
import { createChain, createInstrument, createPosition } from '../support/factories';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';
import { Prisma } from '../../src/generated/prisma/client';

let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

interface Row {
  n: number;
  subtree_same: boolean;
}

async function heldCount(ids: string[] | null, nodeId: string): Promise<Row> {
  const [row] = await t.db.prisma.$queryRaw<Row[]>(Prisma.sql`
    WITH RECURSIVE ${subtreeCte(nodeId)}
    SELECT (SELECT count(*)::int FROM ${heldSql('2026-06-30', null, false, 'subtree', ids)} h) AS n, ${subtreeSame(ids)}`);
  return row!;
}

describe('subtree ids read before the statement', () => {
  it('are the subtree in uuid order, and a statement given them filters by them', async () => {
    const chain = await createChain(t.db, 'Ids');
    const instrument = await createInstrument(t.db);
    await createPosition(t.db, { portfolioNodeId: chain.book.id, instrumentId: instrument.id });
    await createPosition(t.db, { portfolioNodeId: chain.strategy.id, instrumentId: instrument.id });
    const ids = await subtreeIds(t.db.prisma, chain.fund.id, null);
    expect(ids).toEqual([chain.fund.id, chain.desk.id, chain.book.id, chain.strategy.id].sort());
    expect(await heldCount(ids, chain.fund.id)).toEqual({ n: 2, subtree_same: true });
    expect(await heldCount(await subtreeIds(t.db.prisma, chain.desk.id, null), chain.fund.id)).toEqual({ n: 2, subtree_same: false });
    expect(await subtreeIds(t.db.prisma, '00000000-0000-4000-8000-000000000000', null)).toEqual([]);
  });

  it('are read again inside the statement when a move committed in between', async () => {
    const from = await createChain(t.db, 'From');
    const to = await createChain(t.db, 'To');
    const instrument = await createInstrument(t.db);
    await createPosition(t.db, { portfolioNodeId: from.book.id, instrumentId: instrument.id });
    await createPosition(t.db, { portfolioNodeId: from.strategy.id, instrumentId: instrument.id });
    await createPosition(t.db, { portfolioNodeId: to.book.id, instrumentId: instrument.id });
    const seen: { ids: string[] | null; row: Row }[] = [];
    const answer = await withSubtreeIds(t.db.prisma, from.fund.id, [null], async ([ids]) => {
      // Between the ids' read and the statement: the book (and its strategy) moves to the other fund.
      if (seen.length === 0) await t.db.prisma.portfolioNode.update({ where: { id: from.book.id }, data: { parentId: to.desk.id } });
      const row = await heldCount(ids ?? null, from.fund.id);
      seen.push({ ids: ids ?? null, row });
      return row;
    });
    expect(seen).toHaveLength(2);
    expect(seen[0]!.ids).toContain(from.book.id);
    expect(seen[0]!.row).toEqual({ n: 2, subtree_same: false }); // the stale ids still counted the moved book
    expect(seen[1]!.ids).toBeNull();
    expect(answer).toEqual({ n: 0, subtree_same: true });
    // Without a move in between: one statement.
    let calls = 0;
    const settled = await withSubtreeIds(t.db.prisma, to.fund.id, [null], async ([ids]) => {
      calls++;
      return heldCount(ids ?? null, to.fund.id);
    });
    expect(calls).toBe(1);
    expect(settled).toEqual({ n: 3, subtree_same: true });
  });
});
