// Which subtrees a write touched: the written nodes and all their ancestors.
// Ancestors change only with the structure (a node created or moved), so they
// are cached per node and the cache is dropped on every STRUCTURE event and
// after a resync. One statement per event for the nodes not cached yet.
// (A STRUCTURE event itself is matched by fund, not through this map: a moved
// node leaves subtrees whose ancestors the map may never have held.)
import type { Prisma as Db } from '../db/database';
import { findAncestors } from '../services/portfolio/nodes';
import { prismaRead } from '../db/driverRows';

/** Past this many cached nodes the cache starts again (a bound on memory, not a tuning knob). */
const MAX_CACHED = 200_000;

export class AncestorMap {
  private readonly ancestors = new Map<string, readonly string[]>();

  constructor(private readonly prisma: Db) {}

  /** The nodes and every ancestor of each (every node whose subtree contains one of them). */
  async withAncestors(nodeIds: readonly string[]): Promise<Set<string>> {
    const touched = new Set(nodeIds);
    const missing = nodeIds.filter((id) => !this.ancestors.has(id));
    if (missing.length > 0) {
      if (this.ancestors.size + missing.length > MAX_CACHED) this.ancestors.clear();
      const found = new Map<string, string[]>(missing.map((id) => [id, []]));
      for (const row of await findAncestors(prismaRead(this.prisma), missing, null)) found.get(row.startId)?.push(row.id);
      for (const [id, list] of found) this.ancestors.set(id, list);
    }
    for (const id of nodeIds) for (const ancestor of this.ancestors.get(id) ?? []) touched.add(ancestor);
    return touched;
  }

  clear(): void {
    this.ancestors.clear();
  }
}
