// The corpus of realistic operations (bench/corpus/*.graphql): what a risk
// front-end and an analyst send, one named operation per file, measured by the
// bench and bounded in statements by test/integration/corpus.test.ts.
//
// A file starts with header comments, then the document:
//   # variables: {"id": "$fund", "asOf": "$asOf", "currency": "USD"}
//   # kind: tree
//   # What the operation is, in a line or two (optional).
//   query TreeActiveCounts($id: ID!) { ... }
// The file name is the operation's name in camelCase (treeActiveCounts.graphql).
// A string value of the variables that is exactly `$name` is a placeholder,
// resolved from the facts of a data set (corpusFacts below); any other value
// is sent as it is. `kind` groups operations to compare like with like.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Kind, parse, type OperationDefinitionNode } from 'graphql';

export const CORPUS_DIR = resolve(__dirname, '../corpus');

export const CORPUS_KINDS = ['tree', 'page', 'exposure', 'lookup', 'history', 'other'] as const;
export type CorpusKind = (typeof CORPUS_KINDS)[number];

export interface CorpusOperation {
  /** The file name without `.graphql`: the operation's name in camelCase. */
  name: string;
  /** Absolute path of the file. */
  file: string;
  /** The whole file, header comments included (comments are ignored by GraphQL). */
  query: string;
  /** The variables as written, placeholders unresolved. */
  variableTemplate: Record<string, unknown>;
  kind: CorpusKind;
  /** The header's free-text comment lines, joined. */
  description: string;
}

/**
 * The values placeholders stand for, chosen deterministically from a data set (corpusFacts).
 * A placeholder `$fund` is replaced by `facts.fund`.
 */
export interface CorpusFacts {
  /** The FUND holding the most positions (ties: smallest id), or the one given (the bench: its largest fund). */
  fund: string;
  /** The DESK of that fund with the most positions below it. */
  desk: string;
  /** The BOOK of that desk with the most positions (its own and its strategies'). */
  book: string;
  /** A position of the fund with a corrected valuation and the most versions (ACTIVE preferred). */
  position: string;
  /** The date of that position's corrected valuation (else its latest valuation date, else asOf). */
  valuationDate: string;
  /** The instrument with an ISIN and an issuer held most often in the fund, and its ISIN. */
  instrument: string;
  isin: string;
  /** The issuer with the longest rating history. */
  issuer: string;
  /** The first word of that issuer's name: what an analyst types in a search box. */
  search: string;
  /** The latest valuation date, and the valuation date before it (a month-end in seeded data). */
  asOf: string;
  pastAsOf: string;
  /** A past moment: a week before the latest recorded position version (ISO, to the millisecond). */
  knownAt: string;
}

const PLACEHOLDER = /^\$([A-Za-z][A-Za-z0-9]*)$/;
const HEADER = /^#\s*(variables|kind)\s*:\s*(.*)$/;

function parseOperation(file: string, name: string, text: string): OperationDefinitionNode {
  const document = parse(text);
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1) throw new Error(`${file}: one operation per file, found ${operations.length}`);
  const [operation] = operations as [OperationDefinitionNode];
  const opName = operation.name?.value;
  if (!opName) throw new Error(`${file}: the operation must be named`);
  const camel = opName.charAt(0).toLowerCase() + opName.slice(1);
  if (camel !== name) throw new Error(`${file}: the file name must be the operation's name in camelCase (${camel}.graphql)`);
  return operation;
}

