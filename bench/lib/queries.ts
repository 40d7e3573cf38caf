// The measured GraphQL operations: the text sent to our service (and, for the
// tree shapes, to the naive server, which serves the same field names), the
// PostGraphile 4 equivalents, and the variables of one data set.
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
  | 'snapshotNew';

export interface QuerySpec {
  id: QueryId;
  /** Group for --only: tree, exposure, lookups, page, snapshot. */
  group: 'tree' | 'exposure' | 'lookups' | 'page' | 'snapshot';
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
];

/** The read mix of the throughput run: [query, weight]. */
export const READ_MIX: readonly [QueryId, number][] = [['tree', 3], ['treePositions', 1], ['rating', 2], ['fxRate', 2], ['page500', 1]];
