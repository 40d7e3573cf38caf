// Static reference material for the demo and benchmark world: real ISO codes,
// a GICS-like two-level sector tree, UN M49 regions, and word lists for names.

export interface CurrencySpec {
  code: string;
  name: string;
  /** The pair quoted against USD, as the market quotes it, and its level around the reference date. */
  usdPair: string;
  usdRate: string;
}

export const CURRENCIES: readonly CurrencySpec[] = [
  { code: 'USD', name: 'US Dollar', usdPair: '', usdRate: '1' },
  { code: 'EUR', name: 'Euro', usdPair: 'EURUSD', usdRate: '1.0850' },
  { code: 'GBP', name: 'Pound Sterling', usdPair: 'GBPUSD', usdRate: '1.2700' },
  { code: 'JPY', name: 'Yen', usdPair: 'USDJPY', usdRate: '151.20' },
  { code: 'CHF', name: 'Swiss Franc', usdPair: 'USDCHF', usdRate: '0.8800' },
  { code: 'CAD', name: 'Canadian Dollar', usdPair: 'USDCAD', usdRate: '1.3600' },
  { code: 'AUD', name: 'Australian Dollar', usdPair: 'AUDUSD', usdRate: '0.6600' },
  { code: 'SEK', name: 'Swedish Krona', usdPair: 'USDSEK', usdRate: '10.50' },
  { code: 'NOK', name: 'Norwegian Krone', usdPair: 'USDNOK', usdRate: '10.70' },
  { code: 'HKD', name: 'Hong Kong Dollar', usdPair: 'USDHKD', usdRate: '7.8100' },
  { code: 'SGD', name: 'Singapore Dollar', usdPair: 'USDSGD', usdRate: '1.3400' },
];

export interface RegionSpec {
  code: string; // UN M49
  name: string;
  countries: readonly { code: string; name: string; currency: string }[];
}

export const REGIONS: readonly RegionSpec[] = [
  {
    code: '019',
    name: 'Americas',
    countries: [
      { code: 'US', name: 'United States', currency: 'USD' },
      { code: 'CA', name: 'Canada', currency: 'CAD' },
      { code: 'BR', name: 'Brazil', currency: 'USD' },
      { code: 'MX', name: 'Mexico', currency: 'USD' },
    ],
  },
  {
    code: '150',
    name: 'Europe',
    countries: [
      { code: 'GB', name: 'United Kingdom', currency: 'GBP' },
      { code: 'DE', name: 'Germany', currency: 'EUR' },
      { code: 'FR', name: 'France', currency: 'EUR' },
      { code: 'NL', name: 'Netherlands', currency: 'EUR' },
      { code: 'IT', name: 'Italy', currency: 'EUR' },
      { code: 'ES', name: 'Spain', currency: 'EUR' },
      { code: 'IE', name: 'Ireland', currency: 'EUR' },
      { code: 'CH', name: 'Switzerland', currency: 'CHF' },
      { code: 'SE', name: 'Sweden', currency: 'SEK' },
      { code: 'NO', name: 'Norway', currency: 'NOK' },
    ],
  },
  {
    code: '142',
    name: 'Asia',
    countries: [
      { code: 'JP', name: 'Japan', currency: 'JPY' },
      { code: 'HK', name: 'Hong Kong', currency: 'HKD' },
      { code: 'SG', name: 'Singapore', currency: 'SGD' },
      { code: 'KR', name: 'Korea, Republic of', currency: 'USD' },
      { code: 'IN', name: 'India', currency: 'USD' },
    ],
  },
  {
    code: '009',
    name: 'Oceania',
    countries: [
      { code: 'AU', name: 'Australia', currency: 'AUD' },
      { code: 'NZ', name: 'New Zealand', currency: 'USD' },
    ],
  },
];

export interface SectorSpec {
  code: string;
  name: string;
  groups: readonly { code: string; name: string }[];
}

