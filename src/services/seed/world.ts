// The deterministic demo and benchmark world: reference data, instruments,
// the portfolio tree and FX feeds are built in memory (they are small);
// positions, their versions and valuations are streamed per holder node
// (src/services/seed/positions.ts) so that a million positions never sit in
// memory at once. Recorded times come from one clock (clock.ts) set at `now`.
import Decimal from 'decimal.js';
import { contentHash } from '../../domain/contentHash';
import { cusipCheckDigit, isinCheckDigit, leiCheckDigits } from '../../domain/identifiers';
import { AGENCIES, symbolForScore, type Agency } from '../../domain/ratings';
import {
  BOOK_NAMES, CURRENCIES, DESK_NAMES, FUND_CURRENCIES, FUND_NAMES, NAME_STEMS, NAME_SUFFIXES, REGIONS,
  SECTORS, STRATEGY_NAMES,
} from './catalog';
import { addDays, AT, isoMoment, minutesIn, recent, recordingClock, scheduled, type RecordingClock } from './clock';
import { Rng, apportion, base36 } from './random';

export interface SeedOptions {
  seed: number;
  positions: number;
  funds: number;
  /** Number of month-end valuation dates, the last one being `asOf`. */
  valuationDates: number;
  asOf: string;
}

export const DEFAULT_SEED_OPTIONS: SeedOptions = {
  seed: 42,
  positions: 2_000,
  funds: 3,
  valuationDates: 5,
  asOf: '2026-10-30',
};

export interface ReferenceRow {
  id: string;
  entity_type: 'ISSUER' | 'SECTOR' | 'GEOGRAPHY' | 'CURRENCY';
  name: string;
  code: string | null;
  ticker: string | null;
  lei: string | null;
  parent_entity_id: string | null;
  sector_id: string | null;
  geography_id: string | null;
  attributes_json: string;
}

export interface RatingRow {
  id: string;
  entity_id: string;
  agency: Agency;
  rating: string;
  as_of_date: string;
  recorded_at: string;
}

export type AssetClass = 'BOND' | 'LOAN' | 'EQUITY' | 'CDS' | 'CASH' | 'OTHER';

export interface InstrumentRow {
  id: string;
  name: string;
  asset_class: AssetClass;
  currency: string;
  isin: string | null;
  cusip: string | null;
  ticker: string | null;
  issuer_id: string | null;
  maturity_date: string | null;
  attributes_json: string;
}

export interface NodeRow {
  id: string;
  name: string;
  node_type: 'FUND' | 'DESK' | 'BOOK' | 'STRATEGY';
  parent_id: string | null;
  base_ccy: string;
  tags_json: string;
}

export interface FxFeed {
  id: string;
  as_of_date: string;
  source: string;
  payload: { rates: { pair: string; rate: string }[] };
  payload_hash: string;
  checks: { name: string; status: 'PASS'; message: string }[];
  recorded_at: string;
  /** The feed of the same date this one restates (recorded later, so it wins), or null. */
  restates: string | null;
}

export interface Holder {
  node: NodeRow;
  index: number;
  positionCount: number;
}

export interface World {
  options: SeedOptions;
  /** The moment the world was built: every recorded time is at or before it (see clock.ts). */
  now: Date;
  clock: RecordingClock;
  /** When reference data, instruments and the portfolio tree were recorded (before any position). */
  referenceRecordedAt: string;
  referenceData: ReferenceRow[];
  ratings: RatingRow[];
  instruments: InstrumentRow[];
  nodes: NodeRow[];
  holders: Holder[];
  valuationDates: string[];
  fxFeeds: FxFeed[];
}

interface IssuerInfo {
  row: ReferenceRow;
  country: string;
  currency: string;
  stem: string;
  quality: number;
}

const isoDate = (d: Date) => d.toISOString().slice(0, 10);

