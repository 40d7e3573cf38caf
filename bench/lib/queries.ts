// The measured GraphQL operations: the text sent to our service (and, for the
// tree shapes, to the naive server, which serves the same field names), the
// PostGraphile 4 equivalents, and the variables of one data set.
import { corpusFacts, type CorpusFacts, type FactsQuery } from './corpus';
import type { DatasetFacts } from './datasets';

export type QueryId =
  | 'tree'
  | 'treePositions'
  | 'exposureIssuer'
  | 'exposureSector'
  | 'exposureGeography'
  | 'marketValue'
  | 'exposureIssuerCached'
  | 'marketValueCached'
  | 'rating'
  | 'fxRate'
  | 'page500'
  | 'snapshotDedup'
  | 'snapshotNew'
  | 'exposureIssuerPast'
  | 'marketValuePast'
  | 'exposureIssuerKnownAt'
  | 'marketValueKnownAt'
  | 'holdingsChangeDates'
  | 'holdingsChangeKnownAt'
  | 'positionHistory'
  | 'positionHolding'
  | 'valuationVersions'
  | 'ratingKnownAt'
  | 'fxRateKnownAt';

export interface QuerySpec {
  id: QueryId;
  /** Group for --only: tree, exposure, lookups, page, snapshot, history. */
  group: 'tree' | 'exposure' | 'lookups' | 'page' | 'snapshot' | 'history';
  title: string;
  query: string;
  variables: (facts: DatasetFacts, asOf: string) => Record<string, unknown>;
  /** Drawn in the latency chart. */
  chart?: boolean;
  /**
   * Served by the instance with the analytics cache on (repeats answered from it after a version
   * check); every other query is measured on an instance with the cache off, so that its figure is
   * the computation. `base`: the query whose floor and answer it shares.
   */
  cached?: { base: QueryId };
}

/** Tree levels below the fund: DESK, BOOK, STRATEGY. */
const nest = (fields: string, levels = 3): string =>
  levels === 0 ? fields : `${fields} children { ${nest(fields, levels - 1)} }`;

/** Every node of the fund's tree with its (direct) position count. */
export const TREE_QUERY = `query Tree($id: ID!) {
  portfolioNode(id: $id) { ${nest('id name nodeType positions(first: 0) { totalCount }')} }
}`;

export const TREE_POSITIONS_FIRST = 10;

/** nodes -> children -> positions (first 10 by id, with their count) -> instrument: the shape PostGraphile can express. */
export const TREE_POSITIONS_QUERY = `query TreePositions($id: ID!, $first: Int!) {
  portfolioNode(id: $id) { ${nest('id name nodeType positions(first: $first) { totalCount edges { node { id instrument { id name } } } }')} }
}`;

function pgNest(fields: string, levels = 3): string {
  return levels === 0 ? fields : `${fields} portfolioNodesByParentId(orderBy: [NAME_ASC, ID_ASC]) { nodes { ${pgNest(fields, levels - 1)} } }`;
}

export const PG_QUERIES = {
  tree: `query Tree($id: UUID!) {
  portfolioNodeById(id: $id) { ${pgNest('id name nodeType positionsByPortfolioNodeId { totalCount }')} }
}`,
  treePositions: `query TreePositions($id: UUID!, $first: Int!) {
  portfolioNodeById(id: $id) { ${pgNest('id name nodeType positionsByPortfolioNodeId(first: $first, orderBy: [PRIMARY_KEY_ASC]) { totalCount nodes { id instrumentByInstrumentId { id name } } }')} }
}`,
} as const;

const EXPOSURE_FIELDS = 'asOf currency total unvaluedPositionCount buckets { key label marketValue weight positionCount }';

const exposure = (dimension: string, lookThrough: boolean) => `query Exposure($id: ID!, $asOf: Date!, $ccy: Currency) {
  portfolioNode(id: $id) { exposure(dimension: ${dimension}, lookThrough: ${lookThrough}, asOf: $asOf, currency: $ccy) { ${EXPOSURE_FIELDS} } }
}`;

const fundVars = (facts: DatasetFacts, asOf: string) => ({ id: facts.fund.id, asOf, ccy: 'JPY' });

