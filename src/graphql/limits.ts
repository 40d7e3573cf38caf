// Hostile-request limits, all enforced before any resolver runs and all
// answered with QUERY_TOO_COMPLEX (HTTP 400): query length, tokens, depth,
// aliases and directives (graphql-armor), and a cost model of our own that
// multiplies by the page sizes the query asks for (armor's cost limit does not
// see `first`, and page sizes usually arrive as variables).
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import {
  getNamedType, GraphQLError, isListType, isNonNullType, Kind, Lexer, Source, TokenKind, type FieldNode, type FragmentDefinitionNode, type GraphQLField,
  type DocumentNode, type GraphQLNamedType, type GraphQLOutputType, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode, type ValueNode,
  type ValidationContext,
} from 'graphql';
import type { Context } from '../context';

export interface QueryLimits {
  maxQueryLength: number;
  maxTokens: number;
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxCost: number;
}

export const DEFAULT_LIMITS: QueryLimits = {
  maxQueryLength: 50_000, maxTokens: 5_000, maxDepth: 15, maxAliases: 30, maxDirectives: 50, maxCost: 250_000,
};

export const tooComplex = (message: string) =>
  new GraphQLError(message, { extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 } } });

/** Armor's protections, reporting QUERY_TOO_COMPLEX; field suggestions are blocked in production. */
export function armor(limits: QueryLimits, production: boolean) {
  const onReject = [(ctx: ValidationContext | null, error: GraphQLError) => {
    const message = error.message.replace(/^Syntax Error: /, '');
    if (ctx) ctx.reportError(tooComplex(message));
    else throw tooComplex(message);
  }];
  const common = { exposeLimits: true, propagateOnRejection: false, onReject };
  return new ApolloArmor({
    // Tokens are counted before parsing by queryTextProblem: armor's check re-parses in a plugin
    // hook, where every syntax error (not only the limit) would come out as HTTP 500.
    maxTokens: { enabled: false },
    maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true, ...common },
    maxAliases: { n: limits.maxAliases, ...common },
    maxDirectives: { n: limits.maxDirectives, ...common },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: production },
  }).protect();
}

// Typical sizes of lists that have no page size (others count 50), and the extra
// weight of fields that compute rather than read. Keyed by Type.field.
const LIST_SIZE: Record<string, number> = {
  'Query.portfolioRoots': 20, 'PortfolioNode.children': 8, 'PortfolioNode.ancestors': 4, 'PortfolioNode.descendants': 200,
  'ReferenceEntity.children': 20, 'ReferenceEntity.ratings': 20, 'MarketDataFeed.checks': 20, 'MarketDataFeed.lineage': 5,
  'IngestionBatch.errors': 100, 'IngestionBatch.lineage': 5, 'Position.history': 10, 'Position.valuationVersions': 5,
};
const FIELD_WEIGHT: Record<string, number> = {
  'PortfolioNode.marketValue': 200, 'PortfolioNode.exposure': 500, 'Query.fxRate': 5,
  // Computed once per change for every subscriber of the same arguments, but computed.
  'Subscription.liveExposure': 500,
  // Two holdings of the subtree computed and compared.
  'PortfolioNode.holdingsChange': 1_000,
  'Mutation.createPortfolioSnapshot': 1_000, 'Mutation.uploadPositions': 1_000, 'Mutation.ingestMarketData': 200,
};

interface Walk {
  schema: GraphQLSchema;
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

function intArgument(field: FieldNode, name: string, walk: Walk): number | null {
  const arg = field.arguments?.find((a) => a.name.value === name);
  const value: ValueNode | undefined = arg?.value;
  if (!value) return null;
  const raw = value.kind === Kind.VARIABLE ? walk.variables[value.name.value] : value.kind === Kind.INT ? Number(value.value) : null;
  return typeof raw === 'number' && Number.isFinite(raw) ? Math.max(0, raw) : null;
}

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

function fieldCost(field: FieldNode, parent: GraphQLNamedType, walk: Walk): number {
  const def = 'getFields' in parent ? (parent.getFields() as Record<string, GraphQLField<unknown, unknown>>)[field.name.value] : undefined;
  const key = `${parent.name}.${field.name.value}`;
  if (!def || !field.selectionSet) return FIELD_WEIGHT[key] ?? 0;
  const type = getNamedType(def.type);
  const weight = 1 + (FIELD_WEIGHT[key] ?? 0);
  if (type.name.endsWith('Connection')) {
    const first = Math.min(intArgument(field, 'first', walk) ?? 50, 500);
    return weight + selectionCost(field.selectionSet, type, walk, (name) => (name === 'edges' ? first : 1));
  }
  // A connection's edges are already multiplied by its page size.
  const paged = field.name.value === 'edges' && parent.name.endsWith('Connection');
  const size = !isList(def.type) || paged ? 1 : key === 'Exposure.buckets' ? intArgument(field, 'top', walk) ?? 50 : LIST_SIZE[key] ?? 50;
  return weight + size * selectionCost(field.selectionSet, type, walk, () => 1);
}

function selectionCost(set: SelectionSetNode, type: GraphQLNamedType, walk: Walk, factor: (field: string) => number, seen = new Set<string>()): number {
  let cost = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      cost += factor(selection.name.value) * fieldCost(selection, type, walk);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const on = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) ?? type : type;
      cost += selectionCost(selection.selectionSet, on, walk, factor, seen);
    } else if (!seen.has(selection.name.value)) {
      const fragment = walk.fragments.get(selection.name.value);
      if (fragment) {
        const on = walk.schema.getType(fragment.typeCondition.name.value) ?? type;
        cost += selectionCost(fragment.selectionSet, on, walk, factor, new Set([...seen, selection.name.value]));
      }
    }
  }
  return cost;
}

