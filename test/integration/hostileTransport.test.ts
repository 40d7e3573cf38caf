// Hostile requests below the level of arguments: bodies built by hand so that
// what JSON.stringify cannot say reaches the server - invalid UTF-8 and lone
// surrogates, NaN/Infinity/0x10 tokens, 1e400, JSON nested 10,000 and 100,000
// levels deep, arrays of 200,000 items, `__proto__`/`constructor` keys at
// every level of the body, query/variables/operationName of the wrong type,
// batched bodies, bodies over the size limit, odd content types and encodings,
// GETs, hostile query texts (NUL, BOM, raw surrogates, cyclic fragments,
// thousands of aliases), and random bytes, random JSON bodies and random edits
// of valid queries from fast-check. Every answer must be 200/400 (413 for a
// body over the limit; 415 only for an unsupported content type, charset or
// encoding) with data or well-formed errors; the process stays up and the
// database holds nothing invalid afterwards.
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import {
  accountFor, alive, deepJsonText, encodeJson, fcParams, FC_SEED, Findings, get, growthProblems, judge, Ledger, objectOf, post,
  prototypePollution, seedFixture, startHostileService, storedDataProblems, succeeded, tableState, type Answer, type Fixture, type HostileService,
  type JudgeOptions, type TableState, type Value,
} from '../support/hostile';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: HostileService;
let fx: Fixture;
let before: TableState;
const ledger = new Ledger();
const findings = new Findings();

beforeAll(async () => {
  t = await createTestDatabase();
  fx = await seedFixture(t.db.sql);
  api = await startHostileService(t.db);
  before = await tableState(t.db.sql);
  console.log(`hostileTransport: fast-check seed ${FC_SEED} (set FC_SEED to replay another)`);
}, 120_000);

afterAll(async () => {
  console.log(`hostileTransport: ${findings.tried} hostile inputs tried (seed ${FC_SEED}), per group and outcome:\n${findings.summary()}`);
  await api?.stop();
  await t?.drop();
});

const JSON_HEADERS = { 'content-type': 'application/json' };
const NODE_QUERY = 'query($id: ID!) { portfolioNode(id: $id) { id name } }';
const CREATE = 'mutation($input: CreatePortfolioNodeInput!) { createPortfolioNode(input: $input) { id name nodeType baseCurrency tags depth parent { id nodeType } } }';
const INGEST = 'mutation($input: MarketDataInput!) { ingestMarketData(input: $input) { id feedType validationStatus payloadHash payload checks { name status message } lineage { sourceSystem transformationChain metadata } } }';
const UPLOAD = 'mutation($input: PositionUploadInput!) { uploadPositions(input: $input) { id status batchType rowCount acceptedCount rejectedCount errors { row field code message } } }';
const VALUATIONS = 'mutation($input: [ValuationInput!]!) { recordValuations(input: $input) }';

const b = (text: string) => Buffer.from(text, 'utf8');
const cat = (...parts: (string | Buffer)[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? b(p) : p)));
const jsonString = (text: string) => JSON.stringify(text);

/** Sends a raw request, judges it, books a successful mutation; returns the answer. */
async function attempt(group: string, body: Buffer | string, options: { headers?: Record<string, string>; statuses?: number[]; sent?: Value; mutation?: 'createPortfolioNode' | 'ingestMarketData' | 'uploadPositions' | 'recordValuations' } = {}): Promise<Answer> {
  findings.count(group);
  const answer = await post(api.url, body, options.headers ?? JSON_HEADERS);
  const judged: JudgeOptions = { sent: options.sent ?? (typeof body === 'string' ? body : body.toString('utf8')), log: api.log, statuses: options.statuses };
  const problems = judge(answer, judged);
  const ok = problems.length === 0 && succeeded(answer);
  findings.outcome(group, ok ? 'data' : answer.dropped ? 'dropped' : `${answer.status} ${[...new Set(((answer.body?.errors ?? []) as { extensions?: { code?: string } }[]).map((e) => e?.extensions?.code))].join('+')}`);
  if (ok && options.mutation) {
    problems.push(...accountFor(options.mutation, answer.body!.data as Record<string, unknown>, {}, ledger));
  }
  const preview = typeof body === 'string' ? body : body.length > 2_000 ? `${body.subarray(0, 300).toString('latin1')}...(${body.length} bytes)` : body.toString('latin1');
  findings.record(group, problems, `${JSON.stringify(options.headers ?? JSON_HEADERS)} ${preview.slice(0, 1_200)}`);
  return answer;
}