// ------------------------------------------------------------------ the two clocks (group `history`)

/** The points in time and rows the `history` queries ask about, from the data set's facts and the bench's as-of date. */
export interface HistoryPoints {
  /** The latest date: the bench's as-of date (the seed's last month-end unless --as-of says otherwise). */
  latest: string;
  /** The latest FX_SPOT month-end before `latest` (holdingsChange from it to `latest`). */
  previous: string;
  /** The one before `previous`: the past month-end of exposure and marketValue (the data set's third-latest). */
  past: string;
  /** A moment in the past (facts.history.knownAt). */
  knownAt: string;
  positionId: string;
  /** The valuation date of valuationVersions: a restated one when the position has one, else its latest. */
  valuationDate: string;
  issuerId: string;
}

export function historyPoints(facts: DatasetFacts, asOf: string): HistoryPoints {
  const h = facts.history;
  const before = h.fxMonthEnds.filter((d) => d < asOf);
  const previous = before[0] ?? asOf;
  return {
    latest: asOf,
    previous,
    past: before[1] ?? previous,
    knownAt: h.knownAt,
    positionId: h.position.id,
    valuationDate: h.position.valuationDate ?? asOf,
    issuerId: h.issuer.id,
  };
}

const exposureKnownAt = (dimension: string, lookThrough: boolean) => `query ExposureKnownAt($id: ID!, $asOf: Date!, $ccy: Currency, $knownAt: DateTime) {
  portfolioNode(id: $id) { exposure(dimension: ${dimension}, lookThrough: ${lookThrough}, asOf: $asOf, currency: $ccy, knownAt: $knownAt) { ${EXPOSURE_FIELDS} } }
}`;

const MARKET_VALUE_KNOWN_AT = `query MarketValueKnownAt($id: ID!, $asOf: Date!, $ccy: Currency, $knownAt: DateTime) {
  portfolioNode(id: $id) { marketValue(asOf: $asOf, currency: $ccy, knownAt: $knownAt) { amount currency } }
}`;

const HOLDINGS_CHANGE_FIRST = 50;

const HOLDINGS_CHANGE = `query HoldingsChange($id: ID!, $from: TimePoint!, $to: TimePoint!, $ccy: Currency) {
  portfolioNode(id: $id) { holdingsChange(from: $from, to: $to, currency: $ccy) {
    from to currency marketValueFrom marketValueTo
    changes(first: ${HOLDINGS_CHANGE_FIRST}) { totalCount pageInfo { hasNextPage endCursor }
      edges { node { kind position { id } quantityFrom quantityTo marketValueFrom marketValueTo } } } } }
}`;

