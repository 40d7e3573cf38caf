// A service Page as a Relay connection. Cursors are computed only when asked
// for (getters): a tree of positions asking for nodes alone encodes none.
// Edges and page infos are class instances with the getters on the prototype:
// an object literal with a getter is a dictionary-mode object with a closure of
// its own, and a tree of 600 positions built 600 of them per request.
import type { Page } from '../services/pagination';

class Edge<T> {
  constructor(
    readonly node: T,
    private readonly page: Page<T>,
  ) {}

  get cursor(): string {
    return this.page.cursorOf(this.node);
  }
}

class PageInfo<T> {
  constructor(
    private readonly page: Page<T>,
    private readonly edges: readonly Edge<T>[],
  ) {}

  get hasNextPage(): boolean {
    return this.page.hasNextPage;
  }

  get hasPreviousPage(): boolean {
    return this.page.hasPreviousPage;
  }

  get startCursor(): string | null {
    return this.edges[0]?.cursor ?? null;
  }

  get endCursor(): string | null {
    return this.edges[this.edges.length - 1]?.cursor ?? null;
  }
}

export function toConnection<T>(page: Page<T>) {
  const edges = page.rows.map((node) => new Edge(node, page));
  return { edges, totalCount: page.totalCount, pageInfo: new PageInfo(page, edges) };
}
