// Jest: TypeScript through SWC (type checking is `tsc --noEmit`, run first by `npm test`).
// Integration tests use a real PostgreSQL server when TEST_DATABASE_URL is set,
// the embedded PGlite database otherwise (test/support/database.ts).
// `npm run test:production` (NODE_ENV=production) runs the API tests below the way production runs the
// service: production settings, JWT authentication, and embedded databases migrated in the process that
// uses them, as on the first `npm start` (test/support/testDatabase.ts, test/support/http.ts).
const PRODUCTION_SUITE = [
  'positionsApi', 'portfolioApi', 'portfolioMutations', 'positionCounts', 'statementCount', 'analytics', 'analyticsCache',
  'uploadPositions', 'uploadPositionsBatches', 'uploadIdempotency', 'snapshots', 'snapshotsQueries', 'snapshotsAccess',
  'searchLiteral', 'instrumentApi', 'referenceApi', 'ratingApi', 'marketDataFx', 'entitlements', 'timePositions', 'timeAnalytics', 'fastPath',
];
const production = process.env.NODE_ENV === 'production';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: production ? PRODUCTION_SUITE.map((name) => `<rootDir>/test/integration/${name}.test.ts`) : ['**/*.test.ts'],
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