export const HISTORY_QUERIES: QuerySpec[] = [
  {
    id: 'exposureIssuerPast', group: 'history', title: 'exposure ISSUER, lookThrough, in JPY, as of a past month-end (known now)',
    query: exposure('ISSUER', true), variables: (f, asOf) => ({ id: f.fund.id, asOf: historyPoints(f, asOf).past, ccy: 'JPY' }),
  },
  {
    id: 'marketValuePast', group: 'history', title: 'marketValue in JPY, as of a past month-end (known now)',
    query: MARKET_VALUE_KNOWN_AT, variables: (f, asOf) => ({ id: f.fund.id, asOf: historyPoints(f, asOf).past, ccy: 'JPY' }),
  },
  {
    id: 'exposureIssuerKnownAt', group: 'history', title: 'exposure ISSUER, lookThrough, in JPY, as of the latest date, knownAt in the past',
    query: exposureKnownAt('ISSUER', true), variables: (f, asOf) => ({ id: f.fund.id, asOf, ccy: 'JPY', knownAt: historyPoints(f, asOf).knownAt }), chart: true,
  },
  {
    id: 'marketValueKnownAt', group: 'history', title: 'marketValue in JPY, as of the latest date, knownAt in the past',
    query: MARKET_VALUE_KNOWN_AT, variables: (f, asOf) => ({ id: f.fund.id, asOf, ccy: 'JPY', knownAt: historyPoints(f, asOf).knownAt }),
  },
  {
    id: 'holdingsChangeDates', group: 'history', title: `holdingsChange between two month-ends, in JPY (first ${HOLDINGS_CHANGE_FIRST} changes)`,
    query: HOLDINGS_CHANGE, chart: true,
    variables: (f, asOf) => {
      const p = historyPoints(f, asOf);
      return { id: f.fund.id, from: { asOf: p.previous }, to: { asOf: p.latest }, ccy: 'JPY' };
    },
  },
  {
    id: 'holdingsChangeKnownAt', group: 'history', title: `holdingsChange of the latest date, known at a past moment -> now, in JPY (first ${HOLDINGS_CHANGE_FIRST})`,
    query: HOLDINGS_CHANGE,
    variables: (f, asOf) => {
      const p = historyPoints(f, asOf);
      return { id: f.fund.id, from: { asOf: p.latest, knownAt: p.knownAt }, to: { asOf: p.latest }, ccy: 'JPY' };
    },
  },
  {
    id: 'positionHistory', group: 'history', title: "Position.history: a position's versions (known now)",
    query: `query PositionHistory($id: ID!) { position(id: $id) { id history { validFrom validTo quantity status recordedAt supersededAt } } }`,
    variables: (f, asOf) => ({ id: historyPoints(f, asOf).positionId }),
  },
  {
    id: 'positionHolding', group: 'history', title: 'Position.holding(asOf, knownAt in the past)',
    query: `query PositionHolding($id: ID!, $asOf: Date!, $knownAt: DateTime) { position(id: $id) { id holding(asOf: $asOf, knownAt: $knownAt) { asOf quantity status } } }`,
    variables: (f, asOf) => {
      const p = historyPoints(f, asOf);
      return { id: p.positionId, asOf: p.latest, knownAt: p.knownAt };
    },
  },
  {
    id: 'valuationVersions', group: 'history', title: 'Position.valuationVersions(asOfDate): every recorded version of one valuation',
    query: `query ValuationVersions($id: ID!, $d: Date!) { position(id: $id) { id valuationVersions(asOfDate: $d) { asOfDate marketValue currency recordedAt supersededAt } } }`,
    variables: (f, asOf) => {
      const p = historyPoints(f, asOf);
      return { id: p.positionId, d: p.valuationDate };
    },
  },
  {
    id: 'ratingKnownAt', group: 'history', title: 'rating(agency: SP, asOf, knownAt in the past) of an issuer',
    query: `query RatingKnownAt($id: ID!, $asOf: Date!, $knownAt: DateTime) { referenceEntity(id: $id) { id name rating(agency: SP, asOf: $asOf, knownAt: $knownAt) { agency rating score asOfDate } } }`,
    variables: (f, asOf) => {
      const p = historyPoints(f, asOf);
      return { id: p.issuerId, asOf: p.latest, knownAt: p.knownAt };
    },
  },
  {
    id: 'fxRateKnownAt', group: 'history', title: 'fxRate(EUR, JPY, asOf, knownAt in the past) (triangulated)',
    query: `query FxKnownAt($asOf: Date!, $knownAt: DateTime) { fxRate(base: "EUR", quote: "JPY", asOf: $asOf, knownAt: $knownAt) { base quote rate asOfDate derivation } }`,
    variables: (f, asOf) => ({ asOf, knownAt: historyPoints(f, asOf).knownAt }),
  },
];