function safeDecode(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function groupReport(group: string) {
  return findings.reportPrefix(group);
}

describe('bytes and tokens JSON.stringify cannot write', () => {
  it('answers invalid UTF-8, lone surrogates, NUL and non-JSON number tokens with well-formed errors', async () => {
    const g = 'encoding';
    const node = fx.nodes.DESK[0]!;
    const bytes = [
      Buffer.from([0xff]), Buffer.from([0xfe, 0xff]), Buffer.from([0xc0, 0x80]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xed, 0xbf, 0xbf]),
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from([0xe2, 0x82]), Buffer.from([0x80]), Buffer.from([0x00]),
      Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from([0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]),
    ];
    for (const raw of bytes) {
      // In a variable, in the query text, in a string literal of the query, in a key, and before the body.
      await attempt(g, cat(`{"query":${jsonString(NODE_QUERY)},"variables":{"id":"`, raw, '"}}'));
      await attempt(g, cat('{"query":"{ portfolioRoots { id } }', raw, '"}'));
      await attempt(g, cat('{"query":"{ portfolioNode(id: \\"', raw, '\\") { id } }"}'));
      await attempt(g, cat(`{"query":${jsonString(NODE_QUERY)},"variables":{"`, raw, `":1,"id":"${node}"}}`));
      await attempt(g, cat(raw, `{"query":${jsonString(NODE_QUERY)},"variables":{"id":"${node}"}}`));
      await attempt(g, cat(`{"query":${jsonString(CREATE)},"variables":{"input":{"name":"Transport `, raw, '","nodeType":"FUND","baseCurrency":"USD","tags":{"k":"', raw, '"}}}}'), { mutation: 'createPortfolioNode' });
    }
    const escapes = ['\\ud800', '\\udfff', '\\ud800\\ud800', '\\udc00\\ud800', '\\u0000', 'a\\u0000b', '\\u001b[31m', '\\uffff', '\\ufffe', '\\u202e'];
    for (const e of escapes) {
      await attempt(g, `{"query":${jsonString(NODE_QUERY)},"variables":{"id":"${e}"}}`);
      await attempt(g, `{"query":"{ portfolioNode(id: \\"x${e}\\") { id } }"}`);
      await attempt(g, `{"query":"{ portfolioRoots { id } } #${e}"}`);
      await attempt(g, `{"query":${jsonString(CREATE)},"variables":{"input":{"name":"T${e}","nodeType":"FUND","baseCurrency":"USD","tags":{"${e}":"${e}"}}}}`, { mutation: 'createPortfolioNode' });
      await attempt(g, `{"query":${jsonString(INGEST)},"variables":{"input":{"feedType":"FX_SPOT","asOfDate":"2026-06-30","source":"T","payload":{"rates":[{"pair":"EURUSD","rate":"1.1"}],"x":"${e}"},"lineage":{"sourceSystem":"s","transformationChain":["${e}"],"metadata":{"${e}":1}}}}}`, { mutation: 'ingestMarketData' });
    }
    for (const token of ['NaN', 'Infinity', '-Infinity', '0x10', '.5', '+1', '01', '1.', 'undefined', '1e400', '-1e400', '1e-400', '-0', '9007199254740993', '123456789012345678901234567890', '1E+400', '1_000', "'x'", 'null']) {
      await attempt(g, `{"query":"query($f: Int) { portfolioNodes(first: $f) { totalCount } }","variables":{"f":${token}}}`);
      await attempt(g, `{"query":${jsonString(VALUATIONS)},"variables":{"input":[{"positionId":"${fx.positions[0]}","asOfDate":"2026-06-30","marketValue":${token},"currency":"USD"}]}}`, { mutation: 'recordValuations' });
      await attempt(g, `{"query":${jsonString(INGEST)},"variables":{"input":{"feedType":"FX_SPOT","asOfDate":"2026-06-30","source":"T","payload":{"rates":[{"pair":"EURUSD","rate":${token}}]},"lineage":{"sourceSystem":"s","transformationChain":[]}}}}`, { mutation: 'ingestMarketData' });
    }
    expect(await alive(api.url)).toBe(true);
    expect(groupReport(g)).toBe('');
  });
});