/** The last weekday of each of `count` months ending with the month of asOf (asOf itself last). */
export function monthEndDates(asOf: string, count: number): string[] {
  const end = new Date(`${asOf}T00:00:00Z`);
  const dates: string[] = [];
  for (let k = count - 1; k >= 1; k--) {
    const d = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - k + 1, 0));
    while (d.getUTCDay() === 0 || d.getUTCDay() === 6) d.setUTCDate(d.getUTCDate() - 1);
    dates.push(isoDate(d));
  }
  dates.push(asOf);
  return dates;
}

function reference(rng: Rng, partial: Partial<ReferenceRow> & Pick<ReferenceRow, 'entity_type' | 'name'>): ReferenceRow {
  return {
    id: rng.uuid(), code: null, ticker: null, lei: null, parent_entity_id: null, sector_id: null,
    geography_id: null, attributes_json: '{}', ...partial,
  };
}

function buildStaticReference(rng: Rng) {
  const rows: ReferenceRow[] = [];
  for (const c of CURRENCIES) rows.push(reference(rng, { entity_type: 'CURRENCY', name: c.name, code: c.code }));
  const countries: { id: string; code: string; currency: string }[] = [];
  for (const region of REGIONS) {
    const r = reference(rng, { entity_type: 'GEOGRAPHY', name: region.name, code: region.code, attributes_json: '{"level":"region"}' });
    rows.push(r);
    for (const c of region.countries) {
      const row = reference(rng, { entity_type: 'GEOGRAPHY', name: c.name, code: c.code, parent_entity_id: r.id, attributes_json: '{"level":"country"}' });
      rows.push(row);
      countries.push({ id: row.id, code: c.code, currency: c.currency });
    }
  }
  const groups: string[] = [];
  for (const sector of SECTORS) {
    const s = reference(rng, { entity_type: 'SECTOR', name: sector.name, code: sector.code, attributes_json: '{"level":"sector"}' });
    rows.push(s);
    for (const g of sector.groups) {
      const row = reference(rng, { entity_type: 'SECTOR', name: g.name, code: g.code, parent_entity_id: s.id, attributes_json: '{"level":"industry_group"}' });
      rows.push(row);
      groups.push(row.id);
    }
  }
  return { rows, countries, groups };
}

function buildIssuers(rng: Rng, count: number, countries: { id: string; code: string; currency: string }[], groups: string[]): IssuerInfo[] {
  const issuers: IssuerInfo[] = [];
  const usedNames = new Set<string>();
  for (let i = 0; i < count; i++) {
    const parent = i >= 10 && rng.chance(0.25) ? issuers[rng.int(0, i - 1)] : undefined;
    const country = parent && rng.chance(0.5) ? countries.find((c) => c.code === parent.country)! : rng.pick(countries);
    const stem = parent ? parent.stem : rng.pick(NAME_STEMS);
    let name = `${stem} ${rng.pick(NAME_SUFFIXES)}`;
    if (usedNames.has(name)) name = `${name} ${country.code} ${base36(i, 3)}`;
    usedNames.add(name);
    const lei = `5493${base36(i, 6)}${rng.alnum(8)}`;
    const row = reference(rng, {
      entity_type: 'ISSUER',
      name,
      code: `ISS${base36(i, 5)}`,
      lei: `${lei}${leiCheckDigits(lei)}`,
      parent_entity_id: parent?.row.id ?? null,
      sector_id: parent && rng.chance(0.6) ? parent.row.sector_id : rng.pick(groups),
      geography_id: country.id,
    });
    const quality = parent ? Math.min(21, parent.quality + rng.int(0, 2)) : rng.int(1, 4) + rng.int(0, 6) + rng.int(0, 6);
    issuers.push({ row, country: country.code, currency: country.currency, stem, quality });
  }
  return issuers;
}

const AGENCY_COVERAGE: Record<Agency, number> = { SP: 0.85, MOODYS: 0.8, FITCH: 0.6, DBRS: 0.35 };

