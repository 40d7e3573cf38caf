import { contentHash } from '../../src/domain/contentHash';
import { isValidCusip, isValidIsin, isValidLei } from '../../src/domain/identifiers';
import { ratingScore } from '../../src/domain/ratings';
import { worldBatches, worldContentHash } from '../../src/services/seed/load';
import { positionChunks, type PositionChunk } from '../../src/services/seed/positions';
import { apportion } from '../../src/services/seed/random';
import { buildWorld, DEFAULT_SEED_OPTIONS, monthEndDates, type World } from '../../src/services/seed/world';

const options = { ...DEFAULT_SEED_OPTIONS, positions: 3_000 };
// The moment the seed runs: every recorded time derives from it.
const NOW = new Date('2026-12-04T17:00:00.000Z');
const DAY = 86_400_000;

describe('seed generator', () => {
  it('is deterministic: the same seed and moment give the same content, another seed other content', () => {
    const a = worldContentHash(buildWorld(options, NOW));
    expect(worldContentHash(buildWorld(options, NOW))).toBe(a);
    expect(worldContentHash(buildWorld({ ...options, seed: options.seed + 1 }, NOW))).not.toBe(a);
    expect(worldContentHash(buildWorld({ ...options, positions: options.positions + 1 }, NOW))).not.toBe(a);
  });

  it('seeded at another moment, moves its timestamps only', () => {
    const later = new Date(NOW.getTime() + 3 * DAY + 12_345);
    expect(worldContentHash(buildWorld(options, later))).not.toBe(worldContentHash(buildWorld(options, NOW)));
    expect(timelessHash(buildWorld(options, later))).toBe(timelessHash(buildWorld(options, NOW)));
  });

  it('does not depend on the chunk size', () => {
    const world = buildWorld(options, NOW);
    const rows = (size: number) => {
      const chunks = [...positionChunks(world, size)];
      return [chunks.flatMap((c) => c.positions), chunks.flatMap((c) => c.versions), chunks.flatMap((c) => c.valuations)].map((r) => contentHash(r));
    };
    const big = rows(1_000_000);
    expect([...positionChunks(world, 1_000_000)][0]!.positions).toHaveLength(options.positions);
    expect(rows(50)).toEqual(big);
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

/** Everything but the timestamps, which follow the moment the seed runs. */
function timelessHash(world: World): string {
  const rows = [...worldBatches(world)].map((b) => JSON.stringify(b.rows, (key, value) => (key === 'recorded_at' || key === 'superseded_at' || key === 'last_recorded_at' ? undefined : value)));
  return contentHash(rows);
}

function allChunks(world: World): PositionChunk {
  const all: PositionChunk = { positions: [], versions: [], valuations: [] };
  for (const c of positionChunks(world, 10_000)) {
    all.positions.push(...c.positions);
    all.versions.push(...c.versions);
    all.valuations.push(...c.valuations);
  }
  return all;
}

const groupBy = <T>(rows: T[], key: (row: T) => string) => {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
};
const ms = (moment: string) => Date.parse(moment);
const day = (date: string) => Date.parse(`${date}T00:00:00Z`);

describe('seeded history', () => {
  const world = buildWorld({ ...options, positions: 5_000 }, NOW);
  const { positions, versions, valuations } = allChunks(world);
  const versionsOf = groupBy(versions, (v) => v.position_id);
  const valuationsOf = groupBy(valuations, (v) => v.position_id);
  const dates = world.valuationDates;
  const last = dates[dates.length - 1]!;

  it('opens positions on trade dates spread before and over the period, each on or before its first valuation', () => {
    const opened = new Set(positions.map((p) => p.opened_on));
    expect(opened.size).toBeGreaterThan(60);
    expect(positions.filter((p) => p.opened_on > dates[0]!).length).toBeGreaterThan(positions.length * 0.05);
    for (const p of positions) {
      const own = valuationsOf.get(p.id) ?? [];
      const first = own.reduce((min, v) => (v.as_of_date < min ? v.as_of_date : min), '9999-12-31');
      expect(p.opened_on <= first).toBe(true);
      // Held on each valuation date, and not after a close.
      if (p.closed_on) expect(own.every((v) => v.as_of_date < p.closed_on!)).toBe(true);
    }
  });

  it('keeps versions that tile [opened_on, infinity) as known now and at every recorded moment, and a summary equal to the latest', () => {
    const problems: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (!ok && problems.length < 20) problems.push(what);
    };
    let multi = 0;
    for (const p of positions) {
      const own = versionsOf.get(p.id)!;
      const current = own.filter((v) => v.superseded_at === null).sort((a, b) => (a.valid_from < b.valid_from ? -1 : 1));
      if (current.length > 1) multi++;
      check(current[0]!.valid_from === p.opened_on, `${p.id}: opened_on is the first valid_from`);
      current.forEach((v, i) => check(v.valid_to === (current[i + 1]?.valid_from ?? null), `${p.id}: current versions tile from ${v.valid_from}`));
      const latest = current[current.length - 1]!;
      check(p.quantity === latest.quantity && p.status === latest.status && p.state_from === latest.valid_from
        && p.closed_on === (latest.status === 'CLOSED' ? latest.valid_from : null), `${p.id}: summary of the latest version`);
      if (p.status === 'DELETED') check(current.length === 1, `${p.id}: one DELETED version`);
      for (const v of own) {
        check(v.valid_to === null || v.valid_to > v.valid_from, `${p.id}: non-empty valid range`);
        check(ms(v.recorded_at) > day(v.valid_from) && ms(v.recorded_at) <= NOW.getTime(), `${p.id}: recorded after ${v.valid_from}, not in the future`);
        if (v.superseded_at) {
          check(ms(v.superseded_at) > ms(v.recorded_at) && ms(v.superseded_at) <= NOW.getTime(), `${p.id}: superseded after recorded`);
        }
      }
      // As known at each moment something was recorded: no two versions overlap in valid time.
      for (const at of new Set(own.map((v) => ms(v.recorded_at)))) {
        const known = own.filter((v) => ms(v.recorded_at) <= at && (v.superseded_at === null || ms(v.superseded_at) > at))
          .sort((a, b) => (a.valid_from < b.valid_from ? -1 : 1));
        known.forEach((v, i) => {
          const next = known[i + 1];
          if (next) check(v.valid_to !== null && v.valid_to <= next.valid_from, `${p.id}: no overlap as known at ${new Date(at).toISOString()}`);
        });
      }
    }
    expect(problems).toEqual([]);
    expect(multi).toBeGreaterThan(positions.length * 0.05);
    const statuses = new Set(positions.map((p) => p.status));
    expect([...statuses].sort()).toEqual(['ACTIVE', 'CLOSED', 'DELETED']);
    // Some closes fall between two valuation dates.
    expect(positions.some((p) => p.closed_on && p.closed_on < last && !dates.includes(p.closed_on))).toBe(true);
    // Some back-dated adjustments were booked in the last two weeks (late bookings).
    expect(versions.some((v) => v.superseded_at && ms(v.superseded_at) > NOW.getTime() - 14 * DAY)).toBe(true);
  });

  it('records valuations after their date, with corrections superseding them, some within the last week', () => {
    const problems: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (!ok && problems.length < 20) problems.push(what);
    };
    for (const [positionId, own] of valuationsOf) {
      for (const [date, list] of groupBy(own, (v) => v.as_of_date)) {
        const sorted = [...list].sort((a, b) => ms(a.recorded_at) - ms(b.recorded_at));
        const at = `${positionId} ${date}`;
        check(sorted.filter((v) => v.superseded_at === null).length === 1, `${at}: one current version`);
        check(sorted[sorted.length - 1]!.superseded_at === null, `${at}: the latest recorded is current`);
        sorted.slice(0, -1).forEach((v, i) => check(v.superseded_at === sorted[i + 1]!.recorded_at, `${at}: superseded by the next`));
        check(ms(sorted[0]!.recorded_at) > day(date), `${at}: recorded after its date`);
        for (const v of sorted) check(v.valid_to === null || v.superseded_at === null, `${at}: no valid_to when superseded`);
      }
      const current = own.filter((v) => v.superseded_at === null).sort((a, b) => (a.as_of_date < b.as_of_date ? -1 : 1));
      current.forEach((v, i) => check(v.valid_to === (current[i + 1]?.as_of_date ?? null), `${positionId} ${v.as_of_date}: valid_to`));
    }
    expect(problems).toEqual([]);
    const superseded = valuations.filter((v) => v.superseded_at !== null);
    expect(superseded.length).toBeGreaterThan(0);
    expect(superseded.length).toBeLessThan(valuations.length * 0.05);
    const lastWeek = NOW.getTime() - 7 * DAY;
    expect(superseded.some((v) => v.as_of_date === last && ms(v.superseded_at!) > lastWeek)).toBe(true);
    expect(superseded.some((v) => v.as_of_date < last && ms(v.superseded_at!) < lastWeek)).toBe(true);
    expect(Math.max(...valuations.map((v) => ms(v.recorded_at)))).toBeLessThanOrEqual(NOW.getTime());
  });

  it('restates the last FX_SPOT feed in the last week, and records feeds and ratings the day after their date', () => {
    const onLast = world.fxFeeds.filter((f) => f.as_of_date === last).sort((a, b) => ms(a.recorded_at) - ms(b.recorded_at));
    expect(onLast).toHaveLength(2);
    const [original, restated] = onLast as [typeof onLast[0], typeof onLast[0]];
    expect(restated.restates).toBe(original.id);
    expect(restated.payload_hash).not.toBe(original.payload_hash);
    expect(ms(restated.recorded_at)).toBeGreaterThan(NOW.getTime() - 7 * DAY);
    expect(ms(restated.recorded_at)).toBeLessThanOrEqual(NOW.getTime());
    for (const f of world.fxFeeds.filter((x) => x !== restated)) expect(ms(f.recorded_at) - day(f.as_of_date)).toBeGreaterThan(DAY);
    for (const r of world.ratings) expect(ms(r.recorded_at) - day(r.as_of_date)).toBeGreaterThan(DAY);
    expect(ms(world.referenceRecordedAt)).toBeLessThan(Math.min(...positions.map((p) => day(p.opened_on))));
  });

  it('never records in the future, even when the valuation period ends at the moment of seeding', () => {
    const asOf = '2026-12-03';
    const close = buildWorld({ ...options, positions: 1_000, asOf }, NOW);
    const rows = allChunks(close);
    const moments = [
      ...rows.versions.flatMap((v) => [v.recorded_at, v.superseded_at]), ...rows.valuations.flatMap((v) => [v.recorded_at, v.superseded_at]),
      ...close.fxFeeds.map((f) => f.recorded_at), ...close.ratings.map((r) => r.recorded_at), close.referenceRecordedAt,
    ].filter((m): m is string => m !== null).map(ms);
    expect(Math.max(...moments)).toBeLessThanOrEqual(NOW.getTime());
    // Each position's last_recorded_at is the latest moment of its versions and valuations.
    const latest = new Map<string, number>();
    for (const v of [...rows.versions, ...rows.valuations]) {
      const at = Math.max(ms(v.recorded_at), v.superseded_at ? ms(v.superseded_at) : 0);
      latest.set(v.position_id, Math.max(latest.get(v.position_id) ?? 0, at));
    }
    for (const p of rows.positions) expect(ms(p.last_recorded_at)).toBe(latest.get(p.id));
    for (const v of [...rows.versions, ...rows.valuations]) if (v.superseded_at) expect(ms(v.superseded_at)).toBeGreaterThan(ms(v.recorded_at));
    // The same structure as further from now: only the timestamps moved.
    expect(timelessHash(close)).toBe(timelessHash(buildWorld({ ...options, positions: 1_000, asOf }, new Date('2027-06-01T00:00:00Z'))));
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
