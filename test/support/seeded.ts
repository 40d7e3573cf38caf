// A seeded world (src/services/seed) on a fresh test database, served by a real service: for tests that
// compare the service's answers with Prisma's own reads and count the statements each request costs.
import type { Database } from '../../src/db/database';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS, type SeedOptions } from '../../src/services/seed/world';
import { graphql, startService, type RunningService } from './http';
import { statementsDuring } from './statements';
import { createTestDatabase, type TestDatabase } from './testDatabase';

export interface SeededService {
  readonly db: Database;
  readonly api: RunningService;
  /** The first fund (by id) and the dates valuations are recorded on, newest first ('YYYY-MM-DD'). */
  fundAndValuationDates(): Promise<{ fund: string; dates: string[] }>;
  /** A week before the last recorded position version (ISO): known then, the seeded world differs from now. */
  weekBeforeLastRecording(): Promise<string>;
  /** The answer (no errors) and the statements (their SQL) one request costs. */
  measured(query: string, variables?: Record<string, unknown>): Promise<{ data: Record<string, any>; statements: string[] }>;
}

/** Registers beforeAll/afterAll hooks that seed the world (analytics cache off) and stop and drop it after the file's tests. */
export function seededService(options: Partial<SeedOptions>): SeededService {
  let t: TestDatabase | undefined;
  let api: RunningService | undefined;
  beforeAll(async () => {
    t = await createTestDatabase();
    await loadWorld(t.db.sql, buildWorld({ ...DEFAULT_SEED_OPTIONS, ...options }));
    api = await startService(t.db, { analyticsCacheBytes: 0 });
  }, 120_000);
  afterAll(async () => {
    await api?.stop();
    await t?.drop();
  });
  const service: SeededService = {
    get db() {
      return t!.db;
    },
    get api() {
      return api!;
    },
    fundAndValuationDates: async () => {
      const { prisma } = t!.db;
      const fund = (await prisma.portfolioNode.findFirstOrThrow({ where: { parentId: null }, orderBy: { id: 'asc' } })).id;
      const dates = (await prisma.valuationResult.findMany({ distinct: ['asOfDate'], orderBy: { asOfDate: 'desc' }, select: { asOfDate: true } }))
        .map((v) => v.asOfDate.toISOString().slice(0, 10));
      return { fund, dates };
    },
    weekBeforeLastRecording: async () => {
      const [{ at }] = (await t!.db.sql.query<{ at: string }>(
        `SELECT to_char((max(recorded_at) - interval '7 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM position_version`)) as [{ at: string }];
      return at;
    },
    measured: async (query, variables = {}) => {
      const [res, statements] = await statementsDuring(t!.db, () => graphql(api!.url, query, variables));
      expect(res.errors).toBeUndefined();
      return { data: res.data as Record<string, any>, statements };
    },
  };
  return service;
}
