// Per-request loaders of the portfolio domain. A `children` or `descendants`
// request loads the whole subtrees of the asked nodes in one recursive
// statement and primes the children (and node) caches of every node in them,
// with what the look-ahead plan (src/graphql/plan.ts) asks beside: a nested
// tree query costs one statement for the hierarchy however deep it goes.
import DataLoader from 'dataloader';
import type { Scope } from '../auth/caller';
import type { Prisma } from '../db/database';
import type { Instrument, PortfolioNode, Position, ReferenceData } from '../generated/prisma/client';
import { findValuationVersions, findVersions, findVersionsOn } from '../services/portfolio/history';
import type { KnownAt } from '../services/time/knownAt';
import { isoDate } from '../services/inputs';
import { DEFAULT_PAGE_SIZE, pageFrom, withRows, type Page, type PageArgs } from '../services/pagination';
import type { TreePlan } from '../graphql/plan';
import { findAncestors, findNodesByIds, findSubtrees, listNodes, type NodeCount, type NodeFilter, type Read, type SubtreeRow } from '../services/portfolio/nodes';
import { findPositionsByIds, latestValuations, positionPages, positionPagesAsOf, type PageRelated, type PositionPageArgs, type RelatedRows } from '../services/portfolio/positions';
import { argsLoader, groupedByKey, PeekableLoader, rowLoader } from './keyed';

/** A subtree row's node: one object literal of the model's fields (a rest copy of the row cost more, per node of every tree). */
const stripSubtree = (row: SubtreeRow): PortfolioNode => ({
  id: row.id, name: row.name, nodeType: row.nodeType, parentId: row.parentId, baseCcy: row.baseCcy, tagsJson: row.tagsJson,
  fundId: row.fundId, createdAt: row.createdAt, updatedAt: row.updatedAt,
});

/** A subtree statement with nothing beside the nodes. */
/** The counts a subtree or list statement computes (NodeCount, knownAt settled) and the column of each planned count (null: left to its field). */
interface Counted {
  counts: NodeCount[];
  column: (number | null)[];
}

const EMPTY_PLAN: TreePlan = { subtree: true, counts: [], depth: false, descendants: [], key: 'nodes' };

/** The nodes below id in pre-order, at most maxDepth levels down (null: all), from the children lists. */
function preorder(id: string, children: Map<string, PortfolioNode[]>, maxDepth: number | null): PortfolioNode[] {
  const out: PortfolioNode[] = [];
  const seen = new Set([id]);
  const visit = (parent: string, level: number) => {
    if (maxDepth !== null && level > maxDepth) return;
    for (const child of children.get(parent) ?? []) {
      if (seen.has(child.id)) continue;
      seen.add(child.id);
      out.push(child);
      visit(child.id, level + 1);
    }
  };
  visit(id, 1);
  return out;
}

/** Groups keyed requests by their non-id part, runs one fetch per group, answers in key order. */
function groupedLoader<V>(
  fetchGroup: (ids: string[], groups: string[]) => Promise<Map<string, V>>,
  fallback: V,
  /** Groups of the same bucket are fetched together (their ids' union, every group of it at once); by default each group alone. */
  bucketOf: (group: string) => string = (group) => group,
): PeekableLoader<string, V> {
  return new PeekableLoader<string, V>(async (keys) => {
    const buckets = new Map<string, { groups: Set<string>; ids: Set<string> }>();
    for (const key of keys) {
      const [id, group] = splitKey(key);
      const name = bucketOf(group);
      let bucket = buckets.get(name);
      if (!bucket) buckets.set(name, (bucket = { groups: new Set(), ids: new Set() }));
      bucket.groups.add(group);
      bucket.ids.add(id);
    }
    const results = new Map<string, V>();
    await Promise.all(
      [...buckets.values()].map(async ({ groups, ids }) => {
        const found = await fetchGroup([...ids], [...groups]);
        for (const group of groups) for (const id of ids) results.set(`${id}|${group}`, found.get(id) ?? fallback);
      }),
    );
    return keys.map((key) => results.get(key) ?? fallback);
  });
}

const splitKey = (key: string): [string, string] => {
  const at = key.indexOf('|');
  return [key.slice(0, at), key.slice(at + 1)];
};

/** The most position rows a batch of pages reads their related rows for in its own statement (see positionPageByNode). */
const RELATED_ROWS_MAX = 120;

