// The GraphQL IDE at GET /graphql, driven in headless Chromium against the real
// service. Every request off the service's origin is blocked, so the test also
// proves the IDE works with no network (no CDN).
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import { chromium, type Browser } from 'playwright-core';
import { parse, validate, buildSchema } from 'graphql';
import { readFileSync } from 'node:fs';
import { EXAMPLE_QUERIES, EXAMPLE_SUBSCRIPTIONS, FUND_ID_PLACEHOLDER, graphqlIde } from '../../src/graphql/ide';
import type { LiveEvents } from '../../src/live/events';
import { createLiveEvents } from '../../src/live/listener';
import { SCHEMA_PATH } from '../../src/server';
import { createInstrument } from '../support/factories';
import { loadWorld } from '../../src/services/seed/load';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { graphql, startService, type RunningService } from '../support/http';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/testDatabase';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = join(__dirname, '../../test-results/ide.png');

let t: TestDatabase;
let api: RunningService;
let browser: Browser;
let fundNames: string[];
let live: LiveEvents;

beforeAll(async () => {
  t = await createTestDatabase();
  await loadWorld(t.db.sql, buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 200, funds: 2 }));
  const rows = await t.db.sql.query<{ name: string }>(`SELECT name FROM portfolio_node WHERE node_type = 'FUND' ORDER BY name`);
  fundNames = rows.map((r) => r.name);
  live = await createLiveEvents(t.db, onPostgres ? { kind: 'postgres', url: t.url! } : { kind: 'embedded' });
  api = await startService(t.db, { live });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await live?.close();
  await t?.drop();
});

it('runs a query in GraphiQL, offline, with the Authorization header editor', async () => {
  expect(fundNames).toHaveLength(2);
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const blocked: string[] = [];
  const problems: string[] = [];
  const authorizations: (string | undefined)[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${api.url}/`)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
  });
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url() === `${api.url}/graphql`) authorizations.push(request.headers().authorization);
  });

  try {
    const response = await page.goto(`${api.url}/graphql`);
    expect(response?.headers()['content-type']).toMatch(/^text\/html/);
    await page.locator('.graphiql-container').waitFor();
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor();

    // The example queries open as tabs, titled by their operation names.
    const tabs = page.locator('.graphiql-tab');
    expect((await tabs.allInnerTexts()).map((title) => title.trim())).toEqual([
      'PortfolioTree', 'BookPositions', 'IssuerRatings', 'AsOfMonthEnd', 'AsKnownLastWeek', 'ChangesSinceMonthEnd', 'LiveSectorExposure',
    ]);

    // The headers editor is shown and prefilled with the Authorization header.
    const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
    await headersEditor.waitFor();
    expect(await headersEditor.evaluate((el) => (el as any).CodeMirror.getValue())).toContain('"Authorization": "Bearer <token>"');

    // The result pane's text once it holds a response mentioning `field`.
    const resultOf = async (field: string) => {
      const handle = await page.waitForFunction((text) => {
        const value: string | undefined = (globalThis as any).document.querySelector('.result-window .CodeMirror')?.CodeMirror?.getValue();
        return value?.includes(text) ? value : undefined;
      }, field, { timeout: 15_000 });
      return JSON.parse((await handle.jsonValue()) as string);
    };

    // Switch tab and run at once (GraphiQL catches up with the operation name 100 ms later).
    await tabs.nth(1).click();
    await page.locator('.graphiql-execute-button').click();
    const books = await resultOf('portfolioNodes');
    expect(books.errors).toBeUndefined();
    expect(books.data.portfolioNodes.totalCount).toBeGreaterThan(0);

    // Replace the query as a user would: select all in the editor, type over it (insertText,
    // so CodeMirror's bracket auto-closing does not add to it), and run it.
    await page.locator('.graphiql-query-editor .CodeMirror').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.insertText('query FundNames { portfolioRoots { name } }');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('.graphiql-tab-active')?.innerText.trim() === 'FundNames');
    await page.locator('.graphiql-execute-button').click();
    expect(await resultOf('portfolioRoots')).toEqual({ data: { portfolioRoots: fundNames.map((name) => ({ name })) } });
    const shown = await page.locator('.result-window').innerText();
    for (const name of fundNames) expect(shown).toContain(name);
    // The fetcher sends what the headers editor holds.
    expect(authorizations).toContain('Bearer <token>');

    expect(blocked).toEqual([]);
    expect(problems).toEqual([]);
  } finally {
    // Also on failure: the screenshot is the first thing to look at then.
    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true }).catch(() => undefined);
    await context.close();
  }
});

it('runs the subscription example in GraphiQL over WebSocket: the first value, then the next after a write', async () => {
  const [fund] = await t.db.sql.query<{ id: string }>(`SELECT id FROM portfolio_node WHERE node_type = 'FUND' ORDER BY name LIMIT 1`);
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const problems: string[] = [];
  const sockets: string[] = [];
  await context.route('**/*', (route) => (route.request().url().startsWith(`${api.url}/`) ? route.continue() : route.abort('blockedbyclient')));
  const page = await context.newPage();
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('websocket', (socket) => sockets.push(socket.url()));
  try {
    await page.goto(`${api.url}/graphql`);
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor();
    const tabs = page.locator('.graphiql-tab');
    await tabs.filter({ hasText: 'LiveSectorExposure' }).click();
    await page.waitForFunction(() => (globalThis as any).document.querySelector('.graphiql-tab-active')?.innerText.trim() === 'LiveSectorExposure');
    // Open mode: the IDE filled in the first fund's id.
    const variables = page.locator('.graphiql-editor-tool .graphiql-editor .CodeMirror').first();
    await page.locator('.graphiql-editor-tools button', { hasText: 'Variables' }).click();
    await variables.waitFor();
    const shownVariables = await page.evaluate(() => {
      const editors = [...(globalThis as any).document.querySelectorAll('.graphiql-editor-tool .graphiql-editor .CodeMirror')];
      return editors.map((el: any) => el.CodeMirror.getValue() as string).find((v) => v.includes('nodeId'));
    });
    expect(JSON.parse(shownVariables!)).toEqual({ nodeId: fund!.id });

    const unvaluedShown = async (notBefore?: number) => {
      const handle = await page.waitForFunction((previous) => {
        const value: string | undefined = (globalThis as any).document.querySelector('.result-window .CodeMirror')?.CodeMirror?.getValue();
        if (!value?.includes('liveExposure')) return undefined;
        const count = JSON.parse(value).data?.liveExposure?.unvaluedPositionCount;
        // An object: waitForFunction takes a falsy result (a count of 0) for "not yet".
        return typeof count === 'number' && count !== previous ? { count } : undefined;
      }, notBefore ?? null, { timeout: 20_000 });
      return ((await handle.jsonValue()) as { count: number }).count;
    };
    await page.locator('.graphiql-execute-button').click();
    const first = await unvaluedShown();
    expect(sockets).toEqual([`${api.url.replace('http:', 'ws:')}/graphql`]);

    // A write to the fund (an unvalued position in one of its books): the result pane follows.
    const [book] = await t.db.sql.query<{ id: string }>(`SELECT id FROM portfolio_node WHERE fund_id = $1 AND node_type = 'BOOK' LIMIT 1`, [fund!.id]);
    const instrument = await createInstrument(t.db, { name: 'IDE live instrument' });
    const opened = await graphql(api.url, 'mutation($input: OpenPositionInput!) { openPosition(input: $input) { id } }', {
      input: { nodeId: book!.id, instrumentId: instrument.id, quantity: '3', baseCurrency: 'USD' },
    });
    expect(opened.errors).toBeUndefined();
    expect(await unvaluedShown(first)).toBe(first + 1);
    expect(problems).toEqual([]);
  } finally {
    await context.close();
  }
});

it('leaves GraphQL GETs from non-browser clients to the GraphQL endpoint', async () => {
  const res = await fetch(`${api.url}/graphql?query=${encodeURIComponent('{portfolioRoots{name}}')}`, {
    headers: { accept: 'application/json', 'apollo-require-preflight': 'true' },
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await res.json()).toEqual({ data: { portfolioRoots: fundNames.map((name) => ({ name })) } });
});

it('serves a self-contained page under a strict Content-Security-Policy', async () => {
  const res = await fetch(`${api.url}/graphql`, { headers: { accept: 'text/html' } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toMatch(/script-src[^;]*'unsafe-(inline|eval)'/);
  const html = await res.text();
  expect(html).not.toMatch(/https?:\/\//i);
  // The service has no authentication yet, so its IDE says so.
  expect(html).toContain('without authentication');

  // Every asset comes from this service, versioned and cacheable.
  const assets = [...html.matchAll(/(?:src|href)="(\/graphql\/ide\/[^"]+)"/g)].map((m) => m[1]!);
  expect(assets).toHaveLength(6);
  for (const path of assets) {
    const asset = await fetch(`${api.url}${path}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    await asset.arrayBuffer();
  }
  expect((await fetch(`${api.url}/graphql/ide/0000000000000000/graphiql.min.js`)).status).toBe(404);
});