/** Two levels, after GICS: sectors (2 digits) and industry groups (4 digits). */
export const SECTORS: readonly SectorSpec[] = [
  { code: '10', name: 'Energy', groups: [{ code: '1010', name: 'Energy Equipment & Oil and Gas' }] },
  {
    code: '15',
    name: 'Materials',
    groups: [
      { code: '1510', name: 'Chemicals & Metals' },
      { code: '1520', name: 'Construction Materials' },
    ],
  },
  {
    code: '20',
    name: 'Industrials',
    groups: [
      { code: '2010', name: 'Capital Goods' },
      { code: '2020', name: 'Commercial & Professional Services' },
      { code: '2030', name: 'Transportation' },
    ],
  },
  {
    code: '25',
    name: 'Consumer Discretionary',
    groups: [
      { code: '2510', name: 'Automobiles & Components' },
      { code: '2550', name: 'Retailing' },
    ],
  },
  {
    code: '30',
    name: 'Consumer Staples',
    groups: [
      { code: '3020', name: 'Food, Beverage & Tobacco' },
      { code: '3030', name: 'Household & Personal Products' },
    ],
  },
  {
    code: '35',
    name: 'Health Care',
    groups: [
      { code: '3510', name: 'Health Care Equipment & Services' },
      { code: '3520', name: 'Pharmaceuticals & Biotechnology' },
    ],
  },
  {
    code: '40',
    name: 'Financials',
    groups: [
      { code: '4010', name: 'Banks' },
      { code: '4020', name: 'Financial Services' },
      { code: '4030', name: 'Insurance' },
    ],
  },
  {
    code: '45',
    name: 'Information Technology',
    groups: [
      { code: '4510', name: 'Software & Services' },
      { code: '4520', name: 'Technology Hardware & Equipment' },
      { code: '4530', name: 'Semiconductors' },
    ],
  },
  {
    code: '50',
    name: 'Communication Services',
    groups: [
      { code: '5010', name: 'Telecommunication Services' },
      { code: '5020', name: 'Media & Entertainment' },
    ],
  },
  { code: '55', name: 'Utilities', groups: [{ code: '5510', name: 'Utilities' }] },
  { code: '60', name: 'Real Estate', groups: [{ code: '6010', name: 'Equity Real Estate' }] },
];

export const NAME_STEMS: readonly string[] = [
  'Northbridge', 'Atlas', 'Meridian', 'Harbor', 'Silverline', 'Crescent', 'Pinnacle', 'Granite', 'Summit',
  'Bluewater', 'Redwood', 'Ironclad', 'Evergreen', 'Lakeshore', 'Highland', 'Orion', 'Vanguard', 'Keystone',
  'Riverton', 'Falcon', 'Sterling', 'Beacon', 'Cobalt', 'Aurora', 'Westgate', 'Eastfield', 'Horizon', 'Cedar',
  'Monarch', 'Polaris', 'Trident', 'Sequoia', 'Ashford', 'Blackstone Hill', 'Clearwater', 'Driftwood',
];

export const NAME_SUFFIXES: readonly string[] = [
  'Holdings', 'Industries', 'Energy', 'Capital', 'Group', 'Technologies', 'Networks', 'Foods', 'Pharma',
  'Logistics', 'Utilities', 'Materials', 'Bancorp', 'Insurance', 'Motors', 'Retail', 'Properties', 'Media',
];

export const FUND_NAMES: readonly string[] = [
  'Global Credit Opportunities Fund', 'European Income Fund', 'Multi-Strategy Master Fund',
  'Asia Pacific Growth Fund', 'Sterling Corporate Bond Fund', 'Absolute Return Fund', 'Private Credit Fund',
  'Emerging Markets Debt Fund',
];

export const DESK_NAMES: readonly string[] = [
  'Investment Grade', 'High Yield', 'Leveraged Loans', 'Emerging Markets', 'Equities', 'Rates & FX',
  'Structured Credit', 'Special Situations',
];

export const BOOK_NAMES: readonly string[] = [
  'Core', 'Tactical', 'Short Duration', 'Long Duration', 'Financials', 'Industrials', 'Relative Value',
  'Carry', 'Distressed', 'Hedges',
];

export const STRATEGY_NAMES: readonly string[] = [
  'Basis', 'Curve', 'Momentum', 'Event Driven', 'Pairs', 'Income', 'Convexity',
];

export const FUND_CURRENCIES: readonly string[] = ['USD', 'EUR', 'GBP'];