describe('depth and size', () => {
  it('answers JSON nested 10,000 and 100,000 levels deep and arrays of 200,000 items with well-formed errors', async () => {
    const g = 'depth-size';
    for (const depth of [1_000, 10_000, 100_000]) {
      for (const kind of ['array', 'object'] as const) {
        const deep = deepJsonText(depth, kind).json;
        await attempt(g, `{"query":${jsonString(INGEST)},"variables":{"input":{"feedType":"FX_SPOT","asOfDate":"2026-06-30","source":"T","payload":${deep},"lineage":{"sourceSystem":"s","transformationChain":[]}}}}`, { mutation: 'ingestMarketData' });
        await attempt(g, `{"query":${jsonString(CREATE)},"variables":{"input":{"name":"Deep","nodeType":"FUND","baseCurrency":"USD","tags":{"a":${deep}}}}}`, { mutation: 'createPortfolioNode' });
        await attempt(g, `{"query":${jsonString(NODE_QUERY)},"variables":{"id":${deep}}}`);
        await attempt(g, `{"query":${jsonString(NODE_QUERY)},"variables":{"id":"x"},"extensions":${deep}}`);
        await attempt(g, `{"query":${jsonString(NODE_QUERY)},"variables":${deep}}`);
      }
      // Deep literals and selections in the query text itself.
      await attempt(g, JSON.stringify({ query: `mutation { createPortfolioNode(input: {name: "x", nodeType: FUND, baseCurrency: "USD", tags: {a: ${'['.repeat(depth)}1${']'.repeat(depth)}}}) { id } }` }), { mutation: 'createPortfolioNode' });
      await attempt(g, JSON.stringify({ query: `{ portfolioRoots { ${'children { '.repeat(Math.min(depth, 20_000))}id${' }'.repeat(Math.min(depth, 20_000))} } }` }));
    }
    const many = 200_000;
    const arr = (item: string) => `[${Array.from({ length: many }, () => item).join(',')}]`;
    const row = `{"nodeId":"${fx.nodes.BOOK[0]}","instrumentId":"${fx.instruments[0]}","quantity":"1","baseCurrency":"USD"}`;
    await attempt(g, `{"query":${jsonString(UPLOAD)},"variables":{"input":{"sourceSystem":"T","rows":${arr(row)}}}}`, { mutation: 'uploadPositions' });
    await attempt(g, `{"query":${jsonString(VALUATIONS)},"variables":{"input":${arr(`{"positionId":"${fx.positions[0]}","asOfDate":"2026-06-30","marketValue":"1","currency":"USD"}`)}}}`, { mutation: 'recordValuations' });
    await attempt(g, `{"query":${jsonString(INGEST)},"variables":{"input":{"feedType":"FX_SPOT","asOfDate":"2026-06-30","source":"T","payload":{"rates":${arr('{"pair":"EURUSD","rate":"1.1"}')}},"lineage":{"sourceSystem":"s","transformationChain":${arr('"step"')}}}}}`, { mutation: 'ingestMarketData' });
    await attempt(g, `{"query":"query($s: [PositionStatus!]) { portfolioNode(id: \\"${fx.nodes.FUND[0]}\\") { positions(status: $s, first: 1) { totalCount } } }","variables":{"s":${arr('"ACTIVE"')}}}`);
    await attempt(g, `{"query":${jsonString(NODE_QUERY)},"variables":{"id":"${fx.nodes.FUND[0]}",${Array.from({ length: many }, (_v, i) => `"k${i}":${i}`).join(',')}}}`);
    await attempt(g, `{"query":${jsonString(NODE_QUERY)},"variables":{"id":${arr('1')}}}`);
    // 1 MiB strings and a body just over the limit.
    await attempt(g, JSON.stringify({ query: NODE_QUERY, variables: { id: 'é'.repeat(1 << 19) } }));
    await attempt(g, JSON.stringify({ query: CREATE, variables: { input: { name: 'n'.repeat(1 << 20), nodeType: 'FUND', baseCurrency: 'USD' } } }), { mutation: 'createPortfolioNode' });
    await attempt(g, JSON.stringify({ query: `{ portfolioRoots { id } } ${'#'.repeat(1 << 20)}` }));
    await attempt(g, JSON.stringify({ query: NODE_QUERY, variables: { id: 'x'.repeat(33 * 1024 * 1024) } }), { statuses: [413] });
    expect(await alive(api.url)).toBe(true);
    expect(groupReport(g)).toBe('');
  }, 120_000);
});

