// Point 12: the log stream of the real process (src/main.ts, LOG_LEVEL=debug,
// AUTH_MODE=jwt) through good and bad requests, an upload, a database that
// goes away (pool and request errors) and a shutdown. Every line is JSON; an
// operation's line names its request id, operation, duration and caller; and
// neither the bearer token, nor the JWT secret, nor the password inside
// DATABASE_URL ever appears, anywhere in stdout or stderr.
import type * as Jose from 'jose' with { 'resolution-mode': 'import' };
import { graphql } from '../support/http';
import { createPgCluster, type PgCluster } from '../support/pgCluster';
import { seededDatabase, startMain, UPLOAD, uploadRows, uploadTarget, type MainProcess } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const jose: typeof Jose = require('jose');

const JWT_SECRET = 'log-test-jwt-secret-0123456789-abcdefghij';
const DB_PASSWORD = 'Db-Pa55word-that-must-never-be-logged';

let cluster: PgCluster;
let main: MainProcess | undefined;

beforeAll(async () => {
  cluster = await createPgCluster();
}, 60_000);

afterAll(async () => {
  main?.kill();
  await cluster?.destroy();
});

const token = (sub: string, roles: string[], secret = JWT_SECRET) =>
  new jose.SignJWT({ roles, funds: ['*'] }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('10m').sign(new TextEncoder().encode(secret));

it('logs each operation with request id, operation, duration and caller, and never a token or a password', async () => {
  const url = await seededDatabase(cluster, 'logs');
  const target = await uploadTarget(url, 'Logs');
  // The cluster trusts local connections, so the password is never checked, but it is in the URL the process gets.
  const withPassword = new URL(url);
  withPassword.password = DB_PASSWORD;
  main = await startMain({
    DATABASE_URL: withPassword.toString(), AUTH_MODE: 'jwt', JWT_SECRET, LOG_LEVEL: 'debug', DB_CONNECT_TIMEOUT_MS: '1000',
  });
  const base = `http://127.0.0.1:${main.port}`;
  const viewer = await token('alice@example.test', ['VIEWER']);
  const ingestor = await token('ingest-bot', ['INGESTOR']);
  const forged = await token('mallory', ['ADMIN'], 'some-other-secret-that-is-32-bytes-long!!');
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  const read = await graphql(base, 'query RootsForLogTest { portfolioRoots { id name } }', {}, { ...bearer(viewer), 'x-request-id': 'log-test-read' });
  expect(read.status).toBe(200);
  expect((await graphql(base, 'query Forged { portfolioRoots { id } }', {}, bearer(forged))).status).toBe(401);
  const upload = await graphql(base, UPLOAD.replace('mutation(', 'mutation UploadForLogTest('), { input: { sourceSystem: 'logs', rows: uploadRows(target, 10) } }, { ...bearer(ingestor), 'x-request-id': 'log-test-upload' });
  expect(upload.data?.uploadPositions).toMatchObject({ status: 'COMPLETED' });

  // The database goes away: idle connections fail, requests fail; both are logged.
  await cluster.stop('fast');
  const down = await graphql(base, 'query WhileDown { portfolioRoots { id } }', {}, { ...bearer(viewer), 'x-request-id': 'log-test-down' });
  expect(down.errors?.[0]?.extensions?.code).toBe('INTERNAL_SERVER_ERROR');
  await cluster.start();

  // The shutdown's own lines belong to the stream too (its exit code is shutdown.test.ts's business).
  main.proc.kill('SIGTERM');
  await main.exited;

  const output = main.output();
  // Nothing secret, in any form a log could carry it.
  for (const secret of [viewer, ingestor, forged, viewer.split('.')[2]!, JWT_SECRET, DB_PASSWORD, encodeURIComponent(DB_PASSWORD)]) {
    expect(output).not.toContain(secret);
  }
  // Every line is a JSON log line (nothing printed around the logger).
  const lines = output.split('\n').filter((line) => line.trim() !== '');
  expect(lines.length).toBe(main.logs.length);

  const logs = main.logs;
  const operation = (requestId: string) => logs.find((l) => l.msg === 'graphql operation' && l.requestId === requestId);
  expect(operation('log-test-read')).toMatchObject({
    level: 30, service: 'portfolio-data-service', operation: 'RootsForLogTest', caller: 'alice@example.test', durationMs: expect.any(Number),
  });
  expect(operation('log-test-upload')).toMatchObject({ operation: 'UploadForLogTest', caller: 'ingest-bot', durationMs: expect.any(Number) });
  expect(operation('log-test-down')).toMatchObject({ operation: 'WhileDown', caller: 'alice@example.test' });
  // The failure of that request is logged under its request id, with the driver's reason.
  const failure = logs.find((l) => l.requestId === 'log-test-down' && l.level >= 40 && l.msg !== 'graphql operation');
  expect(failure).toBeDefined();
  expect(JSON.stringify(failure)).toMatch(/ECONNREFUSED|reach database|Connection terminated|unavailable/i);
  // The start-up line names where to connect, not the connection string.
  expect(logs.find((l) => l.msg === 'portfolio data service listening')).toMatchObject({ database: 'postgres' });
}, 90_000);
