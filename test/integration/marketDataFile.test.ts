// importFeedFile (the `npm run ingest` importer for fx, ratings, curve and
// spreads files): CSV and JSON files written to the temp directory go through
// the same service as the API, with lineage source system "cli".
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importFeedFile } from '../../src/cli/ingestFeedFile';
import { leiCheckDigits } from '../../src/domain/identifiers';
import { DomainError } from '../../src/errors';
import type { ReferenceData } from '../../src/generated/prisma/client';
import { createIssuer } from '../support/factories';
import { createTestDatabase, type TestDatabase } from '../support/testDatabase';

let t: TestDatabase;
let dir: string;
let issuer: ReferenceData;

const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

async function count(table: string): Promise<number> {
  const [row] = await t.db.sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return row!.n;
}

async function lineageOf(feedId: string) {
  return t.db.prisma.dataLineage.findMany({ where: { feedId } });
}

async function rejected(promise: Promise<unknown>, field: string, message: RegExp) {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  expect(error).toMatchObject({ code: 'BAD_USER_INPUT', field });
  expect((error as Error).message).toMatch(message);
}

beforeAll(async () => {
  t = await createTestDatabase();
  dir = mkdtempSync(join(tmpdir(), 'pds-feed-files-'));
  const body = '529900FILEIMPORT00';
  issuer = await createIssuer(t.db, { name: 'File Co', lei: `${body}${leiCheckDigits(body)}`, ticker: 'FILECO' });
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await t?.drop();
});

describe('importFeedFile', () => {
  it('imports an fx CSV file as a PASS FX snapshot, with cli lineage, once', async () => {
    const path = file('fx.csv', '\uFEFFPair , Rate\nEURUSD,1.0850\nGBPUSD,1.2700\n\n');
    const result = await importFeedFile(t.db, 'fx', path, { asOf: day(1) });
    expect(result).toMatchObject({ status: 'PASS', created: true });
    expect(result.summary).toContain('FX_SPOT feed');
    const feed = await t.db.prisma.marketDataFeed.findUniqueOrThrow({ where: { id: result.feedId } });
    expect(feed).toMatchObject({ source: 'fx.csv', payloadJson: { rates: [{ pair: 'EURUSD', rate: '1.0850' }, { pair: 'GBPUSD', rate: '1.2700' }] } });
    expect(await count('fx_spot')).toBe(2);
    const [lineage] = await lineageOf(result.feedId);
    expect(lineage).toMatchObject({ sourceSystem: 'cli', transformationChain: ['read fx.csv', 'parse csv', 'ingestMarketData'] });
    expect(lineage!.metadataJson).toMatchObject({ kind: 'fx', rows: 2, file: path, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const again = await importFeedFile(t.db, 'fx', path, { asOf: day(1) });
    expect(again).toMatchObject({ feedId: result.feedId, created: false, status: 'PASS' });
    expect(again.summary).toContain('already stored');
    expect(await lineageOf(result.feedId)).toHaveLength(1);
  });

  it('imports a ratings CSV whose header names the identifier column', async () => {
    const path = file('ratings.csv', 'lei,agency,rating\n' + `${issuer.lei},SP,BBB+\n` + `${issuer.lei},MOODYS,"Baa1"\n`);
    const result = await importFeedFile(t.db, 'ratings', path, { asOf: day(2), source: 'agency-file' });
    expect(result).toMatchObject({ status: 'PASS', created: true });
    const ratings = await t.db.prisma.ratingHistory.findMany({ where: { entityId: issuer.id }, orderBy: { agency: 'asc' } });
    expect(ratings.map((r) => [r.agency, r.rating])).toEqual([['SP', 'BBB+'], ['MOODYS', 'Baa1']]);
  });

  it('imports curve and spreads CSV files, and reports their failures', async () => {
    const curve = file('curve.csv', 'currency,tenor,rate,discount_factor\n' + ['1Y,0.96', '2Y,0.92', '5Y,0.82', '10Y,0.67'].map((r) => `USD,${r.split(',')[0]},0.04,${r.split(',')[1]}`).join('\n'));
    const failed = await importFeedFile(t.db, 'curve', curve, { asOf: day(0) });
    expect(failed.status).toBe('FAIL');
    expect(failed.summary).toContain('curve.required_tenors FAIL');
    const spreads = file('spreads.csv', 'ticker,tenor,bps\nFILECO,5Y,125.5\nFILECO,10Y,140\n');
    expect(await importFeedFile(t.db, 'spreads', spreads, { asOf: day(0) })).toMatchObject({ status: 'PASS', created: true });
  });

  it('imports a JSON file holding the payload, or an envelope with asOfDate and source', async () => {
    const points = ['1Y', '2Y', '5Y', '10Y', '30Y'].map((tenor, i) => ({ tenor, rate: '0.04', discountFactor: `0.${9 - i}` }));
    const envelope = file('curve.json', JSON.stringify({ asOfDate: day(3), source: 'ECB', payload: { currency: 'EUR', points } }));
    const result = await importFeedFile(t.db, 'curve', envelope, {});
    expect(result).toMatchObject({ status: 'PASS', created: true });
    const feed = await t.db.prisma.marketDataFeed.findUniqueOrThrow({ where: { id: result.feedId } });
    expect([feed.source, feed.asOfDate.toISOString().slice(0, 10), feed.feedType]).toEqual(['ECB', day(3), 'YIELD_CURVE']);
    expect((await lineageOf(result.feedId))[0]!.transformationChain).toEqual(['read curve.json', 'parse json', 'ingestMarketData']);
    const bare = file('fx.json', JSON.stringify({ rates: [{ pair: 'USDJPY', rate: '150.1' }] }));
    expect(await importFeedFile(t.db, 'fx', bare, { asOf: day(0), source: 'bare' })).toMatchObject({ status: 'PASS', created: true });
  });

  it('rejects files it cannot read as BAD_USER_INPUT naming the problem', async () => {
    await rejected(importFeedFile(t.db, 'fx', join(dir, 'missing.csv'), {}), 'file', /ENOENT/);
    await rejected(importFeedFile(t.db, 'fx', file('cols.csv', 'currency,rate\nEURUSD,1\n'), {}), 'file', /no "pair" column/);
    await rejected(importFeedFile(t.db, 'ratings', file('ids.csv', 'lei,isin,agency,rating\nx,y,SP,A\n'), {}), 'file', /exactly one identifier column/);
    await rejected(importFeedFile(t.db, 'fx', file('broken.json', '{"rates": ['), {}), 'file', /not valid JSON/);
    await rejected(importFeedFile(t.db, 'fx', file('quote.csv', 'pair,rate\n"EURUSD,1\n'), {}), 'file', /not valid CSV/);
    await rejected(importFeedFile(t.db, 'fx', file('empty.csv', 'pair,rate\n'), {}), 'file', /no data rows/);
    await rejected(importFeedFile(t.db, 'fx', file('ok.csv', 'pair,rate\nEURUSD,1\n'), { asOf: '2025-13-01' }), 'asOf', /calendar date/);
  });
});
