// A service Page as a Relay connection.
import type { Page } from '../services/pagination';

export function toConnection<T>(page: Page<T>) {
  const edges = page.rows.map((node) => ({ cursor: page.cursorOf(node), node }));
  return {
    edges,
    totalCount: page.totalCount,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges[edges.length - 1]?.cursor ?? null,
    },
  };
}