function buildRatings(rng: Rng, issuers: IssuerInfo[], asOf: string, clock: RecordingClock): RatingRow[] {
  const rows: RatingRow[] = [];
  const start = Date.parse('2023-01-02T00:00:00Z');
  const span = Date.parse(`${asOf}T00:00:00Z`) - start;
  for (const issuer of issuers) {
    for (const agency of AGENCIES) {
      if (!rng.chance(AGENCY_COVERAGE[agency])) continue;
      const dates = [...new Set(Array.from({ length: rng.int(1, 3) }, () => isoDate(new Date(start + Math.floor(rng.unit() * span / 86_400_000) * 86_400_000))))].sort();
      let score = Math.max(1, Math.min(21, issuer.quality + rng.int(-1, 1)));
      for (const date of dates) {
        rows.push({
          id: rng.uuid(), entity_id: issuer.row.id, agency, rating: symbolForScore(agency, score), as_of_date: date,
          recorded_at: isoMoment(scheduled(clock, date, 1, AT.rating)),
        });
        score = Math.max(1, Math.min(21, score + rng.int(-1, 1)));
      }
    }
  }
  return rows;
}

const ASSET_WEIGHTS: readonly [AssetClass, number][] = [['BOND', 45], ['LOAN', 15], ['EQUITY', 22], ['CDS', 8], ['OTHER', 10]];

function pickAssetClass(rng: Rng): AssetClass {
  let u = rng.int(0, 99);
  for (const [cls, w] of ASSET_WEIGHTS) if ((u -= w) < 0) return cls;
  return 'BOND';
}

function securityIds(rng: Rng, index: number, country: string): { isin: string; cusip: string | null } {
  if (country === 'US' || country === 'CA') {
    const body = `${base36(index, 5)}${rng.alnum(3)}`;
    const cusip = `${body}${cusipCheckDigit(body)}`;
    const isinBody = `${country}${cusip}`;
    return { isin: `${isinBody}${isinCheckDigit(isinBody)}`, cusip };
  }
  const isinBody = `${country}${rng.alnum(4)}${base36(index, 5)}`;
  return { isin: `${isinBody}${isinCheckDigit(isinBody)}`, cusip: null };
}

function buildInstruments(rng: Rng, count: number, issuers: IssuerInfo[]): InstrumentRow[] {
  const rows: InstrumentRow[] = CURRENCIES.map((c) => ({
    id: rng.uuid(), name: `Cash ${c.code}`, asset_class: 'CASH' as const, currency: c.code, isin: null, cusip: null,
    ticker: `CASH.${c.code}`, issuer_id: null, maturity_date: null, attributes_json: '{}',
  }));
  for (let i = rows.length; i < count; i++) {
    const issuer = issuers[rng.skewedIndex(issuers.length, 1.6)] as IssuerInfo;
    const assetClass = pickAssetClass(rng);
    const currency = rng.chance(0.8) ? issuer.currency : rng.chance(0.75) ? 'USD' : 'EUR';
    const year = rng.int(2027, 2045);
    const maturity = `${year}-${String(rng.int(1, 12)).padStart(2, '0')}-15`;
    const ids = securityIds(rng, i, issuer.country);
    const base = { id: rng.uuid(), currency, issuer_id: issuer.row.id, isin: null, cusip: null, ticker: null, maturity_date: maturity };
    const coupon = new Decimal(rng.int(16, 72)).div(8).toFixed(3);
    switch (assetClass) {
      case 'BOND':
        rows.push({ ...base, ...ids, name: `${issuer.row.name} ${coupon}% ${year}`, asset_class: 'BOND', attributes_json: JSON.stringify({ coupon, seniority: rng.pick(['SENIOR_SECURED', 'SENIOR_UNSECURED', 'SUBORDINATED']) }) });
        break;
      case 'LOAN':
        rows.push({ ...base, ...(rng.chance(0.3) ? ids : {}), name: `${issuer.row.name} Term Loan ${rng.pick(['A', 'B', 'C'])} ${year}`, asset_class: 'LOAN', attributes_json: JSON.stringify({ spreadBps: rng.int(175, 650), benchmark: 'SOFR' }) });
        break;
      case 'EQUITY':
        rows.push({ ...base, ...ids, maturity_date: null, ticker: `${issuer.stem.slice(0, 3).toUpperCase()}.${base36(i, 4)}`, name: `${issuer.row.name} Ordinary Shares`, asset_class: 'EQUITY', attributes_json: '{}' });
        break;
      case 'CDS':
        rows.push({ ...base, name: `${issuer.row.name} 5Y CDS ${year}`, asset_class: 'CDS', attributes_json: JSON.stringify({ tenor: '5Y', couponBps: rng.pick([100, 500]) }) });
        break;
      default:
        rows.push({ ...base, ...ids, name: `${issuer.row.name} Convertible ${coupon}% ${year}`, asset_class: 'OTHER', attributes_json: JSON.stringify({ coupon, type: 'CONVERTIBLE' }) });
    }
  }
  return rows;
}

