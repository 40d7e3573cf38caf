// PostGraphile 4 (dev dependency `postgraphile@4`, runs on Node 20) serving
// the same database in-process, on its own HTTP server: the reference for the
// nested tree query it can express (nodes -> children -> positions ->
// instrument). Options: no default mutations, dynamic JSON, no watch mode, no
// GraphiQL, no query log; RBAC and indexes as PostGraphile's defaults. A column
// named `node_id` (portfolio_node_version.node_id, since the hierarchy is
// versioned) collides with the Relay `nodeId` field PostGraphile adds to every
// table type and stops it at start ("two entities have tried to define the same
// key 'nodeId'"): such columns are renamed in its schema only, by a smart-tags
// plugin (`<column>Ref`, e.g. `nodeIdRef`), without touching the database.
import { createServer, type Server } from 'node:http';
import Module from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, sep } from 'node:path';
import type { Pool } from 'pg';
import type { PostGraphileOptions } from 'postgraphile';

export interface PostGraphileServer {
  url: string;
  version: string;
  close(): Promise<void>;
}

export const POSTGRAPHILE_OPTIONS: PostGraphileOptions = {
  disableDefaultMutations: true,
  dynamicJson: true,
  watchPg: false,
  graphiql: false,
  disableQueryLog: true,
  retryOnInitFail: false,
  setofFunctionsContainNulls: false,
  enableQueryBatching: false,
};

/**
 * PostGraphile 4 needs graphql 15; the project has graphql 16 at the top of
 * node_modules, so npm nests graphql 15 twice (under postgraphile and under
 * graphile-build-pg, with a second graphile-build) and leaves
 * graphql-parse-resolve-info on graphql 16: "Cannot use GraphQLObjectType from
 * another module or realm". Before PostGraphile loads, every `graphql`,
 * `graphql/...` and `graphile-build` required from inside PostGraphile's
 * packages is pointed at the copies under node_modules/postgraphile, so it
 * runs on one graphql 15 instance. Our service keeps graphql 16.
 */
const FAMILY = ['postgraphile', 'postgraphile-core', 'graphile-build', 'graphile-build-pg', 'graphile-utils', 'graphql-parse-resolve-info', '@graphile', 'graphql-ws', 'subscriptions-transport-ws'];
let pinned = false;

function pinGraphqlForPostGraphile(): void {
  if (pinned) return;
  pinned = true;
  const base = dirname(require.resolve('postgraphile/package.json'));
  const inFamily = (file: string | undefined) =>
    !!file && FAMILY.some((pkg) => file.includes(`${sep}node_modules${sep}${pkg}${sep}`));
  const M = Module as unknown as { _resolveFilename: (request: string, parent: { filename?: string } | undefined, ...rest: unknown[]) => string };
  const original = M._resolveFilename;
  M._resolveFilename = function resolveFilename(this: unknown, request: string, parent: { filename?: string } | undefined, ...rest: unknown[]) {
    if ((request === 'graphql' || request.startsWith('graphql/') || request === 'graphile-build') && inFamily(parent?.filename)) {
      return require.resolve(request, { paths: [base] });
    }
    return original.call(this, request, parent, ...rest);
  };
}

export function postgraphileVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('postgraphile/package.json') as { version: string }).version;
}

/** Columns whose default GraphQL name collides with a field PostGraphile adds itself (the Relay `nodeId`). */
async function collidingColumns(pool: Pool): Promise<{ table: string; column: string }[]> {
  const { rows } = await pool.query<{ table: string; column: string }>(
    `SELECT table_name AS "table", column_name AS "column" FROM information_schema.columns
     WHERE table_schema = 'public' AND column_name IN ('node_id', 'nodeid', 'nodeId') ORDER BY 1, 2`,
  );
  return rows;
}

export async function startPostGraphile(pool: Pool): Promise<PostGraphileServer> {
  pinGraphqlForPostGraphile();
  // Loaded here, after the pin, not by an import at the top of the file.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { postgraphile } = require('postgraphile') as typeof import('postgraphile');
  const base = dirname(require.resolve('postgraphile/package.json'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { makeJSONPgSmartTagsPlugin } = require(require.resolve('graphile-utils', { paths: [base] })) as {
    makeJSONPgSmartTagsPlugin: (json: { version: 1; config: Record<string, Record<string, { tags: Record<string, string> }>> }) => unknown;
  };
  const colliding = await collidingColumns(pool);
  const renames = makeJSONPgSmartTagsPlugin({
    version: 1,
    config: { attribute: Object.fromEntries(colliding.map((c) => [`${c.table}.${c.column}`, { tags: { name: `${c.column}_ref` } }])) },
  });
  const handler = postgraphile(pool, 'public', {
    ...POSTGRAPHILE_OPTIONS,
    appendPlugins: [...(POSTGRAPHILE_OPTIONS.appendPlugins ?? []), ...(colliding.length ? [renames as NonNullable<PostGraphileOptions['appendPlugins']>[number]] : [])],
  });
  const server: Server = createServer(handler);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    version: postgraphileVersion(),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await handler.release();
    },
  };
}