describe('the body itself', () => {
  it('answers prototype keys, wrong types, batches and stray fields with well-formed errors', async () => {
    const g = 'body-shape';
    const node = fx.nodes.FUND[0]!;
    const valid = `"query":${jsonString(NODE_QUERY)},"variables":{"id":"${node}"}`;
    const bodies = [
      `{${valid},"__proto__":{"query":"mutation { closePosition(id: \\"${fx.positions[0]}\\") { id } }"}}`,
      `{"__proto__":{"query":${jsonString(NODE_QUERY)},"variables":{"id":"${node}"}}}`,
      `{"query":${jsonString(NODE_QUERY)},"variables":{"__proto__":{"id":"${node}"}}}`,
      `{"query":${jsonString(NODE_QUERY)},"variables":{"id":"${node}","__proto__":{"polluted":"yes"}}}`,
      `{"query":${jsonString(NODE_QUERY)},"variables":{"id":"${node}","constructor":{"prototype":{"polluted":"yes"}}}}`,
      `{${valid},"constructor":{"prototype":{"polluted":"yes"}}}`,
      `{${valid},"extensions":{"__proto__":{"persistedQuery":{"version":1,"sha256Hash":"x"}}}}`,
      `{${valid},"extensions":{"persistedQuery":{"version":1,"sha256Hash":"${'0'.repeat(64)}"}}}`,
      `{${valid},"extensions":{"persistedQuery":{"version":"\\u0000","sha256Hash":1e400}}}`,
      `{${valid},"extensions":"x"}`, `{${valid},"extensions":[]}`, `{${valid},"operationName":{"__proto__":1}}`, `{${valid},"operationName":1}`,
      `{${valid},"operationName":"\\u0000"}`, `{${valid},"operationName":"${'x'.repeat(10_240)}"}`, `{${valid},"operationName":"Missing"}`,
      `{${valid},"operationName":"__proto__"}`, `{${valid},"query":"{ portfolioRoots { id } }"}`, `{${valid},"variables":"x"}`,
      '{"query":1}', '{"query":null}', '{"query":true}', '{"query":[]}', '{"query":{}}', '{"query":["{ portfolioRoots { id } }"]}', '{"query":""}', '{"query":" "}',
      '{"query":"\\u0000"}', '{}', '[]', 'null', '"query"', '1', 'true', '', ' ', '{', '{"query":', '{"query":"{ portfolioRoots { id } }"', '{"query":"{ portfolioRoots { id } }"}}',
      '{"query":"{ portfolioRoots { id } }","variables":"{}"}', '{"query":"{ portfolioRoots { id } }","variables":[]}', '{"query":"{ portfolioRoots { id } }","variables":1}',
      '{"query":"{ portfolioRoots { id } }","variables":null}', '{"query":"{ portfolioRoots { id } }"} {"query":"{ portfolioRoots { id } }"}',
      `[{${valid}},{${valid}}]`, `[{${valid}}]`, `[${Array.from({ length: 1_000 }, () => `{${valid}}`).join(',')}]`,
      `{"query":"{ portfolioRoots { id } }","query":"mutation { closePosition(id: \\"${fx.positions[0]}\\") { id } }"}`,
      '{"query":"mutation M { closePosition(id: \\"x\\") { id } } query Q { portfolioRoots { id } }"}',
      '{"query":"mutation M { closePosition(id: \\"x\\") { id } } query Q { portfolioRoots { id } }","operationName":"Q"}',
      '{"query":"subscription { portfolioRoots { id } }"}', '{"query":"{ __schema { types { name } } }"}', '{"query":"{ __typename }"}',
      '{"query":"{ __type(name: \\"PortfolioNode\\") { fields { name } } }"}',
      '{"query":"fragment A on Query { ...B } fragment B on Query { ...A } { ...A }"}',
      '{"query":"fragment A on Query { portfolioRoots { ...A } } { ...A }"}',
      `{"query":"{ ${Array.from({ length: 2_000 }, (_v, i) => `a${i}: portfolioRoots { id }`).join(' ')} }"}`,
      `{"query":"{ portfolioRoots { id ${'@include(if: true) '.repeat(500)}} }"}`,
      `{"query":"query(${Array.from({ length: 1_000 }, (_v, i) => `$v${i}: Int`).join(', ')}) { portfolioRoots { id } }"}`,
      `{"query":"{ portfolioNode(id: \\"${'x'.repeat(40_000)}\\") { id } }"}`,
      `{"query":"\\ufeff{ portfolioRoots { id } }"}`, '{"query":"{ portfolioRoots { id } }\\u0000"}', '{"query":"{ portfolioRoots { id \\ud800 } }"}',
      '{"query":"{ portfolioRoots { id } } # \\ud800"}', `{"query":"{ portfolioNodes(first: ${'9'.repeat(400)}) { totalCount } }"}`,
      `{"query":"{ portfolioNodes(first: 1e400) { totalCount } }"}`, '{"query":"{ portfolioNodes(first: -0) { totalCount } }"}',
      `{"query":"mutation { openPosition(input: {nodeId: \\"${fx.nodes.BOOK[0]}\\", instrumentId: \\"${fx.instruments[0]}\\", quantity: 1e400, baseCurrency: \\"USD\\"}) { id } }"}`,
      `{"query":"mutation { openPosition(input: {nodeId: \\"${fx.nodes.BOOK[0]}\\", instrumentId: \\"${fx.instruments[0]}\\", quantity: ${'9'.repeat(40)}, baseCurrency: \\"USD\\"}) { id } }"}`,
      `{"query":"mutation { openPosition(input: {nodeId: \\"${fx.nodes.BOOK[0]}\\", instrumentId: \\"${fx.instruments[0]}\\", quantity: NaN, baseCurrency: USD}) { id } }"}`,
    ];
    for (const body of bodies) await attempt(g, body);
    // Variables that are prototypes' own keys, in every input object of a mutation.
    for (const key of ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__']) {
      const input = objectOf([['name', 'Proto node'], ['nodeType', 'FUND'], ['baseCurrency', 'USD'], [key, { name: 'x', nodeType: 'DESK' }], ['tags', objectOf([[key, { polluted: 'yes' }]])]]);
      await attempt(g, encodeJson({ query: CREATE, variables: { input } }), { mutation: 'createPortfolioNode' });
      await attempt(g, encodeJson({ query: CREATE, variables: objectOf([['input', { name: 'Proto node 2', nodeType: 'FUND', baseCurrency: 'USD' }], [key, { input: { name: 'x' } }]]) }), { mutation: 'createPortfolioNode' });
    }
    expect(prototypePollution()).toEqual([]);
    expect(await alive(api.url)).toBe(true);
    expect(groupReport(g)).toBe('');
  });
});