function buildTree(rng: Rng, options: SeedOptions): { nodes: NodeRow[]; holders: Holder[] } {
  const nodes: NodeRow[] = [];
  const holdersByFund: NodeRow[][] = [];
  const node = (name: string, type: NodeRow['node_type'], parent: NodeRow | null, ccy: string): NodeRow => {
    const row: NodeRow = { id: rng.uuid(), name, node_type: type, parent_id: parent?.id ?? null, base_ccy: ccy, tags_json: '{}' };
    nodes.push(row);
    return row;
  };
  for (let f = 0; f < options.funds; f++) {
    const ccy = FUND_CURRENCIES[f % FUND_CURRENCIES.length] as string;
    const suffix = f >= FUND_NAMES.length ? ` ${Math.floor(f / FUND_NAMES.length) + 1}` : '';
    const fund = node(`${FUND_NAMES[f % FUND_NAMES.length]}${suffix}`, 'FUND', null, ccy);
    fund.tags_json = JSON.stringify({ strategy: rng.pick(['credit', 'multi-asset', 'equity long/short']), domicile: rng.pick(['IE', 'LU', 'KY', 'US']) });
    const holders: NodeRow[] = [];
    const desks = rng.shuffle(DESK_NAMES).slice(0, rng.int(4, 6));
    for (const deskName of desks) {
      const desk = node(deskName, 'DESK', fund, ccy);
      const books = rng.shuffle(BOOK_NAMES).slice(0, rng.int(4, 7));
      for (const bookName of books) {
        const book = node(`${deskName} ${bookName}`, 'BOOK', desk, rng.chance(0.8) ? ccy : rng.pick(FUND_CURRENCIES));
        holders.push(book);
        const strategies = rng.chance(0.55) ? rng.int(1, 3) : 0;
        for (let s = 0; s < strategies; s++) {
          holders.push(node(`${book.name} ${STRATEGY_NAMES[(s + rng.int(0, 6)) % STRATEGY_NAMES.length]} ${s + 1}`, 'STRATEGY', book, book.base_ccy));
        }
      }
    }
    holdersByFund.push(holders);
  }
  // The largest fund holds about 40% of the positions (as in the benchmark's reference data set).
  const fundShares = apportion(options.positions, holdersByFund.map((_h, f) => 1 / Math.sqrt(f + 1)));
  const holders: Holder[] = [];
  holdersByFund.forEach((fundHolders, f) => {
    const counts = apportion(fundShares[f] as number, fundHolders.map(() => rng.int(1, 10)));
    fundHolders.forEach((n, i) => holders.push({ node: n, index: holders.length, positionCount: counts[i] as number }));
  });
  return { nodes, holders };
}

const FX_CHECKS: FxFeed['checks'] = [{ name: 'generated', status: 'PASS', message: 'Generated by npm run seed from a fixed seed' }];

function fxFeed(rng: Rng, date: string, rates: { pair: string; rate: string }[], recordedAt: number, restates: string | null): FxFeed {
  const payload = { rates: [...rates].sort((a, b) => a.pair.localeCompare(b.pair)) };
  return {
    id: rng.uuid(), as_of_date: date, source: 'SEED-FX', payload, payload_hash: contentHash(payload),
    checks: restates ? [...FX_CHECKS, { name: 'restatement', status: 'PASS', message: `Restates feed ${restates} of the same date` }] : FX_CHECKS,
    recorded_at: isoMoment(recordedAt), restates,
  };
}