/** One corpus file: its header (variables first, then kind), checked, and the named operation. */
export function readCorpusFile(file: string): CorpusOperation {
  const name = basename(file, '.graphql');
  const query = readFileSync(file, 'utf8');
  const header: Record<string, string> = {};
  const description: string[] = [];
  const lines = query.split('\n');
  if (!/^#\s*variables\s*:/.test(lines[0] ?? '')) throw new Error(`${file}: the first line must be "# variables: {...}"`);
  for (const line of lines) {
    if (!line.startsWith('#')) break;
    const match = HEADER.exec(line);
    if (match) header[match[1] as string] = (match[2] as string).trim();
    else description.push(line.replace(/^#\s?/, ''));
  }
  let variableTemplate: unknown;
  try {
    variableTemplate = JSON.parse(header.variables as string);
  } catch (error) {
    throw new Error(`${file}: the variables line is not JSON (${(error as Error).message})`);
  }
  if (typeof variableTemplate !== 'object' || variableTemplate === null || Array.isArray(variableTemplate)) {
    throw new Error(`${file}: the variables must be a JSON object`);
  }
  const kind = header.kind as CorpusKind | undefined;
  if (!kind || !CORPUS_KINDS.includes(kind)) throw new Error(`${file}: "# kind:" must be one of ${CORPUS_KINDS.join(', ')}`);
  parseOperation(file, name, query);
  return { name, file, query, variableTemplate: variableTemplate as Record<string, unknown>, kind, description: description.join(' ').trim() };
}

/** Every `*.graphql` of `dir`, by file name. */
export function loadCorpus(dir: string = CORPUS_DIR): CorpusOperation[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readCorpusFile(join(dir, f)));
}

/** The placeholder names (without `$`) a template uses, in order of first use. */
export function placeholdersOf(template: unknown): string[] {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      const match = PLACEHOLDER.exec(value);
      if (match) found.add(match[1] as string);
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(template);
  return [...found];
}

/**
 * The variables to send: every string that is exactly `$name` replaced by `facts[name]` (at any
 * depth, in objects and arrays); a placeholder without a fact is an error, never sent as text.
 */
export function resolveVariables(template: Record<string, unknown>, facts: object): Record<string, unknown> {
  const values = facts as Record<string, unknown>;
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') {
      const match = PLACEHOLDER.exec(value);
      if (!match) return value;
      const key = match[1] as string;
      if (!Object.prototype.hasOwnProperty.call(values, key) || values[key] === undefined) {
        throw new Error(`no fact for placeholder ${value} (facts: ${Object.keys(values).join(', ')})`);
      }
      return values[key];
    }
    if (Array.isArray(value)) return value.map(walk);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    return value;
  };
  return walk(template) as Record<string, unknown>;
}

/** One statement with $1.. parameters, rows back (db.sql.query, or a pg Client wrapped). */
export type FactsQuery = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

interface NodeRow {
  id: string;
  parent_id: string | null;
  node_type: string;
  positions: number;
}

async function one<T>(query: FactsQuery, what: string, sql: string, params: unknown[] = []): Promise<T> {
  const [row] = await query<T>(sql, params);
  if (!row) throw new Error(`corpus facts: no ${what} in this data set`);
  return row;
}

/** The node with the most positions in its subtree among `candidates` (ties: smallest id). */
function largest(candidates: NodeRow[], below: Map<string, number>, what: string): NodeRow {
  const [best] = [...candidates].sort((a, b) => (below.get(b.id)! - below.get(a.id)!) || (a.id < b.id ? -1 : 1));
  if (!best) throw new Error(`corpus facts: no ${what} in this data set`);
  return best;
}

/**
 * The nodes: fund, desk and book, each the largest of its level along one path; with `fundId`,
 * that fund (a root node) instead of the largest, and its largest desk and book.
 */
async function nodeFacts(query: FactsQuery, fundId?: string): Promise<{ fund: NodeRow; desk: NodeRow; book: NodeRow; fundNodes: string[] }> {
  const nodes = await query<NodeRow>(`
    SELECT n.id::text AS id, n.parent_id::text AS parent_id, n.node_type::text AS node_type, coalesce(c.n, 0)::int AS positions
    FROM portfolio_node n LEFT JOIN (SELECT portfolio_node_id, count(*) AS n FROM position GROUP BY 1) c ON c.portfolio_node_id = n.id`);
  const children = new Map<string, NodeRow[]>();
  for (const n of nodes) if (n.parent_id) children.set(n.parent_id, [...(children.get(n.parent_id) ?? []), n]);
  const below = new Map<string, number>();
  const subtree = (n: NodeRow): number => {
    const total = n.positions + (children.get(n.id) ?? []).reduce((sum, c) => sum + subtree(c), 0);
    below.set(n.id, total);
    return total;
  };
  const funds = nodes.filter((n) => n.parent_id === null);
  funds.forEach(subtree);
  const fund = fundId === undefined ? largest(funds, below, 'FUND') : funds.find((f) => f.id === fundId);
  if (!fund) throw new Error(`corpus facts: ${fundId} is not a FUND (root node) of this data set`);
  const desk = largest(children.get(fund.id) ?? [], below, 'DESK under the largest fund');
  const book = largest(children.get(desk.id) ?? [], below, 'BOOK under that desk');
  const fundNodes: string[] = [];
  const collect = (n: NodeRow): void => {
    fundNodes.push(n.id);
    (children.get(n.id) ?? []).forEach(collect);
  };
  collect(fund);
  return { fund, desk, book, fundNodes };
}

