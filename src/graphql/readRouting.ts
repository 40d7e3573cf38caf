// Apollo plugin: where an operation runs, and read-your-writes across replicas
// (src/db/replicas.ts).
//
// Apollo builds the context before it parses the request, so every context
// starts on the primary and nothing reads before execution. Once the operation
// is known (didResolveOperation), a query moves to a replica (or stays, see
// ReplicaSet.forRead); mutations stay on the primary whole, their own reads
// included. Subscriptions do not come here (WebSocket): they use the primary.
//
// Every mutation's answer carries the primary's WAL position after its commits
// (x-consistency-token header and extensions.consistencyToken). A request that
// sends the header back is read from a replica only once that replica has
// replayed it; a header that is not a WAL position sends the read to the primary.
import type { ApolloServerPlugin } from '@apollo/server';
import { useDatabase, type Context } from '../context';
import { CONSISTENCY_TOKEN_HEADER, timeout, type ReplicaSet } from '../db/replicas';
import { formatLsn, type PrimaryWal } from '../db/wal';
import type { Logger } from '../logger';

/** A mutation's answer waits at most this long for the primary's WAL position (else it goes without a token). */
const TOKEN_READ_TIMEOUT_MS = 2_000;

export function readRoutingPlugin(options: { replicas: ReplicaSet | null; wal: PrimaryWal | null; logger: Logger }): ApolloServerPlugin<Context> {
  const { replicas, wal, logger } = options;
  let warned = false;
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, contextValue, request }) {
          if (!replicas) return;
          if (operation?.operation !== 'query') {
            contextValue.logger = contextValue.logger.child({ database: 'primary' });
            return;
          }
          const header = request.http?.headers.get(CONSISTENCY_TOKEN_HEADER);
          useDatabase(contextValue, await replicas.forRead(header));
        },
        async willSendResponse({ operation, response }) {
          if (!wal || operation?.operation !== 'mutation') return;
          // Nothing committed (refused, or the database is unavailable): no position to wait for.
          if (response.body.kind === 'single' && response.body.singleResult.data == null) return;
          let token: string;
          try {
            token = formatLsn(await timeout(wal.position(), TOKEN_READ_TIMEOUT_MS));
          } catch (error) {
            // Without a token the client's next read may come from a replica that is behind: say so once.
            if (!warned) logger.warn({ err: (error as Error).message }, 'no consistency token: the primary\'s WAL position could not be read');
            warned = true;
            return;
          }
          response.http.headers.set(CONSISTENCY_TOKEN_HEADER, token);
          if (response.body.kind === 'single') {
            response.body.singleResult.extensions = { ...response.body.singleResult.extensions, consistencyToken: token };
          }
        },
      };
    },
  };
}

/** What replicaMetrics needs of src/observability/metrics.ts's ServiceMetrics. */
interface ReplicaFigures {
  registerDatabase(database: string, db: ReturnType<ReplicaSet['databases']>[number]['db']): () => void;
  setReplicaLag(replica: string, seconds: number | null): void;
  setReplicaUp(replica: string, up: boolean): void;
}

/** Each replica's pool and statements under its name, and its lag and use after every check; returns the unregister function. */
export function replicaMetrics(replicas: ReplicaSet, metrics: ReplicaFigures): () => void {
  const publish = (status: ReturnType<ReplicaSet['status']>) => {
    for (const r of status) {
      metrics.setReplicaLag(r.name, r.lagMs === null ? null : r.lagMs / 1000);
      metrics.setReplicaUp(r.name, r.inUse);
    }
  };
  const offs = [...replicas.databases().map(({ name, db }) => metrics.registerDatabase(name, db)), replicas.onCheck(publish)];
  publish(replicas.status());
  return () => offs.forEach((off) => off());
}
