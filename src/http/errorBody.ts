// The body of every refusal answered outside Apollo (body limits, malformed JSON, persisted
// operations, query text limits, a failure outside GraphQL): shaped as a GraphQL response, so a
// client reads `errors[0].extensions.code` wherever the request was stopped.
export const errorBody = (message: string, code: string, extensions: Record<string, unknown> = {}) => ({
  errors: [{ message, extensions: { code, ...extensions } }],
});

/** A persisted-operations refusal (src/graphql/persisted.ts) as an error body, naming its field. */
export const refusalBody = (refusal: { message: string; code: string; field?: string }) => errorBody(refusal.message, refusal.code, { field: refusal.field });