describe('content types, encodings and methods', () => {
  it('answers odd content types, charsets, encodings and GETs with well-formed errors', async () => {
    const g = 'http';
    const body = JSON.stringify({ query: '{ portfolioRoots { id } }' });
    const mediaStatuses = [200, 400, 413, 415];
    for (const type of ['text/plain', 'application/graphql', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/json; charset=utf-16',
      'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;;', 'application/json; charset="\u00ff"', '*/*', 'application/graphql-response+json', 'application/xml', 'x/x', '']) {
      await attempt(g, body, { headers: { 'content-type': type }, statuses: mediaStatuses });
    }
    await attempt(g, body, { headers: {}, statuses: mediaStatuses });
    await attempt(g, Buffer.from(body, 'utf16le'), { headers: { 'content-type': 'application/json; charset=utf-16' }, statuses: mediaStatuses });
    await attempt(g, gzipSync(b(body)), { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, statuses: mediaStatuses });
    for (const encoding of ['gzip', 'deflate', 'br', 'x-unknown', 'identity', 'gzip, gzip']) {
      await attempt(g, body, { headers: { 'content-type': 'application/json', 'content-encoding': encoding }, statuses: mediaStatuses });
    }
    // A gzip bomb: 64 MiB of spaces compressed to a few KB must not be inflated past the body limit.
    await attempt(g, gzipSync(Buffer.concat([b('{"query":"{ portfolioRoots { id } }","x":"'), Buffer.alloc(64 * 1024 * 1024, 0x20), b('"}')])), { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, statuses: mediaStatuses });
    for (const path of [
      '/graphql?query=%7B%20portfolioRoots%20%7B%20id%20%7D%20%7D', '/graphql?query=mutation%20%7B%20closePosition(id%3A%22x%22)%20%7B%20id%20%7D%20%7D',
      '/graphql?query=%7B%20portfolioRoots%20%7B%20id%20%7D%20%7D&variables=%7B', '/graphql?query=%00', '/graphql?query=%ED%A0%80', '/graphql?query[]=1&query[]=2',
      '/graphql?variables=%7B%22__proto__%22%3A1%7D&query=%7B%20__typename%20%7D', `/graphql?query=${'%7B'.repeat(5_000)}`, '/graphql?extensions=%7B%22persistedQuery%22%3A1%7D',
    ]) {
      for (const headers of [{}, { 'apollo-require-preflight': 'true' }] as Record<string, string>[]) {
        findings.count(g);
        const answer = await get(api.url, path, headers);
        const problems = judge(answer, { sent: safeDecode(path).slice(0, 20_000), statuses: [200, 400, 405, 413, 414, 431], log: api.log });
        findings.outcome(g, answer.dropped ? 'dropped' : `GET ${answer.status}`);
        findings.record(g, problems, `GET ${path.slice(0, 200)} ${JSON.stringify(headers)}`);
      }
    }
    expect(await alive(api.url)).toBe(true);
    expect(groupReport(g)).toBe('');
  }, 120_000);
});