export const QUERIES: QuerySpec[] = [
  { id: 'tree', group: 'tree', title: 'Tree of the largest fund, all levels, position counts', query: TREE_QUERY, variables: (f) => ({ id: f.fund.id }), chart: true },
  {
    id: 'treePositions', group: 'tree', title: `Tree + first ${TREE_POSITIONS_FIRST} positions per node with instrument`, query: TREE_POSITIONS_QUERY,
    variables: (f) => ({ id: f.fund.id, first: TREE_POSITIONS_FIRST }), chart: true,
  },
  { id: 'exposureIssuer', group: 'exposure', title: 'exposure ISSUER, lookThrough, in JPY', query: exposure('ISSUER', true), variables: fundVars, chart: true },
  { id: 'exposureSector', group: 'exposure', title: 'exposure SECTOR, in JPY', query: exposure('SECTOR', false), variables: fundVars },
  { id: 'exposureGeography', group: 'exposure', title: 'exposure GEOGRAPHY, in JPY', query: exposure('GEOGRAPHY', false), variables: fundVars },
  {
    id: 'marketValue', group: 'exposure', title: 'marketValue in JPY',
    query: `query MarketValue($id: ID!, $asOf: Date!, $ccy: Currency) { portfolioNode(id: $id) { marketValue(asOf: $asOf, currency: $ccy) { amount currency } } }`,
    variables: fundVars, chart: true,
  },
  {
    id: 'exposureIssuerCached', group: 'exposure', title: 'exposure ISSUER, lookThrough, in JPY, repeated (analytics cache on)',
    query: exposure('ISSUER', true), variables: fundVars, cached: { base: 'exposureIssuer' },
  },
  {
    id: 'marketValueCached', group: 'exposure', title: 'marketValue in JPY, repeated (analytics cache on)',
    query: `query MarketValue($id: ID!, $asOf: Date!, $ccy: Currency) { portfolioNode(id: $id) { marketValue(asOf: $asOf, currency: $ccy) { amount currency } } }`,
    variables: fundVars, cached: { base: 'marketValue' },
  },
  {
    id: 'rating', group: 'lookups', title: 'rating(agency: SP, asOf) of an issuer',
    query: `query Rating($id: ID!, $asOf: Date!) { referenceEntity(id: $id) { id name rating(agency: SP, asOf: $asOf) { agency rating score asOfDate } } }`,
    variables: (f, asOf) => ({ id: f.ratedIssuer.id, asOf }), chart: true,
  },
  {
    id: 'fxRate', group: 'lookups', title: 'fxRate(EUR, JPY, asOf) (triangulated)',
    query: `query Fx($asOf: Date!) { fxRate(base: "EUR", quote: "JPY", asOf: $asOf) { base quote rate asOfDate derivation } }`,
    variables: (_f, asOf) => ({ asOf }),
  },
  {
    id: 'page500', group: 'page', title: 'Page of 500 fund positions (includeDescendants) with instrument and issuer',
    query: `query Page($id: ID!) { portfolioNode(id: $id) { positions(first: 500, includeDescendants: true) {
      totalCount pageInfo { hasNextPage endCursor }
      edges { node { id quantity status baseCurrency instrument { id name isin assetClass currency issuer { id name lei } } } } } } }`,
    variables: (f) => ({ id: f.fund.id }), chart: true,
  },
  {
    id: 'snapshotDedup', group: 'snapshot', title: 'createPortfolioSnapshot, content already stored (dedup)',
    query: `mutation Snap($id: ID!, $asOf: Date!) { createPortfolioSnapshot(nodeId: $id, asOfDate: $asOf) { created snapshot { id payloadHash asOfDate } } }`,
    variables: (f, asOf) => ({ id: f.fund.id, asOf }),
  },
  {
    id: 'snapshotNew', group: 'snapshot', title: 'createPortfolioSnapshot, new content',
    query: `mutation Snap($id: ID!, $asOf: Date!) { createPortfolioSnapshot(nodeId: $id, asOfDate: $asOf) { created snapshot { id payloadHash asOfDate } } }`,
    variables: (f, asOf) => ({ id: f.fund.id, asOf }),
  },
  ...HISTORY_QUERIES,
];

/** The read mix of the throughput run: [query, weight]. */
export const READ_MIX: readonly [QueryId, number][] = [['tree', 3], ['treePositions', 1], ['rating', 2], ['fxRate', 2], ['page500', 1]];

// ------------------------------------------------------------------ the corpus (group `corpus`)

