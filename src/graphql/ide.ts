// The in-browser GraphQL IDE at GET /graphql (placeholder; being implemented).
import express from 'express';

export interface IdeOptions {
  /** Shown in the IDE when the service runs without authentication. */
  openMode?: boolean;
}

export function graphqlIde(_options: IdeOptions = {}): express.Router {
  return express.Router();
}
