// Counts the SQL statements Prisma sends on behalf of one request. The HTTP
// layer opens a scope per request; Prisma's query events land in the scope of
// the request that caused them (AsyncLocalStorage follows the async chain).
import { AsyncLocalStorage } from 'node:async_hooks';

export interface StatementScope {
  statements: number;
}

const storage = new AsyncLocalStorage<StatementScope>();

export function runInStatementScope<T>(fn: () => T): T {
  return storage.run({ statements: 0 }, fn);
}

export function currentStatementScope(): StatementScope | undefined {
  return storage.getStore();
}

export function countStatement(): void {
  const scope = storage.getStore();
  if (scope) scope.statements++;
}
