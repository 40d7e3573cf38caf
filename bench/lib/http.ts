// A minimal GraphQL-over-HTTP client (keep-alive fetch): a response with
// `errors` is a failure, never a fast answer.

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'GraphQLRequestError';
  }
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  data: T;
  bytes: number;
}

export async function graphql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let json: { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    throw new GraphQLRequestError(`HTTP ${res.status}: ${text.slice(0, 200)}`, undefined);
  }
  if (json.errors?.length) {
    const first = json.errors[0]!;
    throw new GraphQLRequestError(first.message.slice(0, 300), first.extensions?.code);
  }
  if (!res.ok || !json.data) throw new GraphQLRequestError(`HTTP ${res.status} without data`, undefined);
  return { data: json.data, bytes: Buffer.byteLength(text) };
}

export const requestBody = (query: string, variables: Record<string, unknown>) => JSON.stringify({ query, variables });