it('shows a banner in open mode', async () => {
  const app = express().use(graphqlIde({ openMode: true }));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const html = await (await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: 'text/html' } })).text();
    expect(html).toMatch(/<div class="ide-banner" role="alert">This service runs without authentication: for local use only/);
    const closed = express().use(graphqlIde({ openMode: false }));
    const other = closed.listen(0, '127.0.0.1');
    await new Promise((resolve) => other.once('listening', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    const plain = await (await fetch(`http://127.0.0.1:${otherPort}/graphql`, { headers: { accept: 'text/html' } })).text();
    await new Promise((resolve) => other.close(resolve));
    expect(plain).not.toContain('without authentication');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});

it('offers example subscriptions that are valid for the schema, with a fund id to fill in', () => {
  const schema = buildSchema(readFileSync(SCHEMA_PATH, 'utf8'));
  expect(EXAMPLE_SUBSCRIPTIONS.length).toBeGreaterThan(0);
  for (const { query, variables } of EXAMPLE_SUBSCRIPTIONS) {
    expect(validate(schema, parse(query))).toEqual([]);
    expect(query).toMatch(/^subscription \w+/m);
    expect(JSON.parse(variables)).toEqual({ nodeId: FUND_ID_PLACEHOLDER });
  }
});

it('offers example queries that are valid for the schema', async () => {
  const answers = new Map<string, Record<string, any>>();
  for (const query of EXAMPLE_QUERIES) {
    const res = await graphql(api.url, query);
    expect(res.errors).toBeUndefined();
    expect(res.data).toBeDefined();
    answers.set(/query (\w+)/.exec(query)![1]!, res.data!);
  }
  // The time examples show the demo world's history: a month-end known a week ago is not known now.
  const lastWeek = answers.get('AsKnownLastWeek')!.portfolioRoots as { knownThen: { amount: string }; knownNow: { amount: string } }[];
  expect(lastWeek.some((f) => f.knownThen.amount !== f.knownNow.amount)).toBe(true);
  const changes = answers.get('ChangesSinceMonthEnd')!.portfolioRoots as { sinceMonthEnd: { changes: { totalCount: number } } }[];
  expect(changes.every((f) => f.sinceMonthEnd.changes.totalCount > 0)).toBe(true);
});
