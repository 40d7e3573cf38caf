// The look-ahead planner of the portfolio tree. A field returning nodes whose
// subtrees the query walks (`children`, `descendants`, at any depth, through
// fragments and aliases) loads each subtree once, in one statement; the plan
// says what else that statement computes for every node in it, from what the
// selection asks of the nodes below: position counts (any status set, with or
// without includeDescendants, any `first`, now or as of a date and moment),
// depths, and which descendant lists to prime. Everything else a level asks
// (pages, valuations, instruments) is one batched statement per relation and argument
// set, whatever the number of nodes: the loaders group same-tick requests, and
// a planned tree resolves all its levels in the same tick.
//
// The plan never decides an answer: each resolver still computes its own
// loader key, and anything not primed is loaded. A plan that asks too much
// costs a column; one that misses something costs a statement.
import { type FieldNode, type FragmentDefinitionNode, type GraphQLField, type GraphQLObjectType, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { getArgumentValues } from 'graphql/execution/values';
import { positionPageGroup } from '../loaders/portfolio';
import type { PageRelated, PositionColumn } from '../services/portfolio/positions';
import { isoDate } from '../services/inputs';
import type { EntityColumn } from '../services/reference/entities';
import type { RatingColumn } from '../services/reference/ratings';
import type { Position as PositionType, Rating as RatingType, ReferenceEntity as ReferenceEntityType } from './generated/resolvers';
import { fieldsUnder, memo, memoAcross } from './selection';

/** A position count the subtree statement computes for every node, and the page keys it answers. */
export interface PlannedCount {
  /** Sorted distinct states, or null for every state (now) or ACTIVE (on a date). */
  statuses: string[] | null;
  /** On this date (YYYY-MM-DD), or now (null). */
  asOf: string | null;
  /** As known at this moment, as sent (the loader settles it with the request's clock), or now (null). */
  knownAt: Date | null;
  /** positionPageGroup strings of the count-only pages this count answers: (first, includeDescendants) variants. */
  pages: { group: string; first: number | null; includeDescendants: boolean }[];
}

export interface TreePlan {
  /** The query walks the nodes' subtrees (children or descendants below): load them whole, at once. */
  subtree: boolean;
  /** Position counts for every node of the subtree, by status set. */
  counts: PlannedCount[];
  /** Depth is asked of nodes of the subtree: the statement also finds the roots' depths. */
  depth: boolean;
  /** maxDepth values of `descendants` asked (null: unbounded): each node's lists are primed from the subtree. */
  descendants: (number | null)[];
  /** Identifies what the statement computes: requests with the same key share one statement. */
  key: string;
}

interface Collected {
  subtree: boolean;
  counts: Map<string, { statuses: string[] | null; asOf: string | null; knownAt: Date | null; pages: Map<string, { first: number | null; includeDescendants: boolean }> }>;
  depth: boolean;
  descendants: Set<number | null>;
}

function definition(info: GraphQLResolveInfo, name: string): GraphQLField<unknown, unknown> {
  return (info.schema.getType('PortfolioNode') as GraphQLObjectType).getFields()[name] as GraphQLField<unknown, unknown>;
}

const onlyCount = (field: FieldNode, fragments: Record<string, FragmentDefinitionNode>) =>
  fieldsUnder([field.selectionSet], fragments).every((f) => f.name.value === 'totalCount' || f.name.value === '__typename');

/**
 * What the nodes under these selection sets are asked (they are PortfolioNodes), walking down
 * through children and descendants; `below` is false at the level of the field being planned
 * (its own nodes: their counts are planned too, but they alone do not need a subtree).
 */
function collect(sets: readonly (SelectionSetNode | undefined)[], info: GraphQLResolveInfo, into: Collected, seen: Set<SelectionSetNode>): void {
  const fresh = sets.filter((set): set is SelectionSetNode => !!set && !seen.has(set));
  if (fresh.length === 0) return;
  for (const set of fresh) seen.add(set);
  for (const field of fieldsUnder(fresh, info.fragments)) {
    switch (field.name.value) {
      case 'children':
        into.subtree = true;
        collect([field.selectionSet], info, into, seen);
        break;
      case 'descendants': {
        into.subtree = true;
        const { maxDepth } = getArgumentValues(definition(info, 'descendants'), field, info.variableValues) as { maxDepth?: number | null };
        if (maxDepth === undefined || maxDepth === null || maxDepth >= 0) into.descendants.add(maxDepth ?? null);
        collect([field.selectionSet], info, into, seen);
        break;
      }
      case 'depth':
        into.depth = true;
        break;
      case 'positions': {
        if (!onlyCount(field, info.fragments)) break;
        const args = getArgumentValues(definition(info, 'positions'), field, info.variableValues) as {
          status?: string[] | null; includeDescendants?: boolean | null; first?: number | null; after?: string | null; asOf?: unknown; knownAt?: unknown;
        };
        // After a cursor, or knownAt without a date (refused by the resolver): not a count the subtree statement gives.
        if ((args.after ?? null) !== null || (!(args.asOf instanceof Date) && (args.knownAt ?? null) !== null)) break;
        if (typeof args.first === 'number' && (args.first < 0 || args.first > 500)) break; // refused by the resolver
        const asOf = args.asOf instanceof Date ? isoDate(args.asOf) : null;
        const knownAt = args.knownAt instanceof Date ? args.knownAt : null;
        const statuses = args.status && args.status.length > 0 ? [...new Set(args.status)].sort() : null;
        const key = JSON.stringify([statuses, asOf, knownAt?.getTime() ?? null]);
        const count = into.counts.get(key) ?? { statuses, asOf, knownAt, pages: new Map() };
        into.counts.set(key, count);
        const first = typeof args.first === 'number' ? args.first : null;
        const includeDescendants = args.includeDescendants ?? false;
        // (With a knownAt, the group the loader primes carries the moment as settled; this one names the variant.)
        const group = positionPageGroup({ status: statuses as never, includeDescendants, first, countOnly: true, asOf, knownAt: knownAt?.toISOString() ?? null });
        count.pages.set(group, { first, includeDescendants });
        break;
      }
      default:
        break;
    }
  }
}

/**
 * The plan of a field returning PortfolioNodes (portfolioNode, children, descendants, ...), from its
 * selection, fragments and variables; computed once per level and request (the same fieldNodes for
 * every node of a level), and kept for the next request sending the same document with the same values
 * of the variables it uses (memoAcross). Plans are never changed once made.
 */
export function planTree(info: GraphQLResolveInfo): TreePlan {
  return memoAcross(info, 'treePlan', () => planOf(info.fieldNodes.map((n) => n.selectionSet), info));
}

/** The selection sets of the fields named `name` under the given sets (fragments expanded). */
const underIn = (info: GraphQLResolveInfo) => (sets: readonly (SelectionSetNode | undefined)[], name: string) =>
  fieldsUnder(sets, info.fragments).filter((f) => f.name.value === name).map((f) => f.selectionSet);

/** Whether the nodes of a connection (`edges { node }`, fragments included) ask the field `name`. */
export function nodesAsk(info: GraphQLResolveInfo, name: string): boolean {
  return memo(info, `nodesAsk:${name}`, () => {
    const under = underIn(info);
    const nodes = under(under(info.fieldNodes.map((n) => n.selectionSet), 'edges'), 'node');
    return fieldsUnder(nodes, info.fragments).some((f) => f.name.value === name);
  });
}

/** The arguments (variables applied) of each field `name` of type `typeName` the nodes of a connection ask. */
export function nodesFieldArgs(info: GraphQLResolveInfo, typeName: string, name: string): Record<string, unknown>[] {
  return memo(info, `nodesFieldArgs:${typeName}.${name}`, () => {
    const under = underIn(info);
    const nodes = under(under(info.fieldNodes.map((n) => n.selectionSet), 'edges'), 'node');
    const field = (info.schema.getType(typeName) as GraphQLObjectType).getFields()[name] as GraphQLField<unknown, unknown>;
    return fieldsUnder(nodes, info.fragments).filter((f) => f.name.value === name)
      .map((f) => getArgumentValues(field, f, info.variableValues) as Record<string, unknown>);
  });
}

/**
 * The plan of the nodes of a connection of PortfolioNodes (portfolioNodes: `edges { node }`), and
 * whether their parent is asked: the list's statement reads both beside the page.
 */
export function planNodes(info: GraphQLResolveInfo): { plan: TreePlan; parent: boolean } {
  return memo(info, 'nodesPlan', () => {
    const under = underIn(info);
    const nodes = under(under(info.fieldNodes.map((n) => n.selectionSet), 'edges'), 'node');
    return { plan: planOf(nodes, info), parent: fieldsUnder(nodes, info.fragments).some((f) => f.name.value === 'parent') };
  });
}

/**
 * What the positions of a page (PortfolioNode.positions: `edges { node }`) are asked that the page's
 * statement reads beside them: their instruments and those instruments' issuers, their nodes, and
 * their valuations as of each date asked without knownAt. Null: none of these.
 */
export function planPositions(info: GraphQLResolveInfo): PageRelated | null {
  return memo(info, 'positionsPlan', () => {
    const under = underIn(info);
    const positions = under(under(info.fieldNodes.map((n) => n.selectionSet), 'edges'), 'node');
    const instruments = under(positions, 'instrument');
    const valuation = (info.schema.getType('Position') as GraphQLObjectType).getFields().valuation as GraphQLField<unknown, unknown>;
    const valuations = new Set<string>();
    for (const field of fieldsUnder(positions, info.fragments)) {
      if (field.name.value !== 'valuation') continue;
      const args = getArgumentValues(valuation, field, info.variableValues) as { asOf?: unknown; knownAt?: unknown };
      if (args.asOf instanceof Date && (args.knownAt ?? null) === null) valuations.add(isoDate(args.asOf));
    }
    const related: PageRelated = {
      instrument: instruments.length > 0,
      issuer: under(instruments, 'issuer').length > 0,
      node: under(positions, 'node').length > 0,
      valuations: [...valuations].sort(),
    };
    return related.instrument || related.node || related.valuations.length > 0 ? related : null;
  });
}

/**
 * What each field of Position reads of the position's row (the model fields its resolver in
 * src/graphql/resolvers/portfolio.ts, or the default one, reads), beside the id every row has. A field
 * added to the schema's Position without an entry here does not compile.
 */
export const POSITION_FIELD_COLUMNS: Readonly<Record<Exclude<keyof PositionType, '__typename'>, readonly PositionColumn[]>> = {
  id: [],
  node: ['portfolioNodeId'],
  instrument: ['instrumentId'],
  quantity: ['quantity'],
  baseCurrency: ['baseCcy'],
  status: ['status'],
  openedOn: ['openedOn'],
  closedOn: ['closedOn'],
  holding: [],
  history: [],
  valuation: [],
  valuationVersions: [],
};

/** What each field of ReferenceEntity reads of the entity's row beside its id and name (src/graphql/resolvers/reference.ts). */
export const ENTITY_FIELD_COLUMNS: Readonly<Record<Exclude<keyof ReferenceEntityType, '__typename'>, readonly EntityColumn[]>> = {
  id: [],
  name: [],
  entityType: ['entityType'],
  code: ['code'],
  ticker: ['ticker'],
  cusip: ['cusip'],
  isin: ['isin'],
  lei: ['lei'],
  parent: ['parentEntityId'],
  children: [],
  sector: ['sectorId'],
  geography: ['geographyId'],
  attributes: ['attributesJson'],
  ratings: [],
  rating: [],
};

/** What each field of Rating reads of the rating's row (src/graphql/resolvers/reference.ts). */
export const RATING_FIELD_COLUMNS: Readonly<Record<Exclude<keyof RatingType, '__typename'>, readonly RatingColumn[]>> = {
  agency: ['agency'],
  rating: ['rating'],
  asOfDate: ['asOfDate'],
  score: ['agency', 'rating'],
  entity: ['entityId'],
  recordedAt: ['recordedAt'],
  supersededAt: ['supersededAt'],
};

/**
 * The model fields the nodes of a connection (`edges { node }`, fragments included) are asked, sorted,
 * by what each field of their type reads (a *_FIELD_COLUMNS map): the list reads those columns alone.
 * Null (whole rows) if a field is not in the map.
 */
function planColumns<C extends string>(
  info: GraphQLResolveInfo, tag: string, fieldColumns: Readonly<Record<string, readonly C[]>>, path: readonly string[] = ['edges', 'node'],
): C[] | null {
  return memo(info, tag, () => {
    const under = underIn(info);
    const nodes = path.reduce((sets, name) => under(sets, name), info.fieldNodes.map((n) => n.selectionSet));
    const columns = new Set<C>();
    for (const field of fieldsUnder(nodes, info.fragments)) {
      const name = field.name.value;
      if (name === '__typename') continue;
      const read = Object.hasOwn(fieldColumns, name) ? fieldColumns[name] : null;
      if (!read) return null;
      for (const column of read) columns.add(column);
    }
    return [...columns].sort();
  });
}

/** The model fields a page's positions are asked (PositionPageArgs.columns). */
export const planPositionColumns = (info: GraphQLResolveInfo): PositionColumn[] | null => planColumns(info, 'positionColumns', POSITION_FIELD_COLUMNS);

/** The model fields a list's entities are asked (listReferenceEntities' columns). */
export const planEntityColumns = (info: GraphQLResolveInfo): EntityColumn[] | null => planColumns(info, 'entityColumns', ENTITY_FIELD_COLUMNS);

/** The model fields the ratings of a list's entities are asked (every `ratings` under its nodes: listReferenceEntities' ratingColumns). */
export const planRatingColumns = (info: GraphQLResolveInfo): RatingColumn[] | null =>
  planColumns(info, 'ratingColumns', RATING_FIELD_COLUMNS, ['edges', 'node', 'ratings']);

function planOf(sets: readonly (SelectionSetNode | undefined)[], info: GraphQLResolveInfo): TreePlan {
  const into: Collected = { subtree: false, counts: new Map(), depth: false, descendants: new Set() };
  collect(sets, info, into, new Set());
  const counts = [...into.counts.values()].map((c) => ({
    statuses: c.statuses,
    asOf: c.asOf,
    knownAt: c.knownAt,
    pages: [...c.pages].map(([group, p]) => ({ group, ...p })),
  }));
  const descendants = [...into.descendants];
  // 'nodes': the subtree alone, as a plain children request loads it (requests share the statement).
  const key = counts.length === 0 && !into.depth && descendants.length === 0
    ? 'nodes'
    : JSON.stringify([counts.map((c) => c.pages.map((p) => p.group)), into.depth, descendants]);
  return { subtree: into.subtree, counts, depth: into.depth, descendants, key };
}
