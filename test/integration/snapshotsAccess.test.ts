// Snapshots and entitlements, with bearer JWTs: a caller snapshots and reads
// only nodes under the funds of its token; anything else is NOT_FOUND (the
// mutation) or null (portfolioSnapshot), as if it did not exist.
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import type { AuthConfig } from '../../src/config';
import { createChain, createInstrument, createPosition } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose: typeof Jose = require('jose');

const SECRET = 'a-snapshot-test-secret-at-least-32-bytes!';
const AUTH: AuthConfig = { mode: 'jwt', secret: SECRET, issuer: 'https://idp.test', audience: 'portfolio-api', clockToleranceSec: 0 };

let t: TestDatabase;
let api: RunningService;
let mine: Awaited<ReturnType<typeof createChain>>;
let theirs: Awaited<ReturnType<typeof createChain>>;

const token = (roles: string[], funds: string[]) =>
  new jose.SignJWT({ sub: 'snapshotter', roles, funds, iss: 'https://idp.test', aud: 'portfolio-api' })
    .setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));

const CREATE = `mutation($n: ID!) { createPortfolioSnapshot(nodeId: $n, asOfDate: "2026-10-30") { created snapshot { id node { id } } } }`;
const BY_ID = `query($id: ID!) { portfolioSnapshot(id: $id) { id node { id } } }`;
const as = async (jwt: string, query: string, variables: Record<string, unknown>) =>
  graphql(api.url, query, variables, { authorization: `Bearer ${jwt}` });

beforeAll(async () => {
  t = await createTestDatabase();
  mine = await createChain(t.db, 'Mine');
  theirs = await createChain(t.db, 'Theirs');
  const instrument = await createInstrument(t.db);
  for (const chain of [mine, theirs]) await createPosition(t.db, { portfolioNodeId: chain.book.id, instrumentId: instrument.id });
  api = await startService(t.db, { auth: AUTH });
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

describe('snapshots and entitlements', () => {
  it('snapshots nodes of the caller\'s funds; another fund\'s node is NOT_FOUND and nothing is written', async () => {
    const jwt = await token(['INGESTOR'], [mine.fund.id]);
    const ok = await as(jwt, CREATE, { n: mine.book.id });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.createPortfolioSnapshot).toMatchObject({ created: true, snapshot: { node: { id: mine.book.id } } });
    for (const node of [theirs.book, theirs.fund]) {
      const refused = await as(jwt, CREATE, { n: node.id });
      expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'NOT_FOUND', field: 'nodeId' });
    }
    const [row] = await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM portfolio_snapshot WHERE portfolio_node_id = ANY($1::uuid[])', [[theirs.book.id, theirs.fund.id]]);
    expect(row!.n).toBe(0);
  });

  it("shows a snapshot by id only to callers who see its node's fund", async () => {
    const all = await token(['INGESTOR'], ['*']);
    const created = await as(all, CREATE, { n: theirs.desk.id });
    const id = created.data!.createPortfolioSnapshot.snapshot.id as string;
    expect((await as(all, BY_ID, { id })).data!.portfolioSnapshot).toEqual({ id, node: { id: theirs.desk.id } });
    const viewer = await token(['VIEWER'], [mine.fund.id]);
    const hidden = await as(viewer, BY_ID, { id });
    expect(hidden.errors).toBeUndefined();
    expect(hidden.data!.portfolioSnapshot).toBeNull();
  });

  it('needs the INGESTOR role to create a snapshot', async () => {
    const res = await as(await token(['VIEWER'], ['*']), CREATE, { n: mine.book.id });
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
  });
});
