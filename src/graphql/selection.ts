// Which fields a client asked for under the current field (fragments included),
// so a resolver can skip work nobody will see (e.g. a page when only
// totalCount is selected); the look-ahead planner (plan.ts) walks deeper.
import { Kind, visit, type ASTNode, type FieldNode, type FragmentDefinitionNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** The field nodes directly under the given selection sets, fragments expanded. */
export function fieldsUnder(sets: readonly (SelectionSetNode | undefined)[], fragments: Record<string, FragmentDefinitionNode>): FieldNode[] {
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

/** The variables used under the field (its arguments, its selection, the fragments it spreads), once per field nodes. */
const usedVariables = new WeakMap<readonly FieldNode[], string[]>();
function variablesUnder(info: GraphQLResolveInfo): string[] {
  let names = usedVariables.get(info.fieldNodes);
  if (names) return names;
  const found = new Set<string>();
  const spread = new Set<string>();
  const walk = (node: ASTNode) => visit(node, {
    Variable: (variable) => void found.add(variable.name.value),
    FragmentSpread: (fragment) => {
      if (spread.has(fragment.name.value)) return;
      spread.add(fragment.name.value);
      const definition = info.fragments[fragment.name.value];
      if (definition) walk(definition);
    },
  });
  for (const node of info.fieldNodes) walk(node);
  names = [...found].sort();
  usedVariables.set(info.fieldNodes, names);
  return names;
}

/** Answers memoAcross keeps per field nodes, and how many per field at most (the oldest goes first). */
const acrossRequests = new WeakMap<readonly FieldNode[], Map<string, unknown>>();
const ACROSS_MAX = 32;

/**
 * As memo, and across requests: an answer that depends only on the selection under the field and the
 * values of the variables used there (the look-ahead plan of a tree) is kept with the field nodes, which
 * stay the same objects while the document is cached (Apollo keeps the parsed and validated document,
 * the executor its compiled form), keyed by those values. A screen that sends the same document again
 * is not planned again; other variables of the request (the node's id) do not matter.
 */
export function memoAcross<T>(info: GraphQLResolveInfo, tag: string, compute: () => T): T {
  return memo(info, tag, () => {
    const key = `${tag}\u0000${JSON.stringify(variablesUnder(info).map((name) => info.variableValues[name] ?? null))}`;
    let kept = acrossRequests.get(info.fieldNodes);
    if (!kept) acrossRequests.set(info.fieldNodes, (kept = new Map()));
    if (kept.has(key)) return kept.get(key) as T;
    const value = compute();
    if (kept.size >= ACROSS_MAX) kept.delete(kept.keys().next().value!);
    kept.set(key, value);
    return value;
  });
}

export function selectedFieldNames(info: GraphQLResolveInfo): Set<string> {
  return new Set(fieldsUnder(info.fieldNodes.map((n) => n.selectionSet), info.fragments).map((f) => f.name.value));
}

/** True when nothing but the given fields (and __typename) is selected under the current field. */
export function selectsOnly(info: GraphQLResolveInfo, allowed: readonly string[]): boolean {
  return memo(info, onlyTag(allowed), () => [...selectedFieldNames(info)].every((name) => name === '__typename' || allowed.includes(name)));
}

/** The memo tag of selectsOnly's question, built once per list of fields (resolvers pass a constant one) rather than once per object. */
const onlyTags = new WeakMap<readonly string[], string>();
const onlyTag = (allowed: readonly string[]): string => {
  let tag = onlyTags.get(allowed);
  if (tag === undefined) onlyTags.set(allowed, (tag = `only:${allowed.join(',')}`));
  return tag;
};

/** True when the field is selected directly under the current field (fragments included): a connection's totalCount. */
export function asks(info: GraphQLResolveInfo, name: string): boolean {
  return memo(info, `asks:${name}`, () => selectedFieldNames(info).has(name));
}
