// The in-browser GraphQL IDE (GraphiQL 3) at GET /graphql. It must work on
// locked-down networks, so nothing comes from a CDN: GraphiQL, React and the
// bootstrap script are served from our own node_modules under /graphql/ide/,
// and a strict Content-Security-Policy keeps the page from loading anything
// else. GraphQL GETs from non-browser clients fall through to Apollo.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import express from 'express';
import { DEFAULT_SEED_OPTIONS, monthEndDates } from '../services/seed/world';

export interface IdeOptions {
  /** Shown in the IDE when the service runs without authentication. */
  openMode?: boolean;
}

// The demo world's last two month-ends (its valuation dates end at the default --as-of).
const [PREVIOUS_MONTH_END, LAST_MONTH_END] = monthEndDates(DEFAULT_SEED_OPTIONS.asOf, 2) as [string, string];
// A week before the service started, to the minute: the default knownAt of "as known last week".
// The demo world records its corrections in the two weeks before it is seeded, so on a freshly
// seeded world about half of them come after this moment.
const WEEK_AGO = new Date(Math.floor((Date.now() - 7 * 86_400_000) / 60_000) * 60_000).toISOString();

/** Example queries for the demo data, one IDE tab each (exported so tests can check they stay valid). */
export const EXAMPLE_QUERIES: readonly string[] = [
  `# The portfolio tree: every fund with its desks, books and strategies.
query PortfolioTree {
  portfolioRoots {
    id
    name
    nodeType
    baseCurrency
    children {
      name
      nodeType
      children {
        name
        children {
          name
        }
      }
    }
  }
}
`,
  `# Books with a first page of their positions and the instruments held.
query BookPositions {
  portfolioNodes(filter: { nodeType: BOOK }, first: 10) {
    totalCount
    edges {
      node {
        name
        positions(first: 5) {
          totalCount
          edges {
            node {
              quantity
              status
              instrument {
                name
                isin
                currency
                issuer {
                  name
                }
              }
            }
          }
        }
      }
    }
  }
}
`,
  `# Issuers with their LEI and credit ratings by agency.
query IssuerRatings {
  referenceEntities(entityType: ISSUER, first: 10) {
    edges {
      node {
        name
        lei
        ratings {
          agency
          rating
          asOfDate
        }
      }
    }
  }
}
`,
  `# Every fund as of the last month-end (valid time), as known now: its market value,
# its exposure by currency, and the first positions it held on that date with
# the quantity held then and the valuation in force.
query AsOfMonthEnd($asOf: Date = "${LAST_MONTH_END}") {
  portfolioRoots {
    name
    marketValue(asOf: $asOf) {
      amount
      currency
    }
    exposure(dimension: CURRENCY, asOf: $asOf, top: 5) {
      total
      unvaluedPositionCount
      buckets {
        label
        marketValue
        weight
      }
    }
    positions(asOf: $asOf, includeDescendants: true, first: 5) {
      totalCount
      edges {
        node {
          openedOn
          instrument {
            name
          }
          holding(asOf: $asOf) {
            quantity
            status
          }
          valuation(asOf: $asOf) {
            asOfDate
            marketValue
            currency
            recordedAt
          }
        }
      }
    }
  }
}
`,
  `# The same month-end as known a week ago (recorded time), beside what is known now:
# valuations corrected since, late bookings and a restated FX feed make them differ.
# $knownAt defaults to a week before the service started: set it in the Variables
# pane to look from any other moment (a date and time with an offset, never in
# the future), e.g. { "knownAt": "${WEEK_AGO}" }.
query AsKnownLastWeek($asOf: Date = "${LAST_MONTH_END}", $knownAt: DateTime = "${WEEK_AGO}") {
  portfolioRoots {
    name
    knownThen: marketValue(asOf: $asOf, knownAt: $knownAt) {
      amount
      currency
    }
    knownNow: marketValue(asOf: $asOf) {
      amount
      currency
    }
    exposure(dimension: CURRENCY, asOf: $asOf, top: 5, knownAt: $knownAt) {
      total
      buckets {
        label
        marketValue
      }
    }
    positions(asOf: $asOf, knownAt: $knownAt, includeDescendants: true, first: 5) {
      totalCount
      edges {
        node {
          instrument {
            name
          }
          holding(asOf: $asOf, knownAt: $knownAt) {
            quantity
          }
          valuation(asOf: $asOf, knownAt: $knownAt) {
            marketValue
            recordedAt
          }
        }
      }
    }
  }
}
`,
  `# What changed in each fund: from the previous month-end to the last one (what
# moved: trades, closes, prices), and for the last month-end from last week's
# knowledge to now (what was restated: corrections and late bookings).
# $knownAt defaults to a week before the service started; set it in Variables.
query ChangesSinceMonthEnd(
  $previous: Date = "${PREVIOUS_MONTH_END}"
  $asOf: Date = "${LAST_MONTH_END}"
  $knownAt: DateTime = "${WEEK_AGO}"
) {
  portfolioRoots {
    name
    sinceMonthEnd: holdingsChange(from: { asOf: $previous }, to: { asOf: $asOf }) {
      ...Change
    }
    sinceLastWeek: holdingsChange(from: { asOf: $asOf, knownAt: $knownAt }, to: { asOf: $asOf }) {
      ...Change
    }
  }
}

fragment Change on HoldingsChange {
  from
  to
  currency
  marketValueFrom
  marketValueTo
  changes(first: 5) {
    totalCount
    edges {
      node {
        kind
        quantityFrom
        quantityTo
        marketValueFrom
        marketValueTo
        position {
          instrument {
            name
          }
        }
      }
    }
  }
}
`,
];

