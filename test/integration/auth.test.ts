// Authentication and roles through HTTP: bearer JWTs (HS256 secret, RS256/ES256
// public keys, a JWKS file), every way a token can be wrong, and role checks
// that refuse before anything is written.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import type { AuthConfig } from '../../src/config';
import { createChain } from '../support/factories';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose: typeof Jose = require('jose');

const SECRET = 'a-test-secret-that-is-at-least-32-bytes-long!';
const HS: AuthConfig = { mode: 'jwt', secret: SECRET, issuer: 'https://idp.test', audience: 'portfolio-api', clockToleranceSec: 0 };

let t: TestDatabase;
let api: RunningService;
let bookId: string;
let instrumentId: string;

interface Claims {
  sub?: string;
  roles?: unknown;
  funds?: unknown;
  iss?: string;
  aud?: string;
  exp?: number;
}

async function hs256(claims: Claims, secret = SECRET): Promise<string> {
  const { exp, ...rest } = { sub: 'alice', roles: ['VIEWER'], funds: ['*'], iss: 'https://idp.test', aud: 'portfolio-api', ...claims };
  return new jose.SignJWT(rest as Jose.JWTPayload).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime(exp ?? '10m').sign(new TextEncoder().encode(secret));
}

const ask = (token: string | null, query = '{ portfolioRoots { name } }', variables = {}) =>
  graphql(api.url, query, variables, token === null ? {} : { authorization: `Bearer ${token}` });