/**
 * Texts found acceptable, per limits object: a front-end sends the same few texts over and over,
 * and counting tokens lexes the whole text (a tenth of the CPU of a small request's pipeline).
 * Bounded: emptied when full.
 */
const acceptedTexts = new WeakMap<QueryLimits, Set<string>>();
const ACCEPTED_TEXTS = 1_000;

/** Why a query text is refused before parsing (too long, too many tokens), or null. */
export function queryTextProblem(query: string, limits: QueryLimits): string | null {
  if (query.length > limits.maxQueryLength) return `Query text of ${query.length} characters exceeds the limit of ${limits.maxQueryLength}.`;
  let accepted = acceptedTexts.get(limits);
  if (accepted?.has(query)) return null;
  const problem = tokenProblem(query, limits);
  if (problem === null) {
    if (!accepted) acceptedTexts.set(limits, (accepted = new Set()));
    if (accepted.size >= ACCEPTED_TEXTS) accepted.clear();
    accepted.add(query);
  }
  return problem;
}

function tokenProblem(query: string, limits: QueryLimits): string | null {
  const lexer = new Lexer(new Source(query));
  try {
    for (let tokens = 0; lexer.advance().kind !== TokenKind.EOF; tokens++) {
      if (tokens >= limits.maxTokens) return `Token limit of ${limits.maxTokens} exceeded.`;
    }
  } catch {
    return null; // not lexable: the parser reports it properly
  }
  return null;
}

/**
 * Subscriptions are served over WebSocket only (src/graphql/websocket.ts): one sent over HTTP is refused
 * at validation (400), not at execution.
 */
export function noSubscriptionsOverHttp(context: ValidationContext) {
  return {
    OperationDefinition(node: { operation: string }) {
      if (node.operation === 'subscription') {
        context.reportError(new GraphQLError('Subscriptions are served over WebSocket only (protocol graphql-transport-ws, ws://<host>/graphql), not over HTTP'));
      }
    },
  };
}

/** The estimated cost of an operation: page sizes (from its arguments or variables) multiplied through. */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode, variables: Record<string, unknown>): number {
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const root = operation.operation === 'mutation' ? schema.getMutationType() : operation.operation === 'subscription' ? schema.getSubscriptionType() : schema.getQueryType();
  return root ? selectionCost(operation.selectionSet, root, { schema, fragments, variables }, () => 1) : 0;
}

export const costProblem = (cost: number, limits: QueryLimits) =>
  `Query cost ${cost} exceeds the limit of ${limits.maxCost}; ask for smaller pages or fewer nested lists.`;

/**
 * Costs of operations already seen (Apollo keeps parsed documents, so a repeated text brings the
 * same operation node), with the variables the computation read and their values: a repeat whose
 * variables read have the same (scalar) values has the same cost; any other is computed again.
 */
const costs = new WeakMap<OperationDefinitionNode, { reads: [string, unknown][]; cost: number }>();

function knownCost(operation: OperationDefinitionNode, variables: Record<string, unknown>, compute: (variables: Record<string, unknown>) => number): number {
  const known = costs.get(operation);
  if (known && known.reads.every(([name, value]) => variables[name] === value)) return known.cost;
  const reads: [string, unknown][] = [];
  const tracked = new Proxy(variables, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name);
      if (typeof name === 'string') reads.push([name, value]);
      return value;
    },
  });
  const cost = compute(tracked);
  if (reads.every(([, value]) => value === null || value === undefined || typeof value !== 'object')) costs.set(operation, { reads, cost });
  return cost;
}

/** Rejects an operation whose estimated cost (page sizes multiplied through) exceeds the limit. */
export function costLimitPlugin(limits: QueryLimits): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, schema, request }) {
          if (!operation) return;
          const cost = knownCost(operation, request.variables ?? {}, (variables) => operationCost(schema, document, operation, variables));
          if (cost > limits.maxCost) throw tooComplex(costProblem(cost, limits));
        },
      };
    },
  };
}