/** Stands for a fund's id in the subscription examples' variables until the IDE finds one (open mode). */
export const FUND_ID_PLACEHOLDER = '<a FUND id, from PortfolioTree>';

/**
 * Example subscriptions, one IDE tab each after the queries: they run over WebSocket (graphql-ws) and
 * stream into the result pane. In open mode the IDE puts the first fund's id in their variables.
 */
export const EXAMPLE_SUBSCRIPTIONS: readonly { query: string; variables: string }[] = [
  {
    query: `# Live updates (a subscription, over WebSocket): a fund's exposure by sector, sent at
# once and again whenever a committed write changes it, at most once a second. Leave it
# running and change the fund from another tab or client (a mutation, an upload,
# npm run ingest): the result pane follows. Stop it with the run button.
# $nodeId: a FUND id (PortfolioTree lists them); the token comes from Headers.
subscription LiveSectorExposure($nodeId: ID!) {
  liveExposure(nodeId: $nodeId, dimension: SECTOR, currency: "USD", top: 5) {
    asOf
    currency
    total
    unvaluedPositionCount
    buckets {
      label
      marketValue
      weight
      positionCount
    }
  }
}
`,
    variables: JSON.stringify({ nodeId: FUND_ID_PLACEHOLDER }, null, 2),
  },
];

/** Prefilled in the headers editor so users see where their token goes. */
export const DEFAULT_HEADERS = JSON.stringify({ Authorization: 'Bearer <token>' }, null, 2);

// Runs in the browser. A file rather than an inline script, so the CSP needs no
// 'unsafe-inline' or nonce for scripts; its settings come from a JSON data block,
// which the browser never executes.
const BOOTSTRAP = `'use strict';
(function () {
  var config = JSON.parse(document.getElementById('ide-config').textContent);
  // Subscriptions go over WebSocket to the same address (graphql-ws, bundled in GraphiQL); the
  // headers editor's values become the connection_init payload, where the service reads
  // "authorization" (header names are case-insensitive over HTTP, so they are sent lower-cased).
  var wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + config.url;
  var send = GraphiQL.createFetcher({ url: config.url, subscriptionUrl: wsUrl });
  var lowerCased = function (headers) {
    if (!headers || typeof headers !== 'object') return headers;
    var out = {};
    Object.keys(headers).forEach(function (key) { out[key.toLowerCase()] = headers[key]; });
    return out;
  };
  // GraphiQL updates the operation name 100 ms after an edit or a tab switch; a run
  // within that window sends the previous tab's name, which the server rejects.
  var fetcher = function (params, options) {
    var name = params.operationName;
    if (name && !new RegExp('\\\\b' + name + '\\\\b').test(params.query)) {
      params = Object.assign({}, params, { operationName: undefined });
    }
    return send(params, Object.assign({}, options, { headers: lowerCased(options && options.headers) }));
  };
  var render = function (tabs) {
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        defaultTabs: tabs,
        defaultHeaders: config.headers,
        isHeadersEditorEnabled: true,
        // Tokens must not end up in localStorage.
        shouldPersistHeaders: false,
        defaultEditorToolsVisibility: 'headers'
      })
    );
  };
  if (!config.openMode) return render(config.tabs);
  // Open mode: the subscription examples get the first fund's id (no token needed to ask).
  fetch(config.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ portfolioRoots { id } }' })
  }).then(function (res) { return res.json(); }).then(function (result) {
    var fund = result && result.data && result.data.portfolioRoots && result.data.portfolioRoots[0];
    if (!fund) return render(config.tabs);
    render(config.tabs.map(function (tab) {
      return tab.variables ? Object.assign({}, tab, { variables: tab.variables.split(config.fundPlaceholder).join(fund.id) }) : tab;
    }));
  }, function () { render(config.tabs); });
})();
`;