/**
 * The facts the corpus placeholders stand for on a bench data set (bench/lib/corpus.ts), one source
 * of truth with the bench's other queries: what the bench already decides is given to corpusFacts
 * (its largest fund facts.fund, so that treeCounts asks what `tree` asks; the --as-of date; the
 * previous month-end of `history`; the position of the history lookups and its valuation date; the
 * rated issuer of `rating`), and corpusFacts derives the rest from them: the desk and book under that
 * fund, the instrument and ISIN held most in it, the search word (the issuer's first name word), and
 * knownAt, "a week ago" as the corpus operations say (a week before the latest recorded position
 * version; the `history` group asks at the median recorded time instead, a different moment).
 */
export async function corpusFactsFor(query: FactsQuery, facts: DatasetFacts, asOf: string): Promise<CorpusFacts> {
  const p = historyPoints(facts, asOf);
  return corpusFacts(query, {
    fund: facts.fund.id,
    asOf,
    pastAsOf: p.previous,
    position: p.positionId,
    valuationDate: p.valuationDate,
    issuer: facts.ratedIssuer.id,
  });
}

/** Corpus operations that are exactly a query of the bench whose floor already exists: that floor. */
export const CORPUS_FLOORS: Readonly<Record<string, QueryId>> = { treeCounts: 'tree' };

export interface PgCorpusSpec {
  query: string;
  variables: (facts: CorpusFacts) => Record<string, unknown>;
  /** Compare the answer with ours by this digest (bench/lib/answers.ts); otherwise not compared. */
  digest?: 'tree';
}

/**
 * The corpus operations PostGraphile 4 can express with its default inflection and plugins
 * (conditions are equality, or IS NULL for null, on a column; relations by foreign key; no
 * computed columns in this schema): the same question, in its names. Children ordered by name
 * then id as ours (the digests compare the trees in pre-order).
 */
export const PG_CORPUS: Readonly<Record<string, PgCorpusSpec>> = {
  treeCounts: { query: PG_QUERIES.tree, variables: (f) => ({ id: f.fund }), digest: 'tree' },
  treeActiveCounts: {
    query: `query TreeActiveCounts($id: UUID!) {
  portfolioNodeById(id: $id) { ${pgNest('id name nodeType positionsByPortfolioNodeId(condition: { status: ACTIVE }) { totalCount }')} }
}`,
    variables: (f) => ({ id: f.fund }), digest: 'tree',
  },
  portfolioTree: {
    query: `query PortfolioTree {
  allPortfolioNodes(condition: { parentId: null }, orderBy: [NAME_ASC, ID_ASC]) { nodes {
    id name nodeType baseCcy
    portfolioNodesByParentId(orderBy: [NAME_ASC, ID_ASC]) { nodes { name nodeType
      portfolioNodesByParentId(orderBy: [NAME_ASC, ID_ASC]) { nodes { name
        portfolioNodesByParentId(orderBy: [NAME_ASC, ID_ASC]) { nodes { name } } } } } } } }
}`,
    variables: () => ({}),
  },
  nodeList: {
    query: `query NodeList($parentId: UUID!, $first: Int) {
  allPortfolioNodes(condition: { parentId: $parentId }, first: $first, orderBy: [NAME_ASC, ID_ASC]) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id name nodeType baseCcy tagsJson portfolioNodeByParentId { id name } positionsByPortfolioNodeId { totalCount } } }
  }
}`,
    variables: (f) => ({ parentId: f.desk, first: 20 }),
  },
  bookPositions: {
    query: `query BookPositions {
  allPortfolioNodes(condition: { nodeType: BOOK }, first: 10, orderBy: [NAME_ASC, ID_ASC]) {
    totalCount
    edges { node { name positionsByPortfolioNodeId(first: 5, orderBy: [PRIMARY_KEY_ASC]) {
      totalCount
      edges { node { quantity status instrumentByInstrumentId { name isin currency referenceDatumByIssuerId { name } } } } } } }
  }
}`,
    variables: () => ({}),
  },
  issuerRatings: {
    query: `query IssuerRatings {
  allReferenceData(condition: { entityType: ISSUER }, first: 10, orderBy: [NAME_ASC, ID_ASC]) {
    edges { node { name lei ratingHistoriesByEntityId(condition: { supersededAt: null }, orderBy: [AS_OF_DATE_DESC]) { nodes { agency rating asOfDate } } } }
  }
}`,
    variables: () => ({}),
  },
  ingestionBatches: {
    query: `query IngestionBatches($first: Int) {
  allIngestionBatches(first: $first, orderBy: [STARTED_AT_DESC, ID_DESC]) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node {
      id batchType status sourceSystem idempotencyKey startedAt completedAt rowCount acceptedCount rejectedCount validationErrorsJson
      dataLineagesByIngestionBatchId { nodes { sourceSystem transformationChain createdAt } } } }
  }
}`,
    variables: () => ({ first: 20 }),
  },
};

