// Execution of HTTP operations: graphql-js for a document seen once, a compiled plan
// (graphql-jit) for a document asked again.
//
// A front-end sends the same few documents over and over (its screens' queries, with new
// variables); graphql-js walks each one anew on every request: collects the fields of every
// selection set per object, coerces every field's arguments per object, checks every
// value's type. graphql-jit compiles a document once into a function that does only what
// that document needs (arguments folded in, fields known per type, leaf serializers bound):
// on the portfolio tree (one object per node, four fields each) it executes in a fraction
// of graphql-js' time. Compiling costs more than executing once, so a document is compiled
// on its second request (an IDE's one-off queries never pay it) and kept while Apollo's
// document cache keeps it (compiled plans hang off the parsed document, weakly).
//
// Apollo Server 4+ takes a custom executor only through its `gateway` option (its migration
// guide's answer for executors); the schema is ours and never changes, so the "gateway"
// hands Apollo the schema once and runs the operation. Apollo still parses, validates and
// runs every plugin hook around execution; resolvers, errors and formatError are the same.
import type { ApolloServerOptions } from '@apollo/server';
import { execute, GraphQLError, printSchema, type DocumentNode, type ExecutionResult, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { getVariableValues } from 'graphql/execution/values';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

type Gateway = NonNullable<ApolloServerOptions<object>['gateway']>;

/** The request of a document at which its plan is compiled (GRAPHQL_COMPILE_ON_REQUEST; 1: at once, 0: never). */
export const COMPILE_ON_REQUEST = 2;

/**
 * Compiled plans kept at most (each is generated code, a few to tens of KB): the oldest compiled
 * goes first. Apollo's document cache bounds the documents but knows nothing of their plans, and a
 * client sending many distinct documents twice each must not grow the heap without bound.
 */
export const MAX_PLANS = 1_000;

interface Entry {
  requests: number;
  /** Compiled plans by operation name ('' for the only operation); null when graphql-jit refused the document. */
  plans: Map<string, CompiledQuery | null>;
}

export interface CompiledExecutor {
  gateway: Gateway;
  /** Plans compiled so far, documents graphql-jit refused (run by graphql-js), and plans kept now. */
  stats(): { compiled: number; refused: number; kept: number };
}

/**
 * graphql-jit writes a variable's default value into its plan as the JSON of the parsed value: a
 * Date default arrives in resolvers as a string (graphql-jit 0.8.9). A request that leaves such a
 * variable out runs on graphql-js (IDE examples do; front-ends send their variables).
 */
const omitsDefault = (operation: OperationDefinitionNode, variables: Record<string, unknown>) =>
  operation.variableDefinitions?.some((d) => d.defaultValue !== undefined && variables[d.variable.name.value] === undefined) ?? false;

/**
 * graphql-jit's errors are GraphQLErrors without `extensions` unless the thrown error had some,
 * which Apollo's error formatting reads; made again as graphql-js makes them (same message,
 * locations, path and original error).
 */
function normalized(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.length) return result;
  const errors = result.errors.map((e) => {
    const error = new GraphQLError(e.message, { path: e.path, originalError: e.originalError ?? undefined, extensions: e.extensions ?? (e.originalError as GraphQLError | undefined)?.extensions });
    (error as { locations?: unknown }).locations = e.locations;
    return error;
  });
  return { ...result, errors };
}

export function compiledExecutor(schema: GraphQLSchema, options: { compileOnRequest?: number; maxPlans?: number } = {}): CompiledExecutor {
  const compileOn = options.compileOnRequest ?? COMPILE_ON_REQUEST;
  const maxPlans = options.maxPlans ?? MAX_PLANS;
  const documents = new WeakMap<DocumentNode, Entry>();
  /** The plans kept, oldest first (a Map keeps insertion order). */
  const kept = new Map<CompiledQuery, { entry: Entry; key: string }>();
  let compiled = 0;
  let refused = 0;

  const planOf = (document: DocumentNode, operationName: string | undefined): CompiledQuery | null => {
    if (compileOn === 0) return null;
    let entry = documents.get(document);
    if (!entry) documents.set(document, (entry = { requests: 0, plans: new Map() }));
    if (++entry.requests < compileOn) return null;
    const key = operationName ?? '';
    let plan = entry.plans.get(key);
    if (plan === undefined) {
      try {
        const result = compileQuery(schema, document, operationName, { disablingCapturingStackErrors: true });
        plan = isCompiledQuery(result) ? result : null;
      } catch {
        plan = null; // a document graphql-jit cannot compile runs on graphql-js
      }
      entry.plans.set(key, plan);
      if (plan) {
        compiled++;
        kept.set(plan, { entry, key });
        if (kept.size > maxPlans) {
          // The oldest plan goes; its document is compiled again if it is asked again.
          const [oldest, owner] = kept.entries().next().value!;
          kept.delete(oldest);
          owner.entry.plans.delete(owner.key);
        }
      } else refused++;
    }
    return plan;
  };

  const gateway: Gateway = {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => {};
    },
    async load() {
      return {
        executor: async (request) => {
          const variables = request.request.variables ?? {};
          // The name the client asked for (request.operationName is the resolved operation's name).
          const operationName = request.request.operationName ?? undefined;
          // Only an operation Apollo resolved (graphql-jit runs a document's only operation whatever
          // name is asked; graphql-js refuses a name the document lacks).
          const plan = request.operation && !omitsDefault(request.operation, variables) ? planOf(request.document, operationName) : null;
          if (plan && request.operation) {
            // Variables are checked by graphql-js, so that a bad one gets graphql-js' error, which
            // Apollo recognises as BAD_USER_INPUT (from its variable definition node); graphql-jit
            // coerces the same raw values again when it runs.
            const checked = getVariableValues(schema, request.operation.variableDefinitions ?? [], variables, { maxErrors: 50 });
            if (checked.errors) return { errors: checked.errors };
            return normalized(await plan.query(undefined, request.context, variables));
          }
          return execute({ schema, document: request.document, contextValue: request.context, variableValues: variables, operationName });
        },
      };
    },
    async stop() {},
  };
  return { gateway, stats: () => ({ compiled, refused, kept: kept.size }) };
}