describe('random bodies (fast-check)', () => {
  const VALID_QUERIES = () => [
    `{ portfolioNode(id: "${fx.nodes.FUND[0]}") { id name children { id } positions(first: 2) { totalCount } marketValue(asOf: "2026-10-30") { amount currency } } }`,
    `mutation { createPortfolioNode(input: {name: "Fuzz", nodeType: DESK, parentId: "${fx.nodes.FUND[1]}", baseCurrency: "EUR", tags: {a: [1, "x", null]}}) { id nodeType baseCurrency tags depth parent { id nodeType } } }`,
    `mutation { openPosition(input: {nodeId: "${fx.nodes.BOOK[1]}", instrumentId: "${fx.instruments[1]}", quantity: "12.5", baseCurrency: "USD"}) { id quantity baseCurrency status node { id nodeType } instrument { id } } }`,
    '{ referenceEntities(search: "Bank", first: 3) { edges { cursor node { id name } } } fxRate(base: "EUR", quote: "JPY", asOf: "2026-10-30") { rate } }',
  ];

  it('answers random bytes, random JSON bodies and random edits of valid queries with data or well-formed errors', async () => {
    const g = 'fuzz';
    const bytes = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a));
    const jsonBody = fc.record({
      query: fc.oneof(fc.constantFrom(...VALID_QUERIES()), fc.string({ unit: 'binary', maxLength: 60 }), fc.jsonValue({ maxDepth: 2 })),
      variables: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 3 }), fc.object({ maxDepth: 2, key: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'id', 'input')) })),
      operationName: fc.oneof(fc.constant(undefined), fc.string({ unit: 'binary', maxLength: 12 }), fc.jsonValue({ maxDepth: 1 })),
      extensions: fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 2 })),
    }, { requiredKeys: [] });
    const edit = fc.tuple(
      fc.nat({ max: VALID_QUERIES().length - 1 }),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.oneof(fc.constantFrom('', '{', '}', '(', ')', '"', '\\', '\\u', '\u0000', '\ud800', '$', '@', '...', '#', ':', ',', '!', '[', ']', '1e400', 'NaN', '__proto__', 'mutation', 'fragment F on Query { ...F }'), fc.string({ unit: 'binary', maxLength: 4 }))), { minLength: 1, maxLength: 3 }),
    ).map(([which, edits]) => {
      let text = VALID_QUERIES()[which]!;
      for (const [at, del, ins] of edits) {
        const i = at % (text.length + 1);
        text = text.slice(0, i) + ins + text.slice(i + del);
      }
      return text;
    });
    const request = fc.oneof(
      { weight: 1, arbitrary: bytes.map((body) => ({ body, kind: 'bytes' })) },
      { weight: 2, arbitrary: jsonBody.map((v) => ({ body: encodeJson(objectOf(Object.entries(v).filter(([, x]) => x !== undefined)), { wtf8: true }), kind: 'json' })) },
      { weight: 4, arbitrary: edit.map((query) => ({ body: encodeJson({ query }, { wtf8: true }), kind: 'edit' })) },
      { weight: 1, arbitrary: edit.map((query) => ({ body: encodeJson({ query }), kind: 'edit-escaped' })) },
    );
    await fc.assert(fc.asyncProperty(request, async ({ body, kind }) => {
      const answer = await attempt(`${g} (${kind})`, body);
      const mutation = /createPortfolioNode|openPosition/.exec(body.toString('utf8'))?.[0];
      const data = succeeded(answer) ? (answer.body!.data as Record<string, { id?: string } | null | undefined>) : undefined;
      if (mutation === 'createPortfolioNode' && data?.createPortfolioNode?.id) ledger.nodes.add(data.createPortfolioNode.id);
      if (mutation === 'openPosition' && data?.openPosition?.id) ledger.positions.add(data.openPosition.id);
    }), fcParams(1_200));
    expect(await alive(api.url)).toBe(true);
    expect(groupReport(g)).toBe('');
  }, 120_000);
});

describe('after the hostile requests', () => {
  it('keeps the process up and stores nothing invalid or unaccounted for', async () => {
    expect(await alive(api.url)).toBe(true);
    const after = await tableState(t.db.sql);
    expect([...(await storedDataProblems(t.db.sql)), ...growthProblems(before, after, ledger), ...prototypePollution()]).toEqual([]);
  });
});