/**
 * What a caller has already chosen (the bench: its largest fund, its as-of date, ...): used as
 * given, and what depends on it is derived from it (the desk and book under the given fund, the
 * search word from the given issuer's name). `position` needs `valuationDate` too.
 */
export type GivenCorpusFacts = Partial<Pick<CorpusFacts, 'fund' | 'asOf' | 'pastAsOf' | 'position' | 'valuationDate' | 'issuer' | 'knownAt'>>;

/**
 * The facts of the database `query` reads: what the placeholders of the corpus stand for.
 * `given` overrides a fact (see GivenCorpusFacts); without it every fact is chosen here.
 */
export async function corpusFacts(query: FactsQuery, given: GivenCorpusFacts = {}): Promise<CorpusFacts> {
  if ((given.position === undefined) !== (given.valuationDate === undefined)) throw new Error('corpus facts: give position and valuationDate together');
  const { fund, desk, book, fundNodes } = await nodeFacts(query, given.fund);
  const dates = await one<{ as_of: string; past: string | null }>(query, 'valuation', `
    SELECT max(as_of_date)::text AS as_of,
           (SELECT max(as_of_date)::text FROM valuation_result WHERE as_of_date < (SELECT max(as_of_date) FROM valuation_result)) AS past
    FROM valuation_result HAVING count(*) > 0`);
  const [restated] = given.position !== undefined ? [{ id: given.position, date: given.valuationDate ?? null }] : await query<{ id: string; date: string | null }>(`
    SELECT r.position_id::text AS id, max(r.as_of_date)::text AS date
    FROM valuation_result r JOIN position p ON p.id = r.position_id
    WHERE r.superseded_at IS NOT NULL AND p.portfolio_node_id = ANY($1::uuid[])
    GROUP BY r.position_id, p.status
    ORDER BY (p.status = 'ACTIVE') DESC, (SELECT count(*) FROM position_version v WHERE v.position_id = r.position_id) DESC, r.position_id
    LIMIT 1`, [fundNodes]);
  const position = restated ?? await one<{ id: string; date: string | null }>(query, 'position in the largest fund', `
    SELECT p.id::text AS id, (SELECT max(as_of_date)::text FROM valuation_result r WHERE r.position_id = p.id) AS date
    FROM position p WHERE p.portfolio_node_id = ANY($1::uuid[]) ORDER BY (p.status = 'ACTIVE') DESC, p.id LIMIT 1`, [fundNodes]);
  const instrument = await one<{ id: string; isin: string }>(query, 'instrument with an ISIN and an issuer held in the largest fund', `
    SELECT i.id::text AS id, i.isin FROM position p JOIN instrument i ON i.id = p.instrument_id
    WHERE p.portfolio_node_id = ANY($1::uuid[]) AND i.isin IS NOT NULL AND i.issuer_id IS NOT NULL
    GROUP BY i.id, i.isin ORDER BY count(*) DESC, i.id LIMIT 1`, [fundNodes]);
  const issuer = given.issuer !== undefined
    ? await one<{ id: string; name: string }>(query, `issuer ${given.issuer}`, 'SELECT e.id::text AS id, e.name FROM reference_data e WHERE e.id = $1::uuid', [given.issuer])
    : await one<{ id: string; name: string }>(query, 'rated issuer', `
    SELECT e.id::text AS id, e.name FROM rating_history h JOIN reference_data e ON e.id = h.entity_id
    WHERE e.entity_type = 'ISSUER' GROUP BY e.id, e.name ORDER BY count(*) DESC, e.id LIMIT 1`);
  const recorded = await one<{ known_at: string }>(query, 'position version', `
    SELECT to_char((max(recorded_at) - interval '7 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS known_at
    FROM position_version HAVING count(*) > 0`);
  return {
    fund: fund.id, desk: desk.id, book: book.id,
    position: position.id, valuationDate: position.date ?? dates.as_of,
    instrument: instrument.id, isin: instrument.isin.trim(),
    issuer: issuer.id, search: issuer.name.split(/\s+/)[0] as string,
    asOf: given.asOf ?? dates.as_of, pastAsOf: given.pastAsOf ?? dates.past ?? dates.as_of,
    knownAt: given.knownAt ?? recorded.known_at,
  };
}