beforeAll(async () => {
  t = await createTestDatabase();
  const chain = await createChain(t.db, 'Auth');
  bookId = chain.book.id;
  instrumentId = (await t.db.prisma.instrument.create({ data: { name: 'Auth bond', assetClass: 'BOND', currency: 'USD' } })).id;
  api = await startService(t.db, { auth: HS });
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

describe('HS256 bearer tokens', () => {
  it('serves a valid token', async () => {
    const res = await ask(await hs256({}));
    expect(res.status).toBe(200);
    expect(res.data!.portfolioRoots).toEqual([{ name: 'Auth Fund' }]);
  });

  it.each([
    ['no token', async () => null],
    ['a wrong secret', async () => hs256({}, 'another-secret-that-is-also-32-bytes-long!!')],
    ['an expired token', async () => hs256({ exp: Math.floor(Date.now() / 1000) - 60 })],
    ['a wrong issuer', async () => hs256({ iss: 'https://evil.test' })],
    ['a wrong audience', async () => hs256({ aud: 'another-api' })],
    ['no subject', async () => hs256({ sub: '' })],
    ['an unknown role', async () => hs256({ roles: ['ROOT'] })],
    ['malformed funds', async () => hs256({ funds: ['not-a-fund-id'] })],
    ['funds mixing a fund id and "*"', async () => hs256({ funds: ['3f0e2a9c-7b1d-4c55-9e8a-0d6b5c4a3b21', '*'] })],
    ['funds of "*" twice', async () => hs256({ funds: ['*', '*'] })],
    ['funds that are not a list', async () => hs256({ funds: '*' })],
    ['alg none', async () => {
      const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ sub: 'mallory', roles: ['ADMIN'], funds: ['*'], iss: 'https://idp.test', aud: 'portfolio-api', exp: Math.floor(Date.now() / 1000) + 600 })}.`;
    }],
    ['garbage', async () => 'not.a.jwt'],
  ])('refuses %s with UNAUTHENTICATED (401)', async (_what, token) => {
    const res = await ask(await token());
    expect(res.status).toBe(401);
    expect(res.errors![0]!.extensions!.code).toBe('UNAUTHENTICATED');
    expect(res.data).toBeUndefined();
  });

  it('refuses a header that is not a bearer token', async () => {
    const res = await graphql(api.url, '{ portfolioRoots { name } }', {}, { authorization: 'Basic YWxpY2U6c2VjcmV0' });
    expect(res.status).toBe(401);
  });
});

describe('roles', () => {
  const OPEN = `mutation($input: OpenPositionInput!) { openPosition(input: $input) { id } }`;
  const CREATE = `mutation { createPortfolioNode(input: { name: "New Fund", nodeType: FUND, baseCurrency: "USD" }) { id } }`;
  const counts = async () => [await t.db.prisma.position.count(), await t.db.prisma.portfolioNode.count()];

  it('lets a VIEWER read but not write, and writes nothing', async () => {
    const viewer = await hs256({ roles: ['VIEWER'] });
    const before = await counts();
    const open = await ask(viewer, OPEN, { input: { nodeId: bookId, instrumentId, quantity: '1', baseCurrency: 'USD' } });
    expect(open.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect((await ask(viewer, CREATE)).errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect(await counts()).toEqual(before);
  });

  it('lets an INGESTOR open positions but not change the hierarchy', async () => {
    const ingestor = await hs256({ roles: ['INGESTOR'] });
    const open = await ask(ingestor, OPEN, { input: { nodeId: bookId, instrumentId, quantity: '1', baseCurrency: 'USD' } });
    expect(open.errors).toBeUndefined();
    expect((await ask(ingestor, CREATE)).errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect((await ask(ingestor)).data!.portfolioRoots).toHaveLength(1);
  });

  it('lets an ADMIN do everything', async () => {
    const admin = await hs256({ roles: ['ADMIN'] });
    expect((await ask(admin, CREATE)).errors).toBeUndefined();
  });

  it('refuses a caller with no role at all', async () => {
    const res = await ask(await hs256({ roles: [] }));
    expect(res.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    expect(res.data?.portfolioRoots ?? null).toBeNull();
  });
});

describe('public keys', () => {
  it.each(['RS256', 'ES256'])('verifies %s with a PEM public key and refuses HS256 signed with that key (algorithm confusion)', async (alg) => {
    const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
    const pem = await jose.exportSPKI(publicKey);
    const service = await startService(t.db, { auth: { mode: 'jwt', publicKeyPem: pem, clockToleranceSec: 0 } });
    try {
      const good = await new jose.SignJWT({ roles: ['VIEWER'], funds: ['*'] }).setProtectedHeader({ alg }).setSubject('bob').setExpirationTime('5m').sign(privateKey);
      expect((await graphql(service.url, '{ portfolioRoots { name } }', {}, { authorization: `Bearer ${good}` })).status).toBe(200);
      const confused = await new jose.SignJWT({ roles: ['ADMIN'], funds: ['*'] }).setProtectedHeader({ alg: 'HS256' }).setSubject('mallory').setExpirationTime('5m').sign(new TextEncoder().encode(pem));
      const res = await graphql(service.url, '{ portfolioRoots { name } }', {}, { authorization: `Bearer ${confused}` });
      expect(res.status).toBe(401);
    } finally {
      await service.stop();
    }
  });

  it('verifies tokens against a JWKS file by key id', async () => {
    const { publicKey, privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'key-1', alg: 'RS256', use: 'sig' };
    const file = join(tmpdir(), `pds-jwks-${process.pid}.json`);
    writeFileSync(file, JSON.stringify({ keys: [jwk] }));
    const service = await startService(t.db, { auth: { mode: 'jwt', jwksFile: file, clockToleranceSec: 0 } });
    try {
      const token = await new jose.SignJWT({ roles: ['VIEWER'], funds: ['*'] }).setProtectedHeader({ alg: 'RS256', kid: 'key-1' }).setSubject('carol').setExpirationTime('5m').sign(privateKey);
      expect((await graphql(service.url, '{ portfolioRoots { name } }', {}, { authorization: `Bearer ${token}` })).status).toBe(200);
      const other = await jose.generateKeyPair('RS256');
      const forged = await new jose.SignJWT({ roles: ['VIEWER'], funds: ['*'] }).setProtectedHeader({ alg: 'RS256', kid: 'key-1' }).setSubject('mallory').setExpirationTime('5m').sign(other.privateKey);
      expect((await graphql(service.url, '{ portfolioRoots { name } }', {}, { authorization: `Bearer ${forged}` })).status).toBe(401);
    } finally {
      await service.stop();
    }
  });
});
