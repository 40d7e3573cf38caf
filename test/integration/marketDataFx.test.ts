// FX_SPOT ingestion through HTTP on a real database: a PASS feed becomes the FX
// snapshot fxRate uses (the end-to-end proof), WARN feeds too, a FAIL feed is
// stored with its reasons and changes nothing else; lineage is readable; the
// same payload is stored once, also under 10 concurrent identical requests.
import currencyCodes from 'currency-codes';
import { contentHash } from '../../src/domain/contentHash';
import { findFxFeedsAt } from '../../src/services/analytics/fx';
import { graphql, serviceHeaders, startService, type RunningService } from '../support/http';
import { createTestDatabase, onPostgres, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let api: RunningService;

const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
const FEED_FIELDS = `id feedType asOfDate source payloadHash payload validationStatus createdAt
  checks { name status message observed threshold }
  lineage { id sourceSystem transformationChain qualityChecks metadata feed { id } }`;
const INGEST = `mutation($input: MarketDataInput!) { ingestMarketData(input: $input) { ${FEED_FIELDS} } }`;
const FX_RATE = `query($base: Currency!, $quote: Currency!, $asOf: Date!) {
  fxRate(base: $base, quote: $quote, asOf: $asOf) { rate derivation asOfDate feed { id } } }`;

type Feed = { id: string; validationStatus: string; payloadHash: string; payload: unknown; checks: { name: string; status: string; message: string; observed: any; threshold: any }[]; lineage: any[] };

const fxInput = (asOfDate: string, rates: [string, string | number][], source = 'BFIX') => ({
  feedType: 'FX_SPOT', asOfDate, source,
  payload: { rates: rates.map(([pair, rate]) => ({ pair, rate })) },
  lineage: { sourceSystem: 'bloomberg', transformationChain: ['download', 'map columns'], metadata: { requestId: 'r-1' } },
});

async function ingest(input: Record<string, unknown>): Promise<Feed> {
  const res = await graphql(api.url, INGEST, { input });
  expect(res.errors).toBeUndefined();
  return res.data!.ingestMarketData as Feed;
}

async function count(table: string): Promise<number> {
  const [row] = await t.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return row!.n;
}

const fxRate = (base: string, quote: string, asOf: string) => graphql(api.url, FX_RATE, { base, quote, asOf });
const checkOf = (feed: Feed, name: string) => feed.checks.find((c) => c.name === name)!;

beforeAll(async () => {
  t = await createTestDatabase();
  api = await startService(t.db);
});
afterAll(async () => {
  await api?.stop();
  await t?.drop();
});

describe('FX_SPOT feeds', () => {
  let first: Feed;
  let warned: Feed;

  it('stores a PASS feed whose rates fxRate then uses (direct and triangulated)', async () => {
    first = await ingest(fxInput(day(3), [['EURUSD', '1.0850'], ['GBPUSD', '1.2700'], ['USDJPY', '150.25'], ['EURGBP', '0.8543']]));
    expect(first.validationStatus).toBe('PASS');
    expect(first.checks.every((c) => c.status === 'PASS')).toBe(true);
    expect(first.checks.map((c) => c.name)).toEqual([
      'asOfDate.not_future', 'asOfDate.fresh', 'payload.shape', 'fx.pair_format', 'fx.rate_format', 'fx.duplicate_pair',
      'fx.inverse_consistency', 'fx.cross_consistency', 'fx.move_vs_previous',
    ]);
    expect(await count('fx_spot')).toBe(4);
    const direct = await fxRate('EUR', 'USD', day(3));
    expect(direct.data!.fxRate).toEqual({ rate: '1.085', derivation: 'DIRECT', asOfDate: day(3), feed: { id: first.id } });
    const cross = await fxRate('GBP', 'JPY', day(0));
    expect(cross.data!.fxRate).toMatchObject({ rate: '190.8175', derivation: 'TRIANGULATED', feed: { id: first.id } });
    const before = await fxRate('EUR', 'USD', day(4));
    expect(before.errors![0]!.extensions).toMatchObject({ code: 'FX_RATE_NOT_FOUND', pairs: ['EURUSD'] });
  });

  it('records the lineage with the checks, readable through marketDataFeed', async () => {
    const res = await graphql(api.url, `query($id: ID!) { marketDataFeed(id: $id) { ${FEED_FIELDS} } }`, { id: first.id.toUpperCase() });
    const feed = res.data!.marketDataFeed as Feed;
    expect(feed.lineage).toEqual([{
      id: expect.any(String), sourceSystem: 'bloomberg', transformationChain: ['download', 'map columns'],
      qualityChecks: first.checks, metadata: { requestId: 'r-1' }, feed: { id: first.id },
    }]);
    expect(feed.payload).toEqual({ rates: [
      { pair: 'EURUSD', rate: '1.0850' }, { pair: 'GBPUSD', rate: '1.2700' }, { pair: 'USDJPY', rate: '150.25' }, { pair: 'EURGBP', rate: '0.8543' },
    ] });
    // The hash can be recomputed from the stored payload: SHA-256 of its RFC 8785 JSON.
    expect(feed.payloadHash).toBe(contentHash(feed.payload));
  });

  it('warns on a move beyond 5% against the previous feed, and still uses the rates', async () => {
    warned = await ingest(fxInput(day(2), [['EURUSD', '1.1500']]));
    expect(warned.validationStatus).toBe('WARN');
    const move = checkOf(warned, 'fx.move_vs_previous');
    expect(move).toMatchObject({ status: 'WARN', threshold: '5', observed: { max: '5.9907834101', offenders: [{ label: 'EURUSD', previousRate: '1.085' }] } });
    expect(move.message).toContain(first.id);
    expect(await count('fx_spot')).toBe(5);
    expect((await fxRate('EUR', 'USD', day(2))).data!.fxRate).toMatchObject({ rate: '1.15', feed: { id: warned.id } });
  });

  it('stores a FAIL feed (inverse inconsistent) with its reasons and changes nothing else', async () => {
    const [spots, ratings, lineage] = [await count('fx_spot'), await count('rating_history'), await count('data_lineage')];
    const failed = await ingest(fxInput(day(1), [['EURUSD', '1.15'], ['USDEUR', '0.80']]));
    expect(failed.validationStatus).toBe('FAIL');
    expect(checkOf(failed, 'fx.inverse_consistency')).toMatchObject({ status: 'FAIL', threshold: '0.0001', observed: { max: '0.08' } });
    expect(await count('fx_spot')).toBe(spots);
    expect(await count('rating_history')).toBe(ratings);
    expect(await count('data_lineage')).toBe(lineage + 1);
    expect((await fxRate('EUR', 'USD', day(1))).data!.fxRate).toMatchObject({ rate: '1.15', feed: { id: warned.id } });
  });

  it('warns on a cross rate away from its USD legs', async () => {
    const feed = await ingest(fxInput(day(1), [['EURUSD', '1.15'], ['GBPUSD', '1.27'], ['EURGBP', '0.95']], 'WMR'));
    expect(feed.validationStatus).toBe('WARN');
    expect(checkOf(feed, 'fx.cross_consistency')).toMatchObject({ status: 'WARN', threshold: '0.5', observed: { offenders: [{ label: 'EURGBP' }] } });
    expect(checkOf(feed, 'fx.move_vs_previous').status).toBe('PASS');
  });

  it('fails malformed pairs, rates and duplicates without an error', async () => {
    const feed = await ingest(fxInput(day(1), [['EURABC', '1'], ['GBPUSD', '-1'], ['USDJPY', '150.1234567890123'], ['EURUSD', 'n/a'], ['CHFJPY', '170'], ['chfjpy', '171']], 'BAD'));
    expect(feed.validationStatus).toBe('FAIL');
    expect(feed.checks.filter((c) => c.status === 'FAIL').map((c) => c.name)).toEqual(['fx.pair_format', 'fx.rate_format', 'fx.duplicate_pair']);
    expect(checkOf(feed, 'fx.rate_format').observed).toHaveLength(3);
  });
});

describe('content addressing', () => {
  const DEDUP = (payload: unknown) => ({ ...fxInput(day(5), []), source: 'DEDUP', payload });

  it('stores the same payload once, whatever its key order, and writes nothing the second time', async () => {
    const a = await ingest(DEDUP({ rates: [{ pair: 'AUDNZD', rate: '1.0850' }, { pair: 'NZDCAD', rate: '0.83' }] }));
    const [feeds, lineage, spots] = [await count('market_data_feed'), await count('data_lineage'), await count('fx_spot')];
    const b = await ingest(DEDUP({ rates: [{ rate: '1.0850', pair: 'AUDNZD' }, { rate: '0.83', pair: 'NZDCAD' }] }));
    expect(b.id).toBe(a.id);
    expect(b.payloadHash).toBe(a.payloadHash);
    expect([await count('market_data_feed'), await count('data_lineage'), await count('fx_spot')]).toEqual([feeds, lineage, spots]);
  });

  it('hashes numeric strings as sent: "1.085" is another payload than "1.0850"', async () => {
    const a = await ingest(DEDUP({ rates: [{ pair: 'AUDNZD', rate: '1.0850' }, { pair: 'NZDCAD', rate: '0.83' }] }));
    const b = await ingest(DEDUP({ rates: [{ pair: 'AUDNZD', rate: '1.085' }, { pair: 'NZDCAD', rate: '0.83' }] }));
    expect(b.id).not.toBe(a.id);
    expect(b.payloadHash).not.toBe(a.payloadHash);
  });

  it('treats the JSON numbers 1.0 and 1 as the same payload', async () => {
    const send = async (rateText: string) => {
      const variables = JSON.stringify({ input: DEDUP({ rates: [{ pair: 'AUDCAD', rate: 0 }] }) }).replace('"rate":0', `"rate":${rateText}`);
      const response = await fetch(`${api.url}/graphql`, {
        method: 'POST', headers: { 'content-type': 'application/json', ...serviceHeaders(api.url) }, body: `{"query":${JSON.stringify(INGEST)},"variables":${variables}}`,
      });
      const body = (await response.json()) as { data: { ingestMarketData: Feed } };
      return body.data.ingestMarketData;
    };
    const a = await send('1.0');
    const b = await send('1');
    expect(b.id).toBe(a.id);
    expect(a.validationStatus).not.toBe('FAIL');
  });

  it('answers 10 concurrent identical requests with one feed and no error', async () => {
    const input = { ...fxInput(day(6), [['SEKNOK', '0.98'], ['NOKSEK', '1.0204']]), source: 'CONCURRENT' };
    const [feeds, lineage, spots] = [await count('market_data_feed'), await count('data_lineage'), await count('fx_spot')];
    const answers = await Promise.all(Array.from({ length: 10 }, () => graphql(api.url, INGEST, { input })));
    expect(answers.map((a) => a.errors)).toEqual(Array(10).fill(undefined));
    const ids = new Set(answers.map((a) => a.data!.ingestMarketData.id));
    expect(ids.size).toBe(1);
    expect([await count('market_data_feed'), await count('data_lineage'), await count('fx_spot')]).toEqual([feeds + 1, lineage + 1, spots + 2]);
  });

  it('returns the feed another transaction stored meanwhile (ON CONFLICT DO NOTHING, then read back)', async () => {
    const input = { ...fxInput(day(6), [['DKKSEK', '1.52']]), source: 'RACE' };
    const before = await count('data_lineage');
    let signal: () => void = () => undefined;
    const inserted = new Promise<void>((resolve) => { signal = resolve; });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let rival = '';
    const holder = t.db.sql.transaction(async (tx) => {
      const [row] = await tx.query<{ id: string }>(
        `INSERT INTO market_data_feed (feed_type, as_of_date, source, payload_json, payload_hash, validation_status)
         VALUES ('FX_SPOT', $1::date, 'RACE', $2::jsonb, $3, 'PASS') RETURNING id::text AS id`,
        [input.asOfDate, JSON.stringify(input.payload), contentHash(input.payload)],
      );
      rival = row!.id;
      signal();
      await gate;
    });
    await inserted;
    const call = graphql(api.url, INGEST, { input });
    // On PostgreSQL, wait until the request blocks on the unique index behind the open transaction.
    for (let i = 0; onPostgres && i < 100; i++) {
      const [waiting] = await t.db.sql.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted');
      if (waiting!.n > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    release();
    await holder;
    const res = await call;
    expect(res.errors).toBeUndefined();
    expect(res.data!.ingestMarketData.id).toBe(rival);
    expect(await count('data_lineage')).toBe(before);
  });
});

describe('statements', () => {
  async function statementsToIngest(asOf: string, size: number): Promise<number> {
    const codes = currencyCodes.codes().filter((c) => /^[A-Z]{3}$/.test(c));
    const pairs = codes.flatMap((a, i) => codes.slice(i + 1).map((b) => `${a}${b}`)).slice(0, size);
    let statements = 0;
    const unsubscribe = t.db.onQuery(() => statements++);
    const feed = await ingest({ ...fxInput(asOf, pairs.map((p) => [p, '1.5'])), source: `SIZE-${size}` });
    unsubscribe();
    expect(feed.validationStatus).not.toBe('FAIL');
    expect(await count(`fx_spot WHERE snapshot_id = '${feed.id}'`)).toBe(size);
    return statements;
  }

  it('ingests a feed of 1,000 rates with as many statements as one of 3', async () => {
    const small = await statementsToIngest(day(21), 3);
    const large = await statementsToIngest(day(20), 1_000);
    // eslint-disable-next-line no-console
    console.log(`statements to ingest an FX_SPOT feed: ${small} (3 rates) and ${large} (1,000 rates)`);
    expect(large).toBe(small);
    expect(small).toBeLessThanOrEqual(10);
  });
});

describe('fxRate in one statement', () => {
  const FIELDS = 'base quote rate asOfDate derivation feed { id source validationStatus asOfDate createdAt payload }';
  // (FxRate is non-null: one rate not found would null the whole answer, so every one asked here exists.)
  const asks: [string, string, string, boolean][] = [
    ['EUR', 'USD', day(3), false], ['USD', 'GBP', day(3), false], ['GBP', 'JPY', day(3), false], ['EUR', 'USD', day(0), true],
    ['EUR', 'USD', day(0), false], ['EUR', 'EUR', day(3), false], ['GBP', 'USD', day(3), false],
  ];

  it('reads the feeds of every date asked in one statement, each answer as asked alone, the feed as stored', async () => {
    // Just after the first of the last days' feeds was recorded (a DateTime has milliseconds): fxRate known then uses it.
    const [{ at }] = (await t.db.sql.query<{ at: string }>(
      `SELECT to_char((date_trunc('milliseconds', min(recorded_at)) + interval '1 millisecond') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM market_data_feed WHERE feed_type = 'FX_SPOT' AND as_of_date >= $1::date`, [day(3)])) as [{ at: string }];
    const field = ([base, quote, asOf, known]: (typeof asks)[number], i: number) =>
      `r${i}: fxRate(base: "${base}", quote: "${quote}", asOf: "${asOf}"${known ? `, knownAt: "${at}"` : ''}) { ${FIELDS} }`;
    const query = `{ ${asks.map(field).join('\n')} }`;
    const feedStatements = async (q: string) => {
      const seen: string[] = [];
      const off = t.db.onQuery((e) => seen.push(e.query));
      const res = await graphql(api.url, q);
      off();
      expect(res.errors).toBeUndefined();
      // (Besides the feeds' statements, a knownAt may be settled against the recording horizon.)
      return [res, seen.filter((s) => s.includes('FROM market_data_feed f')).length] as const;
    };
    // Every rate known now: one statement for all of them.
    const now = asks.filter((a) => !a[3]);
    expect((await feedStatements(`{ ${now.map(field).join('\n')} }`))[1]).toBe(1);
    // With a knownAt, the fields asking it are loaded once the request's moment is settled: at most one more.
    const [all, statements] = await feedStatements(query);
    expect(statements).toBeLessThanOrEqual(2);
    for (const [i, ask] of asks.entries()) {
      const alone = await graphql(api.url, `{ ${field(ask, i)} }`);
      expect(alone.errors).toBeUndefined();
      expect(all.data![`r${i}`]).toEqual(alone.data![`r${i}`]);
    }
    expect(all.errors).toBeUndefined();
    // Each kind of answer is there: direct, inverse and triangulated rates, the identity.
    const data = all.data as Record<string, { derivation: string; feed: { id: string } | null }>;
    expect(asks.map((_, i) => data[`r${i}`]!.derivation)).toEqual(['DIRECT', 'INVERSE', 'TRIANGULATED', 'DIRECT', 'DIRECT', 'IDENTITY', 'DIRECT']);
    expect(data.r5!.feed).toBeNull();
    // Known at the earlier moment, the last days' feeds were not yet received.
    expect(data.r3!.feed!.id).not.toBe(data.r4!.feed!.id);
    // The feed read with the rates is the row Prisma reads.
    const [found] = await findFxFeedsAt(t.db.prisma, [{ asOf: day(3), knownAt: null }]);
    expect(found!.feed).toEqual(await t.db.prisma.marketDataFeed.findUnique({ where: { id: found!.feed.id } }));
    const rates = await t.db.prisma.fxSpot.findMany({ where: { snapshotId: found!.feed.id } });
    expect([...found!.rates].map(([pair, rate]) => [pair, rate.toFixed()]).sort()).toEqual(rates.map((r) => [r.pair, r.rate.toFixed()]).sort());
  });
});