// Our own layout, also a file rather than inline, so it is covered by 'self'.
const PAGE_CSS = `html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; }
#graphiql { flex: 1; min-height: 0; }
.ide-banner { padding: 8px 16px; background: #b3261e; color: #fff; font: 600 14px/1.4 system-ui, sans-serif; }
`;

interface Asset {
  body: Buffer;
  type: string;
}

const packageDir = (name: string) => dirname(require.resolve(`${name}/package.json`));

function loadAssets(): Map<string, Asset> {
  const js = 'text/javascript; charset=utf-8';
  const css = 'text/css; charset=utf-8';
  const files: [string, string, string][] = [
    ['react.production.min.js', join(packageDir('react'), 'umd/react.production.min.js'), js],
    ['react-dom.production.min.js', join(packageDir('react-dom'), 'umd/react-dom.production.min.js'), js],
    ['graphiql.min.js', join(packageDir('graphiql'), 'graphiql.min.js'), js],
    ['graphiql.min.css', join(packageDir('graphiql'), 'graphiql.min.css'), css],
  ];
  const assets = new Map<string, Asset>(files.map(([name, path, type]) => [name, { body: readFileSync(path), type }]));
  assets.set('ide.js', { body: Buffer.from(BOOTSTRAP), type: js });
  assets.set('ide.css', { body: Buffer.from(PAGE_CSS), type: css });
  return assets;
}

// 'unsafe-inline' for styles only: GraphiQL's dialogs (settings, shortcuts)
// inject <style> elements (Radix scroll lock) whose content no hash can predict.
// Fonts in graphiql.min.css are data: URLs. The fetcher talks to this origin only.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function renderPage(base: string, openMode: boolean): string {
  const config = {
    url: '/graphql',
    headers: DEFAULT_HEADERS,
    // defaultTabs ignores defaultHeaders, so every tab carries the headers itself.
    tabs: [
      ...EXAMPLE_QUERIES.map((query) => ({ query, headers: DEFAULT_HEADERS })),
      ...EXAMPLE_SUBSCRIPTIONS.map(({ query, variables }) => ({ query, variables, headers: DEFAULT_HEADERS })),
    ],
    openMode,
    fundPlaceholder: FUND_ID_PLACEHOLDER,
  };
  // "<" escaped so no string in the config can close the data block.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  // The data: icon keeps browsers from asking for a /favicon.ico we do not have.
  const banner = openMode
    ? `<div class="ide-banner" role="alert">${escapeHtml(
        'This service runs without authentication: for local use only. Anyone who can reach it can read and change its data.',
      )}</div>\n`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portfolio data service: GraphQL IDE</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${base}/graphiql.min.css">
<link rel="stylesheet" href="${base}/ide.css">
</head>
<body>
${banner}<div id="graphiql">Loading the GraphQL IDE…</div>
<script type="application/json" id="ide-config">${json}</script>
<script src="${base}/react.production.min.js"></script>
<script src="${base}/react-dom.production.min.js"></script>
<script src="${base}/graphiql.min.js"></script>
<script src="${base}/ide.js"></script>
</body>
</html>
`;
}

export function graphqlIde(options: IdeOptions = {}): express.Router {
  const router = express.Router();
  const assets = loadAssets();
  // One version for all assets, from their contents: the URLs change whenever a
  // dependency is upgraded, so browsers may cache them for good.
  const hash = createHash('sha256');
  for (const [name, asset] of assets) hash.update(name).update(asset.body);
  const version = hash.digest('hex').slice(0, 16);
  const base = `/graphql/ide/${version}`;
  const page = renderPage(base, options.openMode === true);

  router.get('/graphql', (req, res, next) => {
    res.vary('Accept'); // the same URL answers HTML or JSON
    // Browsers navigating here prefer HTML; GraphQL clients ask for JSON or send */*.
    if (req.accepts(['application/json', 'application/graphql-response+json', 'text/html']) !== 'text/html') return next();
    res.set({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'Cache-Control': 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
    res.send(page);
  });

  router.get('/graphql/ide/:version/:file', (req, res) => {
    const asset = req.params.version === version ? assets.get(req.params.file) : undefined;
    // Answered here: the GraphQL middleware at /graphql would claim the path otherwise.
    if (!asset) return void res.status(404).type('text/plain').send('Not found');
    res.set({
      'Content-Type': asset.type,
      'Cache-Control': 'public, max-age=31536000, immutable',
      'X-Content-Type-Options': 'nosniff',
    });
    res.send(asset.body);
  });

  return router;
}
