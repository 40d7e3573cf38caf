// Which fields a client asked for under the current field (fragments included),
// so a resolver can skip work nobody will see (e.g. a page when only
// totalCount is selected).
import {
  Kind, type FieldNode, type FragmentDefinitionNode, type GraphQLField, type GraphQLObjectType, type GraphQLResolveInfo,
  type SelectionSetNode,
} from 'graphql';
import { getArgumentValues } from 'graphql/execution/values';

/** The field nodes directly under the given selection sets, fragments expanded. */
function fieldsUnder(sets: readonly (SelectionSetNode | undefined)[], fragments: Record<string, FragmentDefinitionNode>): FieldNode[] {
  const out: FieldNode[] = [];
  const visit = (set: SelectionSetNode | undefined, seen: Set<string>) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) out.push(selection);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet, seen);
      else if (!seen.has(selection.name.value)) {
        visit(fragments[selection.name.value]?.selectionSet, new Set([...seen, selection.name.value]));
      }
    }
  };
  for (const set of sets) visit(set, new Set());
  return out;
}

/**
 * graphql-js hands every sibling object of a list the same fieldNodes array (and Apollo keeps
 * parsed documents), so an answer computed from fieldNodes and the variables holds for every
 * node of a level: computed once per level and request instead of once per node.
 */
const memos = new WeakMap<readonly FieldNode[], Map<string, { variables: unknown; value: unknown }>>();
export function memo<T>(info: GraphQLResolveInfo, tag: string, compute: () => T): T {
  let byTag = memos.get(info.fieldNodes);
  if (!byTag) memos.set(info.fieldNodes, (byTag = new Map()));
  const hit = byTag.get(tag);
  if (hit && hit.variables === info.variableValues) return hit.value as T;
  const value = compute();
  byTag.set(tag, { variables: info.variableValues, value });
  return value;
}

export function selectedFieldNames(info: GraphQLResolveInfo): Set<string> {
  return new Set(fieldsUnder(info.fieldNodes.map((n) => n.selectionSet), info.fragments).map((f) => f.name.value));
}

/** True when nothing but the given fields (and __typename) is selected under the current field. */
export function selectsOnly(info: GraphQLResolveInfo, allowed: readonly string[]): boolean {
  return memo(info, `only:${allowed.join(',')}`, () => [...selectedFieldNames(info)].every((name) => name === '__typename' || allowed.includes(name)));
}

/**
 * For a `children` field: when the nodes below ask for `positions { totalCount }` alone, with
 * no status, descendants or cursor, the `first` they pass (null when absent); undefined otherwise.
 * Lets the children's one subtree statement also count every node's positions.
 */
export function countOnlyPositionsBelow(info: GraphQLResolveInfo): number | null | undefined {
  return memo(info, 'countsBelow', () => countOnlyPositionsUnder(info.fieldNodes, info));
}

function countOnlyPositionsUnder(fieldNodes: readonly FieldNode[], info: GraphQLResolveInfo): number | null | undefined {
  const type = info.schema.getType('PortfolioNode') as GraphQLObjectType;
  const def = type.getFields().positions as GraphQLField<unknown, unknown>;
  const below = fieldsUnder(fieldNodes.map((n) => n.selectionSet), info.fragments).filter((f) => f.name.value === 'positions');
  if (below.length !== 1) return undefined;
  const field = below[0] as FieldNode;
  const only = fieldsUnder([field.selectionSet], info.fragments).every((f) => f.name.value === 'totalCount' || f.name.value === '__typename');
  if (!only) return undefined;
  const args = getArgumentValues(def, field, info.variableValues) as { status?: unknown; includeDescendants?: boolean; first?: number | null; after?: unknown };
  if ((args.status !== undefined && args.status !== null) || args.includeDescendants || (args.after !== undefined && args.after !== null)) return undefined;
  return typeof args.first === 'number' ? args.first : null;
}

/**
 * For a field returning one PortfolioNode (portfolioNode(id)): when it is a tree view - it asks
 * for `children` once, and the nodes below ask for their position count alone - the `first` of
 * those counts (as countOnlyPositionsBelow); undefined otherwise. The whole view, the node
 * itself included, can then be read in the one statement that loads the children.
 */
export function treeViewBelow(info: GraphQLResolveInfo): number | null | undefined {
  const children = fieldsUnder(info.fieldNodes.map((n) => n.selectionSet), info.fragments).filter((f) => f.name.value === 'children');
  if (children.length !== 1) return undefined;
  return countOnlyPositionsUnder(children, info);
}
