import { contentHash } from '../../src/domain/contentHash';
import { isValidCusip, isValidIsin, isValidLei } from '../../src/domain/identifiers';
import { ratingScore } from '../../src/domain/ratings';
import { worldContentHash } from '../../src/services/seed/load';
import { positionChunks } from '../../src/services/seed/positions';
import { apportion } from '../../src/services/seed/random';
import { buildWorld, DEFAULT_SEED_OPTIONS, monthEndDates } from '../../src/services/seed/world';

const options = { ...DEFAULT_SEED_OPTIONS, positions: 3_000 };

describe('seed generator', () => {
  it('is deterministic: the same seed gives the same content, another seed other content', () => {
    const a = worldContentHash(buildWorld(options));
    expect(worldContentHash(buildWorld(options))).toBe(a);
    expect(worldContentHash(buildWorld({ ...options, seed: options.seed + 1 }))).not.toBe(a);
    expect(worldContentHash(buildWorld({ ...options, positions: options.positions + 1 }))).not.toBe(a);
  });

  it('does not depend on the chunk size', () => {
    const world = buildWorld(options);
    const ids = (size: number) => [...positionChunks(world, size)].flatMap((c) => c.positions.map((p) => p.id));
    const big = ids(1_000_000);
    expect(big).toHaveLength(options.positions);
    expect(ids(50)).toEqual(big);
  });

  it('builds identifiers that pass their check digits and are unique', () => {
    const world = buildWorld(options);
    const isins = world.instruments.flatMap((i) => (i.isin ? [i.isin] : []));
    const cusips = world.instruments.flatMap((i) => (i.cusip ? [i.cusip] : []));
    const tickers = world.instruments.flatMap((i) => (i.ticker ? [i.ticker] : []));
    const leis = world.referenceData.flatMap((r) => (r.lei ? [r.lei] : []));
    expect(isins.length).toBeGreaterThan(100);
    expect(cusips.length).toBeGreaterThan(10);
    expect(leis.length).toBe(world.referenceData.filter((r) => r.entity_type === 'ISSUER').length);
    expect(isins.filter((x) => !isValidIsin(x))).toEqual([]);
    expect(cusips.filter((x) => !isValidCusip(x))).toEqual([]);
    expect(leis.filter((x) => !isValidLei(x))).toEqual([]);
    for (const list of [isins, cusips, tickers, leis]) expect(new Set(list).size).toBe(list.length);
  });

  it('builds a realistic world: four levels, subsidiaries, ratings of all four agencies, valid FX feeds', () => {
    const world = buildWorld(options);
    const types = new Set(world.nodes.map((n) => n.node_type));
    expect([...types].sort()).toEqual(['BOOK', 'DESK', 'FUND', 'STRATEGY']);
    expect(world.nodes.filter((n) => n.node_type === 'FUND')).toHaveLength(options.funds);
    const issuers = world.referenceData.filter((r) => r.entity_type === 'ISSUER');
    expect(issuers.some((i) => i.parent_entity_id !== null)).toBe(true);
    expect(issuers.every((i) => i.sector_id && i.geography_id)).toBe(true);
    expect(new Set(world.ratings.map((r) => r.agency))).toEqual(new Set(['SP', 'MOODYS', 'FITCH', 'DBRS']));
    expect(world.ratings.filter((r) => ratingScore(r.agency, r.rating) === null)).toEqual([]);
    const keys = world.ratings.map((r) => `${r.entity_id}/${r.agency}/${r.as_of_date}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const feed of world.fxFeeds) {
      expect(feed.payload_hash).toBe(contentHash(feed.payload));
      expect(feed.payload.rates.every((r) => /^\d+(\.\d+)?$/.test(r.rate))).toBe(true);
    }
    expect(new Set(world.instruments.map((i) => i.currency)).size).toBeGreaterThanOrEqual(5);
  });

  it('gives the largest fund about 40% of the positions and writes exact decimal amounts', () => {
    const world = buildWorld(options);
    const fundOf = new Map<string, string>();
    const parent = new Map(world.nodes.map((n) => [n.id, n.parent_id]));
    for (const n of world.nodes) {
      let id: string | null = n.id;
      while (parent.get(id as string)) id = parent.get(id as string) as string;
      fundOf.set(n.id, id as string);
    }
    const perFund = new Map<string, number>();
    const values: string[] = [];
    for (const chunk of positionChunks(world, 10_000)) {
      for (const p of chunk.positions) perFund.set(fundOf.get(p.portfolio_node_id)!, (perFund.get(fundOf.get(p.portfolio_node_id)!) ?? 0) + 1);
      values.push(...chunk.valuations.map((v) => v.market_value));
    }
    const largest = Math.max(...perFund.values()) / options.positions;
    expect(largest).toBeGreaterThan(0.35);
    expect(largest).toBeLessThan(0.5);
    expect(values.filter((v) => !/^-?\d+\.\d{2}$/.test(v))).toEqual([]);
  });
});

describe('helpers', () => {
  it('apportions exactly', () => {
    expect(apportion(10, [1, 1, 1])).toEqual([4, 3, 3]);
    expect(apportion(7, [0.5, 0.25, 0.25]).reduce((a, b) => a + b)).toBe(7);
  });

  it('picks month-end weekdays ending at the as-of date', () => {
    expect(monthEndDates('2026-10-30', 4)).toEqual(['2026-07-31', '2026-08-31', '2026-09-30', '2026-10-30']);
    expect(monthEndDates('2026-06-30', 2)).toEqual(['2026-05-29', '2026-06-30']);
  });
});