/** Loaders of other domains that rows read beside a position page prime (PageRelated). */
export interface RelatedLoaders {
  instrumentById: { prime(id: string, instrument: Instrument): unknown; settle(ids: Iterable<string>): Promise<void>; peek(id: string): Instrument | null | undefined };
  referenceById: { prime(id: string, entity: ReferenceData): unknown; settle(ids: Iterable<string>): Promise<void> };
}

export function portfolioLoaders(
  prisma: Prisma, read: Read, scope: Scope, related: RelatedLoaders,
  /** Settles a knownAt a planned count asks (the request's clock: once per request and value). */
  settle: (value: Date) => Promise<KnownAt> = () => Promise.reject(new Error('no clock to settle a knownAt')),
) {
  const nodeById = rowLoader((ids: readonly string[]) => findNodesByIds(read, ids, scope), (n) => n.id);

  const positionById = rowLoader((ids: readonly string[]) => findPositionsByIds(read, ids, scope), (p) => p.id);

  // A page's arguments (positionPageGroup's JSON, some 170 characters) stand in its keys as a short
  // token: a tree asks a page per node and count, and each key is a new string the cache hashes whole.
  const groupTokens = new Map<string, string>();
  const tokenGroups = new Map<string, string>();
  const positionPageKey = (nodeId: string, group: string): string => {
    let token = groupTokens.get(group);
    if (token === undefined) {
      token = `g${groupTokens.size}`;
      groupTokens.set(group, token);
      tokenGroups.set(token, group);
    }
    return `${nodeId}|${token}`;
  };
  type PageGroup = PositionPageArgs & { countOnly?: boolean; asOf: string | null; knownAt: KnownAt };
  // Pages asked with the same arguments but different columns (a tree's levels asking different
  // fields of their positions) are one statement reading the union of their columns.
  const pageBuckets = new Map<string, string>();
  const pageBucket = (token: string): string => {
    let bucket = pageBuckets.get(token);
    if (bucket === undefined) {
      const { columns: _columns, ...rest } = JSON.parse(tokenGroups.get(token)!) as PageGroup;
      pageBuckets.set(token, (bucket = JSON.stringify(rest)));
    }
    return bucket;
  };
  const positionPageByNode = groupedLoader(async (ids, tokens) => {
    const groups = tokens.map((token) => JSON.parse(tokenGroups.get(token)!) as PageGroup);
    const columns = groups.some((group) => !group.columns) ? null : [...new Set(groups.flatMap((group) => group.columns!))].sort();
    const parsed: PageGroup = { ...groups[0]!, columns };
    // The related rows come in the page's statement while the pages are small: each is a JSON object
    // there (about 10 us of the database's time per row), against a round trip (0.3-0.5 ms) for each
    // relation read apart. Larger pages leave them to their loaders (one statement each, by key).
    const rows = ids.length * ((parsed.first ?? DEFAULT_PAGE_SIZE) + 1);
    const args = rows <= RELATED_ROWS_MAX ? parsed : { ...parsed, related: null };
    // What the statement read beside each position (args.related), into the loaders that would read it.
    const primeRelated = (rows: RelatedRows) => {
      for (const instrument of rows.instruments) related.instrumentById.prime(instrument.id, instrument);
      for (const issuer of rows.issuers) related.referenceById.prime(issuer.id, issuer);
      for (const node of rows.nodes) nodeById.prime(node.id, node);
      for (const [positionId, values] of rows.valuations) {
        args.related?.valuations.forEach((asOf, k) => valuationAsOf.prime(`${positionId}|${asOf}|`, values[k] ?? null));
      }
    };
    const pages = args.asOf === null
      ? await positionPages(read, ids, args, scope, primeRelated)
      : await positionPagesAsOf(read, ids, { ...args, asOf: args.asOf }, scope, primeRelated);
    // Whole rows only: a page read with columns has the fields its selection asks, not a position's.
    if (!args.columns) for (const page of pages.values()) for (const p of page.rows) positionById.prime(p.id, p);
    // Larger pages: their related rows by their loaders (a statement each, as many as the plan asks)
    // before the pages are answered, so each position's instrument, issuer, node and valuation
    // resolves from memory (a tree of 600 positions otherwise waits on 600 promises, one per field).
    if (args !== parsed && parsed.related) await loadRelated(pages, parsed.related);
    return pages;
  }, null as Page<Position> | null, pageBucket);

  /** The related rows (PageRelated) of pages read without them, into their loaders; a failed load is left to its field. */
  const loadRelated = async (pages: Map<string, Page<Position> | null>, plan: PageRelated) => {
    const positions = [...pages.values()].flatMap((page) => page?.rows ?? []);
    if (positions.length === 0) return;
    const instruments = async () => {
      const ids = new Set(positions.map((p) => p.instrumentId));
      await related.instrumentById.settle(ids);
      if (!plan.issuer) return;
      const issuers = [...ids].flatMap((id) => related.instrumentById.peek(id)?.issuerId ?? []);
      if (issuers.length > 0) await related.referenceById.settle(issuers);
    };
    await Promise.all([
      plan.instrument ? instruments() : null,
      plan.node ? nodeById.settle(positions.map((p) => p.portfolioNodeId)) : null,
      plan.valuations.length > 0 ? valuationAsOf.settle(positions.flatMap((p) => plan.valuations.map((asOf) => `${p.id}|${asOf}|`))) : null,
    ]);
  };

  /**
   * Whole subtrees of many nodes from one statement, computing what the plan asks for every node
   * in them (src/graphql/plan.ts): primes nodeById, the children and descendant lists, depths and
   * the count-only position pages of every node, so a tree view resolves from memory.
   */
  const plans = new Map<string, TreePlan>();
  /**
   * Primes what a subtree statement's rows answer (findSubtrees with the plan's extras): nodeById,
   * the children lists (`whole`: the rows are whole subtrees, so every node's children are known),
   * depths, descendant lists and the count-only position pages. Returns the children lists.
   */
  const primeSubtrees = (rows: SubtreeRow[], plan: TreePlan, whole: boolean, counted: Counted): Map<string, PortfolioNode[]> => {
    // Subtrees may overlap (a node and its ancestor both asked): keep each node once.
    const unique = [...new Map(rows.map((r) => [r.id, r])).values()];
    const nodes = new Map(unique.map((row) => [row.id, stripSubtree(row)]));
    for (const node of nodes.values()) nodeById.prime(node.id, node);
    // The edges the statement walked (a row below its root), each once: never a cycle within one
    // subtree, even if one got into the table (the walks below also keep a visited set, for overlaps).
    const children = new Map<string, PortfolioNode[]>();
    const linked = new Set<string>();
    for (const row of rows) {
      if (row.level === 0 || !row.parentId || linked.has(row.id)) continue;
      linked.add(row.id);
      const node = nodes.get(row.id)!;
      const siblings = children.get(row.parentId);
      if (siblings) siblings.push(node);
      else children.set(row.parentId, [node]);
    }
    // Pre-order keeps siblings in name order; every node of a whole subtree has its children known.
    if (whole) for (const row of unique) childrenByNodeId.prime(row.id, children.get(row.id) ?? []);
    plan.counts.forEach((count, c) => {
      const i = counted.column[c];
      if (i === null || i === undefined) return; // its moment could not be settled: left to the field
      const own = new Map(unique.map((r) => [r.id, r.counts?.[i] ?? 0]));
      const below = new Map<string, number>();
      const subtotal = (id: string): number => {
        let total = below.get(id);
        if (total === undefined) {
          below.set(id, 0); // a cycle (only through overlapping subtrees of a broken table) adds nothing
          total = (own.get(id) ?? 0) + (children.get(id) ?? []).reduce((sum, child) => sum + subtotal(child.id), 0);
          below.set(id, total);
        }
        return total;
      };
      const spec = counted.counts[i]!;
      for (const page of count.pages) {
        if (page.includeDescendants && !whole) continue; // a sum over the subtree: not known from these rows
        // The key the positions field computes (its knownAt as the request's clock settled it).
        const group = spec.knownAt === null ? page.group : positionPageGroup({
          status: count.statuses as never, includeDescendants: page.includeDescendants, first: page.first, countOnly: true, asOf: spec.asOf, knownAt: spec.knownAt,
        });
        for (const row of unique) {
          const total = page.includeDescendants ? subtotal(row.id) : (own.get(row.id) ?? 0);
          positionPageByNode.prime(positionPageKey(row.id, group), pageFrom<Position>([], page.first ?? 0, total, null, (p) => [p.id]));
        }
      }
    });
    if (plan.depth) {
      let rootDepth = 0;
      for (const row of rows) {
        if (row.level === 0) rootDepth = row.rootDepth ?? 0;
        depthByNodeId.prime(row.id, rootDepth + row.level);
      }
    }
    if (whole) {
      for (const maxDepth of plan.descendants) {
        for (const row of unique) descendantsByNodeId.prime(`${row.id}|${maxDepth ?? ''}`, preorder(row.id, children, maxDepth));
      }
    }
    return children;
  };
  /**
   * The plan's counts as the statement computes them, each knownAt settled by the request's clock; a count
   * whose moment cannot be settled (in the future, writers still recording) is left out, to its field,
   * which reports why. `column[c]`: the statement's column of plan.counts[c], or null.
   */
  const countsOf = async (plan: TreePlan): Promise<Counted> => {
    const settled = await Promise.all(plan.counts.map(async (c): Promise<NodeCount | null> => {
      if (c.knownAt === null) return { statuses: c.statuses, asOf: c.asOf, knownAt: null };
      try {
        return { statuses: c.statuses, asOf: c.asOf, knownAt: await settle(c.knownAt) };
      } catch {
        return null;
      }
    }));
    const counts: NodeCount[] = [];
    const column = settled.map((spec) => (spec === null ? null : counts.push(spec) - 1));
    return { counts, column };
  };
  const extrasOf = async (plan: TreePlan) => {
    const counted = await countsOf(plan);
    return { counted, extras: { counts: counted.counts, rootDepth: plan.depth } };
  };

  /**
   * A page of nodes (portfolioNodes) from one statement that also reads what the plan of its nodes
   * asks that a list can give: their own position counts and their parents (primed like a subtree's).
   */
  const nodeList = async (filter: NodeFilter, args: PageArgs, count: boolean, plan: TreePlan, parent: boolean): Promise<Page<PortfolioNode>> => {
    const { counted } = await extrasOf(plan);
    const page = await listNodes(read, filter, args, scope, count, { counts: counted.counts, parent });
    const rows = page.rows.map(({ counts, parent: above, ...node }) => {
      if (above) nodeById.prime(above.id, above);
      return { ...node, counts, rootId: node.id, level: 0 };
    });
    // Each row alone (level 0, no depth: a list walks no ancestors): its own counts only.
    primeSubtrees(rows, { ...plan, depth: false }, false, counted);
    return withRows(page, rows.map((row) => nodeById.peek(row.id) ?? stripSubtree(row)));
  };
  const subtrees = groupedLoader(async (ids, [key]) => {
    const plan = plans.get(key!) ?? EMPTY_PLAN;
    const { counted, extras } = await extrasOf(plan);
    const children = primeSubtrees(await findSubtrees(read, ids, scope, null, extras), plan, true, counted);
    return new Map(ids.map((id) => [id, children.get(id) ?? []]));
  }, [] as PortfolioNode[]);

  /**
   * The roots in scope (portfolioRoots) in name then id order, from one statement that also loads
   * what the plan of the field asks: their whole subtrees when the query walks below them (or asks
   * counts over them), else the roots alone with their own counts and depths.
   */
  const roots = async (plan: TreePlan): Promise<PortfolioNode[]> => {
    const whole = plan.subtree || plan.counts.some((c) => c.pages.some((p) => p.includeDescendants));
    const { counted, extras } = await extrasOf(plan);
    const rows = await findSubtrees(read, 'roots', scope, whole ? null : 0, extras);
    primeSubtrees(rows, plan, whole, counted);
    return rows.filter((r) => r.level === 0).map((r) => nodeById.peek(r.id) ?? stripSubtree(r));
  };

  /** The children of a node, loading its subtree as planned (with every node asked for at the same level, in one statement). */
  const childrenPlanned = (id: string, plan: TreePlan): PortfolioNode[] | Promise<PortfolioNode[]> => {
    // Known: an enclosing subtree was loaded, planned from a selection that includes this one.
    const known = childrenByNodeId.peek(id);
    if (known) return known;
    plans.set(plan.key, plan);
    const key = `${id}|${plan.key}`;
    return subtrees.peek(key) ?? subtrees.load(key);
  };

  const childrenByNodeId: PeekableLoader<string, PortfolioNode[]> = new PeekableLoader((ids) => Promise.all(ids.map((id) => subtrees.load(`${id}|${EMPTY_PLAN.key}`))));

  const descendantsByNodeId = groupedLoader(async (ids, [maxDepth]) => {
    const rows = await findSubtrees(read, ids, scope, maxDepth === '' ? null : Number(maxDepth));
    for (const row of rows) nodeById.prime(row.id, stripSubtree(row));
    const lists = groupedByKey(ids, rows.filter((r) => r.level > 0), (r) => r.rootId);
    return new Map(ids.map((id, i) => [id, (lists[i] ?? []).map(stripSubtree)]));
  }, [] as PortfolioNode[]);

  /** A node's depth (its ancestors counted); primed by planned subtrees. */
  const depthByNodeId: PeekableLoader<string, number> = new PeekableLoader((ids) => Promise.all(ids.map(async (id) => (await ancestorsByNodeId.load(id)).length)));

  // Each node's chain up to its root, the node itself included: primes the nodes (a breadcrumb's node
  // and parent) and the node's depth, so that a node asked with its ancestors is one statement.
  const ancestorsByNodeId = new DataLoader<string, PortfolioNode[]>(async (ids) => {
    const rows = await findAncestors(read, ids, scope, true);
    return groupedByKey(ids, rows, (r) => r.startId).map((list, i) => {
      const ancestors: PortfolioNode[] = [];
      for (const { startId: _s, level, ...node } of list) {
        nodeById.prime(node.id, node);
        if (level > 0) ancestors.push(node);
      }
      if (list.length > 0) depthByNodeId.prime(ids[i]!, ancestors.length);
      return ancestors;
    });
  });

  // Keys carrying their field's arguments, every key of a batch read in one statement whatever its arguments.
  const nullIfEmpty = (knownAt: string | undefined): KnownAt => knownAt || null;
  const valuationAsOf = argsLoader(([positionId, asOf, knownAt]) => ({ positionId: positionId!, asOf: asOf!, knownAt: nullIfEmpty(knownAt) }),
    (keys) => latestValuations(read, keys));
  const versionsByPosition = argsLoader(([positionId, knownAt]) => ({ positionId: positionId!, knownAt: nullIfEmpty(knownAt) }),
    (keys) => findVersions(read, keys));
  const versionOnDate = argsLoader(([positionId, asOf, knownAt]) => ({ positionId: positionId!, asOf: asOf!, knownAt: nullIfEmpty(knownAt) }),
    (keys) => findVersionsOn(read, keys));
  const valuationVersions = argsLoader(([positionId, asOfDate]) => ({ positionId: positionId!, asOfDate: asOfDate! }),
    (keys) => findValuationVersions(read, keys));

  return {
    nodeById,
    childrenByNodeId,
    /** The children of a node, its subtree loaded as the plan of the field asks (src/graphql/plan.ts). */
    childrenPlanned,
    roots,
    nodeList,
    /** Whole subtrees as planned, key `${nodeId}|${plan.key}` (the plan registered by childrenPlanned or loadTree). */
    loadTree: (id: string, plan: TreePlan): Promise<PortfolioNode[]> => {
      plans.set(plan.key, plan);
      return subtrees.load(`${id}|${plan.key}`);
    },
    depthByNodeId,
    /** Key: `${nodeId}|${maxDepth ?? ''}`. */
    descendantsByNodeId,
    ancestorsByNodeId,
    positionById,
    /** Key: positionPageKey(nodeId, positionPageGroup(args)). */
    positionPageByNode,
    positionPageKey,
    /** Key: `${positionId}|${YYYY-MM-DD}|${knownAt ?? ''}`. */
    valuationAsOf,
    /** Key: `${positionId}|${knownAt ?? ''}`: versions as known then, oldest valid date first. */
    versionsByPosition,
    /** Key: `${positionId}|${YYYY-MM-DD}|${knownAt ?? ''}`: the version covering the date. */
    versionOnDate,
    /** Key: `${positionId}|${YYYY-MM-DD}`: every recorded version of that date's valuation. */
    valuationVersions,
  };
}

/** The part of a positionPageByNode key after the node id: the page's arguments, as JSON. */
export const positionPageGroup = (args: PositionPageArgs & { countOnly?: boolean; asOf?: string | null; knownAt?: KnownAt }) =>
  JSON.stringify({
    related: args.related ? { instrument: args.related.instrument, issuer: args.related.issuer, node: args.related.node, valuations: args.related.valuations } : null,
    columns: args.columns ?? null,
    status: args.status ? [...new Set(args.status)].sort() : null,
    includeDescendants: args.includeDescendants ?? false,
    first: args.first ?? null,
    after: args.after ?? null,
    countOnly: args.countOnly ?? false,
    asOf: args.asOf ?? null,
    knownAt: args.knownAt ?? null,
  });

/** `${id}|${YYYY-MM-DD}|${knownAt ?? ''}`: keys of the loaders read as of a date and a moment. */
export const asOfKey = (id: string, asOf: Date, knownAt: KnownAt) => `${id}|${isoDate(asOf)}|${knownAt ?? ''}`;
