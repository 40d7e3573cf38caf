// A service Page as a Relay connection. Cursors are computed only when asked
// for (getters): a tree of positions asking for nodes alone encodes none.
import type { Page } from '../services/pagination';

export function toConnection<T>(page: Page<T>) {
  const edges = page.rows.map((node) => ({
    node,
    get cursor() {
      return page.cursorOf(node);
    },
  }));
  return {
    edges,
    totalCount: page.totalCount,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      get startCursor() {
        return edges[0]?.cursor ?? null;
      },
      get endCursor() {
        return edges[edges.length - 1]?.cursor ?? null;
      },
    },
  };
}
