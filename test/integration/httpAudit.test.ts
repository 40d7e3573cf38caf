// The GraphQL-over-HTTP audit of the `graphql-http` package against the live
// server: no audit may end in `error`. The counts of ok / warn / notice are
// printed for the record.
import { serverAudits } from 'graphql-http';
import { startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;

beforeAll(async () => {
  t = await createTestDatabase();
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

it('passes the GraphQL-over-HTTP audits with no error', async () => {
  const audits = serverAudits({ url: `${api.url}/graphql`, fetchFn: fetch });
  const results = await Promise.all(audits.map((audit) => audit.fn()));
  const counts = { ok: 0, warn: 0, notice: 0, error: 0 };
  for (const r of results) counts[r.status]++;
  const problems = results.filter((r) => r.status !== 'ok').map((r) => `${r.status}: ${r.name}${'reason' in r ? ` (${r.reason})` : ''}`);
  // eslint-disable-next-line no-console
  console.log(`graphql-http audits: ${JSON.stringify(counts)}\n${problems.join('\n')}`);
  expect(results.filter((r) => r.status === 'error').map((r) => r.name)).toEqual([]);
  expect(counts.ok).toBeGreaterThan(20);
});
