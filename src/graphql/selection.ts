// Which fields a client asked for under the current field (fragments included),
// so a resolver can skip work nobody will see (e.g. a page when only
// totalCount is selected).
import { Kind, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

export function selectedFieldNames(info: GraphQLResolveInfo): Set<string> {
  const names = new Set<string>();
  const visit = (set: SelectionSetNode | undefined, seen: Set<string>) => {
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) names.add(selection.name.value);
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet, seen);
      else if (!seen.has(selection.name.value)) {
        visit(info.fragments[selection.name.value]?.selectionSet, new Set([...seen, selection.name.value]));
      }
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet, new Set());
  return names;
}

/** True when nothing but the given fields (and __typename) is selected under the current field. */
export function selectsOnly(info: GraphQLResolveInfo, allowed: readonly string[]): boolean {
  return [...selectedFieldNames(info)].every((name) => name === '__typename' || allowed.includes(name));
}
