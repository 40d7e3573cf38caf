// Jest: TypeScript through SWC (type checking is `tsc --noEmit`, run first by `npm test`).
// Integration tests use a real PostgreSQL server when TEST_DATABASE_URL is set,
// the embedded PGlite database otherwise (test/support/database.ts).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  transformIgnorePatterns: ['/node_modules/(?!(jose)/)'],
  globalSetup: '<rootDir>/test/support/globalSetup.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
};