const AS_OF = 'as-of read (the latest row dated on or before a date): a range and a limit per parent';
const KNOWN_AT = 'knownAt read (the version recorded by a moment): a range on recorded/superseded times';
const ANALYTICS = 'computed analytics (FX conversion, grouping, look-through): no column or relation holds them';
const BELOW_FUND = 'positions of every node below the fund: position has no fund column, conditions do not follow relations';

/** Why PostGraphile 4 (default inflection and plugins, no computed columns) cannot express the others. */
export const PG_CORPUS_CANNOT: Readonly<Record<string, string>> = {
  treeStatusCounts: 'notDeleted counts ACTIVE or CLOSED: a condition is equality on one value, no IN list (connection-filter plugin)',
  treeCountsAsOf: `positions held on a date: ${AS_OF}`,
  treeCountsKnownAt: `${KNOWN_AT}; positions held on a date: ${AS_OF}`,
  treeMarketValue: `marketValue per node: ${ANALYTICS}`,
  descendantsCounts: 'descendants of any depth and depth: recursion (no recursive relation, no depth column)',
  breadcrumbs: 'ancestors of any depth and depth: recursion (no recursive relation, no depth column)',
  bookPositionsPage: `valuation(asOf): ${AS_OF}`,
  deskBookPages: `rating(asOf), valuation(asOf): ${AS_OF}`,
  fundPositionsAllLevels: `${BELOW_FUND}; valuation(asOf): ${AS_OF}`,
  fundPositionsKnownAt: `${BELOW_FUND}; ${KNOWN_AT}`,
  fundPositionsPastAsOf: `${BELOW_FUND}; holding(asOf), valuation(asOf): ${AS_OF}`,
  exposureByChild: `marketValue, exposure: ${ANALYTICS}`,
  exposureChildBuckets: `exposure: ${ANALYTICS}`,
  exposureDashboard: `marketValue, exposure: ${ANALYTICS}`,
  exposureIssuerLookThrough: `exposure: ${ANALYTICS}`,
  exposurePastKnownAt: `marketValue, exposure: ${ANALYTICS}`,
  asOfMonthEnd: `marketValue, exposure: ${ANALYTICS}; holding(asOf), valuation(asOf): ${AS_OF}`,
  asKnownLastWeek: `marketValue, exposure: ${ANALYTICS}; ${KNOWN_AT}`,
  fxRates: 'fxRate: the latest feed on or before a date, inverse or through USD, computed',
  instrumentByIsin: `rating(asOf) per agency: ${AS_OF}`,
  instrumentAsKnown: `instrument(knownAt): ${KNOWN_AT}`,
  issuerProfile: `rating(asOf) per agency: ${AS_OF}`,
  issuerSearch: 'a name containing a word: a condition is equality only (connection-filter plugin)',
  marketDataFeeds: 'feeds up to a date: a condition is equality only, no range; checks are computed from the validation JSON',
  fundSnapshots: `snapshotAsOf(date): ${AS_OF}`,
  holdingsChangeDates: 'holdingsChange: computed (two as-of reads of holdings and valuations, differences ranked)',
  holdingsChangeKnownAt: 'holdingsChange: computed (two knownAt reads of holdings and valuations, differences ranked)',
  changesSinceMonthEnd: 'holdingsChange: computed (as-of and knownAt reads, differences ranked)',
  positionHistory: `history(knownAt), holding(knownAt): ${KNOWN_AT}; holding(asOf), valuation(asOf): ${AS_OF}`,
  ratingHistory: `ratings as known then: ${KNOWN_AT}; rating(asOf): ${AS_OF}`,
};
