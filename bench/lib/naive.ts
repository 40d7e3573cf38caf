// The naive way: a tiny graphql-js server answering the same tree query shapes
// (same field names as our schema) with straightforward resolvers: every
// field queries the database for its own parent with plain `pg`, no
// DataLoader, no batching, no look-ahead. It is what the N+1 problem looks
// like, measured on the same data.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildSchema, graphql, type GraphQLSchema } from 'graphql';
import type { Pool } from 'pg';

const SDL = `
  type Query { portfolioNode(id: ID!): PortfolioNode }
  type PortfolioNode {
    id: ID!
    name: String!
    nodeType: String!
    baseCurrency: String!
    children: [PortfolioNode!]!
    positions(first: Int): PositionConnection!
  }
  type PositionConnection { totalCount: Int! edges: [PositionEdge!]! }
  type PositionEdge { node: Position! }
  type Position { id: ID! status: String! instrument: Instrument! }
  type Instrument { id: ID! name: String! }
`;

interface NodeRow {
  id: string;
  name: string;
  node_type: string;
  base_ccy: string;
}

interface PositionRow {
  id: string;
  status: string;
  instrument_id: string;
}

function nodeObject(pool: Pool, row: NodeRow) {
  return {
    id: row.id,
    name: row.name,
    nodeType: row.node_type,
    baseCurrency: row.base_ccy,
    children: async () => {
      const { rows } = await pool.query<NodeRow>(
        'SELECT id::text, name, node_type::text, base_ccy FROM portfolio_node WHERE parent_id = $1 ORDER BY name, id',
        [row.id],
      );
      return rows.map((child) => nodeObject(pool, child));
    },
    positions: ({ first }: { first?: number | null }) => ({
      totalCount: async () => {
        const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM position WHERE portfolio_node_id = $1', [row.id]);
        return rows[0]?.n ?? 0;
      },
      edges: async () => {
        const { rows } = await pool.query<PositionRow>(
          'SELECT id::text, status::text, instrument_id::text FROM position WHERE portfolio_node_id = $1 ORDER BY id LIMIT $2',
          [row.id, first ?? 50],
        );
        return rows.map((p) => ({
          node: {
            id: p.id,
            status: p.status,
            instrument: async () => {
              const { rows: found } = await pool.query<{ id: string; name: string }>('SELECT id::text, name FROM instrument WHERE id = $1', [p.instrument_id]);
              return found[0];
            },
          },
        }));
      },
    }),
  };
}

export interface NaiveServer {
  url: string;
  close(): Promise<void>;
}

export async function startNaiveServer(pool: Pool): Promise<NaiveServer> {
  const schema: GraphQLSchema = buildSchema(SDL);
  const rootValue = {
    portfolioNode: async ({ id }: { id: string }) => {
      const { rows } = await pool.query<NodeRow>('SELECT id::text, name, node_type::text, base_ccy FROM portfolio_node WHERE id = $1', [id]);
      return rows[0] ? nodeObject(pool, rows[0]) : null;
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { query: string; variables?: Record<string, unknown> };
          const result = await graphql({ schema, source: body.query, rootValue, variableValues: body.variables ?? {} });
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(result));
        } catch (error) {
          res.writeHead(400, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ message: error instanceof Error ? error.message : String(error) }] }));
        }
      })();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
