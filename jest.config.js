// Jest: TypeScript through SWC (type checking is `tsc --noEmit`, run first by `npm test`).
// Integration tests use a real PostgreSQL server when TEST_DATABASE_URL is set,
// the embedded PGlite database otherwise (test/support/database.ts).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // PostgreSQL-only tests run when TEST_DATABASE_URL is set, and are not even collected
  // otherwise (never reported as skipped): test/faults start, crash and slow down servers
  // of their own; test/postgres need a second connection, which PGlite does not have.
  testPathIgnorePatterns: [
    '/node_modules/',
    ...(process.env.TEST_DATABASE_URL?.trim() ? [] : ['<rootDir>/test/faults/', '<rootDir>/test/postgres/']),
  ],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