/** EURGBP, the one cross the feeds carry, from EURUSD and GBPUSD. */
function withCross(rates: { pair: string; rate: string }[]): { pair: string; rate: string }[] {
  const usd = rates.filter((r) => r.pair !== 'EURGBP');
  const eurusd = new Decimal(usd.find((r) => r.pair === 'EURUSD')!.rate);
  const gbpusd = new Decimal(usd.find((r) => r.pair === 'GBPUSD')!.rate);
  return [...usd, { pair: 'EURGBP', rate: eurusd.div(gbpusd).toDecimalPlaces(6).toString() }];
}

/**
 * FX_SPOT feeds on each valuation date and the 15th of its month, each received the next morning;
 * and one restatement of the last date's feed (two USD pairs corrected), received in the last week:
 * as known before it, the month-end figures use the original rates.
 */
function buildFxFeeds(rng: Rng, valuationDates: string[], clock: RecordingClock): FxFeed[] {
  const feeds: FxFeed[] = [];
  const dates = valuationDates.flatMap((d) => [`${d.slice(0, 8)}15`, d]).filter((d, i, all) => all.indexOf(d) === i).sort();
  const levels = new Map(CURRENCIES.filter((c) => c.usdPair).map((c) => [c.usdPair, new Decimal(c.usdRate)]));
  for (const date of dates) {
    const rates: { pair: string; rate: string }[] = [];
    for (const [pair, level] of levels) {
      const moved = level.mul(new Decimal(1).plus(new Decimal(rng.int(-80, 80)).div(10_000)));
      levels.set(pair, moved);
      rates.push({ pair, rate: moved.toDecimalPlaces(6).toString() });
    }
    feeds.push(fxFeed(rng, date, withCross(rates), scheduled(clock, date, 1, AT.fxFeed), null));
  }
  const last = feeds.find((f) => f.as_of_date === valuationDates[valuationDates.length - 1]);
  if (last) {
    const pairs = rng.shuffle([...levels.keys()] as string[]).slice(0, 2);
    const rates = last.payload.rates.filter((r) => r.pair !== 'EURGBP').map((r) => {
      if (!pairs.includes(r.pair)) return r;
      const bps = rng.int(5, 40) * (rng.chance(0.5) ? 1 : -1);
      return { pair: r.pair, rate: new Decimal(r.rate).mul(new Decimal(1).plus(new Decimal(bps).div(10_000))).toDecimalPlaces(6).toString() };
    });
    feeds.push(fxFeed(rng, last.as_of_date, withCross(rates), recent(clock, rng.int(minutesIn(1), minutesIn(6))), last.id));
  }
  return feeds;
}

/**
 * The world of `options`. Recorded times are derived from `now` (the moment the seed starts): the
 * same options and `now` give the same world, row for row; another `now` moves timestamps only.
 */
export function buildWorld(options: SeedOptions, now: Date = new Date()): World {
  const rng = new Rng(options.seed);
  const valuationDates = monthEndDates(options.asOf, options.valuationDates);
  const clock = recordingClock(now, options.asOf);
  // Before the earliest trade date (positions open up to 120 days before the first valuation date)
  // and the earliest rating.
  const firstTrade = addDays(valuationDates[0] as string, -200);
  const referenceDate = firstTrade < '2022-12-30' ? firstTrade : '2022-12-30';
  const { rows, countries, groups } = buildStaticReference(rng);
  const issuers = buildIssuers(rng, Math.max(30, Math.min(3_000, Math.round(options.positions / 100))), countries, groups);
  const instruments = buildInstruments(rng, Math.max(60, Math.min(200_000, Math.round(options.positions / 8))), issuers);
  const { nodes, holders } = buildTree(rng, options);
  const ratings = buildRatings(rng, issuers, options.asOf, clock);
  return {
    options,
    now: new Date(clock.now),
    clock,
    referenceRecordedAt: isoMoment(scheduled(clock, referenceDate, 0, AT.reference)),
    referenceData: [...rows, ...issuers.map((i) => i.row)],
    ratings,
    instruments,
    nodes,
    holders,
    valuationDates,
    fxFeeds: buildFxFeeds(rng, valuationDates, clock),
  };
}
