// npm run bench -- [--sizes 10000,100000,1000000] [--runs 30] [--duration 10] [--connections 50]
//                  [--skip-postgraphile] [--only tree,exposure,lookups,page,snapshot,history,corpus,throughput,observability] [--as-of 2026-10-30]
//                  [--wait-idle 60] [--out bench/results] [--before <git-ref>]
// npm run bench -- --report-only bench/results/<date>.json   (re-renders the report and chart of a run)
//
// Performance benchmark (issue 7): for each data set size, a PostgreSQL database
// on the server of DATABASE_URL seeded by the project's generator (cached between
// runs), our service over HTTP (latency after warm-up, statements per request),
// the same answers from one hand-written SQL statement (the floor), a naive
// per-parent resolver server and PostGraphile 4 on the tree queries, and
// throughput at 50 connections; and the two-clock reads (group history: as of
// a past month-end, as known at a past moment, holdingsChange, one-row history
// lookups) on our service and, where one statement gives the answer, the floor.
// The corpus (group corpus: bench/corpus/*.graphql, what a front-end and an analyst send): every
// operation on our service (latency, statements, response bytes, errors), PostGraphile 4 where it
// can express it, and the floor where the operation is exactly a bench query that has one.
// With --before <git-ref>, the present-day queries also on the service as it was at that commit, on
// a data set its own code seeded, query by query right after ours (bench/lib/before.ts).
// At the smallest size, what metrics and tracing cost: the real service (src/main.ts) with metrics
// off, with the defaults (metrics on, tracing off) and with every request traced, taking turns
// (bench/lib/observability.ts).
// Writes bench/results/<date>.md, <date>.json and <date>-latency.svg. See bench/README.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { databaseConfigFrom } from '../src/config';
import { openDatabase, type Database, type QueryEvent } from '../src/db/database';
import { DEFAULT_LIMITS } from '../src/graphql/limits';
import { silentLogger } from '../src/logger';
import { createServer } from '../src/server';
import { floorDigest, oursDigest, postgraphileDigest } from './lib/answers';
import { loadCorpus, resolveVariables, type CorpusFacts, type CorpusOperation } from './lib/corpus';
import { factsForVariables, measuredBefore, prepareBeforeCommit, prepareBeforeDataset, startBeforeService, type BeforeCommit } from './lib/before';
import { BENCH_AS_OF, datasetFacts, prepareDataset, presentDatasetFacts, type DatasetFacts } from './lib/datasets';
import { floorVariants, schemaColumns } from './lib/floor';
import { graphql, requestBody } from './lib/http';
import { runLoad, totalErrors } from './lib/load';
import { machineInfo } from './lib/machine';
import { fmtMs, measure, measureInTurns, nowMs, stats, type MeasureOptions, type Stats } from './lib/measure';
import { startNaiveServer } from './lib/naive';
import { measureObservability } from './lib/observability';
import { countingPool, type CountingPool } from './lib/pools';
import { startPostGraphile } from './lib/postgraphile';
import {
  CORPUS_FLOORS, corpusFactsFor, historyPoints, PG_CORPUS, PG_CORPUS_CANNOT, PG_QUERIES, QUERIES, READ_MIX, TREE_POSITIONS_FIRST, type QueryId, type QuerySpec,
} from './lib/queries';
import { corpusKindRatios, writeReport } from './lib/report';
import type { BenchReport, CorpusResult, ExplainResult, QueryResult, RunOptions, SizeResult, SystemMeasurement, ThroughputResult, ThroughputRound } from './lib/types';

const started = Date.now();
const log = (line: string) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)} s] ${line}\n`);

function parseOptions(argv: string[]): RunOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: 'string', default: '10000,100000,1000000' },
      runs: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '3' },
      budget: { type: 'string', default: '15' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '50' },
      'skip-postgraphile': { type: 'boolean', default: false },
      only: { type: 'string' },
      'as-of': { type: 'string', default: BENCH_AS_OF },
      'wait-idle': { type: 'string', default: '60' },
      out: { type: 'string', default: join(__dirname, 'results') },
      'report-only': { type: 'string' },
      before: { type: 'string' },
      'throughput-rounds': { type: 'string', default: '2' },
    },
  });
  const whole = (name: string, text: string, min: number) => {
    if (!/^\d+$/.test(text) || Number(text) < min) throw new Error(`--${name} must be a whole number >= ${min}, got "${text}"`);
    return Number(text);
  };
  const sizes = (values.sizes ?? '').split(',').map((s) => whole('sizes', s.trim().replace(/_/g, ''), 100));
  const only = values.only ? values.only.split(',').map((s) => s.trim()).filter(Boolean) : null;
  // Corpus operations by name (or `corpus:<name>`, which leaves out a bench query of the same name).
  const corpusNames = loadCorpus().flatMap((op) => [op.name, `corpus:${op.name}`]);
  const known = new Set<string>(['throughput', 'baseline', 'observability', 'corpus', ...QUERIES.flatMap((q) => [q.id, q.group]), ...corpusNames]);
  for (const o of only ?? []) if (!known.has(o)) throw new Error(`--only: unknown "${o}" (known: ${[...known].join(', ')})`);
  return {
    sizes,
    runs: whole('runs', values.runs ?? '30', 1),
    warmup: whole('warmup', values.warmup ?? '3', 0),
    budgetSeconds: whole('budget', values.budget ?? '15', 1),
    durationSeconds: whole('duration', values.duration ?? '10', 1),
    connections: whole('connections', values.connections ?? '50', 1),
    skipPostgraphile: values['skip-postgraphile'] ?? false,
    only,
    asOf: values['as-of'] ?? BENCH_AS_OF,
    waitIdleSeconds: whole('wait-idle', values['wait-idle'] ?? '60', 0),
    outDir: resolve(values.out ?? join(__dirname, 'results')),
    reportOnly: values['report-only'] ?? null,
    before: values.before?.trim() || null,
    throughputRounds: whole('throughput-rounds', values['throughput-rounds'] ?? '2', 1),
  };
}

/**
 * Other work on the machine (tests of other engineers, a build) shows up in every figure: before a
 * size and before the throughput runs, wait (at most waitIdleSeconds) for the 1-minute load average
 * to fall below 60 % of the cores. The load average is recorded with every figure either way.
 */
async function waitForQuiet(maxSeconds: number): Promise<void> {
  const limit = os.cpus().length * 0.6;
  const deadline = Date.now() + maxSeconds * 1000;
  if (os.loadavg()[0]! < limit || maxSeconds === 0) return;
  log(`  waiting up to ${maxSeconds} s for the machine to settle (load average ${os.loadavg()[0]!.toFixed(2)}, want < ${limit.toFixed(1)})`);
  while (Date.now() < deadline && os.loadavg()[0]! >= limit) await new Promise((r) => setTimeout(r, 2_000));
  log(`  load average ${os.loadavg()[0]!.toFixed(2)}`);
}

const loadAvg = () => Math.round(os.loadavg()[0]! * 100) / 100;

/** The query cost limit of the services under test: the bench's queries are large on purpose. */
const MAX_COST = 100_000_000;

const message = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 300);
const median = (xs: number[]) => stats(xs).median;

interface Servers {
  db: Database;
  /** table.column of the public schema: which floor statements apply. */
  columns: Set<string>;
  oursUrl: string;
  /** The same service with the analytics cache on (oursUrl has it off). */
  oursCachedUrl: string;
  floor: CountingPool;
  naive: { url: string; pool: CountingPool } | null;
  postgraphile: { url: string; pool: CountingPool } | null;
  /** The service at the --before commit (a child process) and the facts of its own data set. */
  before: { url: string; facts: DatasetFacts } | null;
}

/** One system's side of a measurement: a request to time, and what its runs showed once timed. */
interface Probe<R> {
  run: () => Promise<void>;
  result: (stats: Stats) => R;
  close?: () => void;
}

type OursMeasurement = SystemMeasurement & { digest: string | null; data?: Record<string, unknown> };

/** A query on our service: latency, statements per request, Prisma-reported DB time, the answer. */
function oursProbe(servers: Servers, spec: { query: string; variables: Record<string, unknown> }, check?: (data: Record<string, unknown>) => void): Probe<OursMeasurement> {
  let events: QueryEvent[] = [];
  const off = servers.db.onQuery((e) => events.push(e));
  const counts = new Set<number>();
  const dbTimes: number[] = [];
  let last: QueryEvent[] = [];
  let data: Record<string, unknown> | undefined;
  let bytes = 0;
  return {
    run: async () => {
      events = [];
      const response = await graphql(servers.oursUrl, spec.query, spec.variables);
      check?.(response.data);
      last = events;
      counts.add(events.length);
      dbTimes.push(events.reduce((a, e) => a + e.durationMs, 0));
      data ??= response.data;
      bytes = response.bytes;
    },
    result: (result) => ({
      stats: result,
      statements: [...counts].sort((a, b) => a - b),
      statementLog: last.map((e) => ({ sql: e.query.trim().replace(/\s+/g, ' ').slice(0, 120), ms: e.durationMs })),
      dbMs: dbTimes.length ? median(dbTimes) : undefined,
      responseBytes: bytes,
      digest: null,
      data,
    }),
    close: off,
  };
}

/**
 * Latency and statements of a GraphQL server reached through a counting pool (naive, PostGraphile);
 * without a pool (the --before service, another process), latency only.
 */
function otherProbe(url: string, pool: CountingPool | null, query: string, variables: Record<string, unknown>) {
  const counts = new Set<number>();
  let last: string[] = [];
  let data: Record<string, unknown> | undefined;
  let bytes = 0;
  return {
    run: async () => {
      pool?.reset();
      const response = await graphql(url, query, variables);
      if (pool) {
        last = [...pool.statements];
        counts.add(pool.statements.length);
      }
      data ??= response.data;
      bytes = response.bytes;
    },
    result: (result: Stats) => {
      const distinct = [...new Map(last.map((s) => [s, last.filter((x) => x === s).length])).entries()];
      return {
        stats: result,
        statements: pool ? [...counts].sort((a, b) => a - b) : undefined,
        statementLog: pool ? distinct.map(([sql, n]) => ({ sql: n > 1 ? `${n} × ${sql}` : sql })) : undefined,
        responseBytes: bytes,
        data,
      };
    },
  } satisfies Probe<unknown>;
}

type OtherMeasurement = ReturnType<ReturnType<typeof otherProbe>['result']>;

async function measureProbe<R>(probe: Probe<R>, options: MeasureOptions): Promise<R> {
  try {
    return probe.result(await measure(probe.run, options));
  } finally {
    probe.close?.();
  }
}

/**
 * Probes of several systems measured in turns (measureInTurns): ours against PostGraphile on the
 * same question, so that drift of the machine falls on both. Each gets its result or its error.
 */
async function measureProbesInTurns<R extends unknown[]>(probes: { [K in keyof R]: Probe<R[K]> }, options: MeasureOptions): Promise<{ [K in keyof R]: R[K] | Error }> {
  try {
    const all = await measureInTurns(probes.map((p) => p.run), options);
    return probes.map((p, i) => {
      const s = all[i]!;
      return s instanceof Error ? s : p.result(s);
    }) as { [K in keyof R]: R[K] | Error };
  } finally {
    for (const p of probes) p.close?.();
  }
}

const measureOurs = (servers: Servers, spec: { query: string; variables: Record<string, unknown> }, options: MeasureOptions, check?: (data: Record<string, unknown>) => void) =>
  measureProbe(oursProbe(servers, spec, check), options);

const measureOther = (url: string, pool: CountingPool | null, query: string, variables: Record<string, unknown>, options: MeasureOptions) =>
  measureProbe(otherProbe(url, pool, query, variables), options);

/**
 * One query on the service at the --before commit, asked about its own data set (its fund and
 * issuer ids differ from ours). Measured right after ours, so that drift of the machine hits both.
 */
async function measureBefore(before: NonNullable<Servers['before']>, id: string, spec: { query: string; variables: Record<string, unknown> }, mo: MeasureOptions): Promise<SystemMeasurement> {
  try {
    const { data: _data, ...m } = await measureOther(before.url, null, spec.query, spec.variables, mo);
    log(`    before       ${id.padEnd(17)} median ${fmtMs(m.stats.median).padStart(7)} ms  p95 ${fmtMs(m.stats.p95).padStart(7)} ms  n=${m.stats.n}`);
    return m;
  } catch (error) {
    log(`    before       ${id.padEnd(17)} FAILED: ${message(error)}`);
    return { error: message(error) };
  }
}

/**
 * The floor of a query (`kind`: whose floor statements apply): the fastest of the statements the
 * schema supports that gives our answer (each checked against `oursDigestValue`; when ours failed,
 * any statement). undefined when the query has no floor.
 */
async function measureFloor(
  kind: QueryId, label: string, servers: Servers, facts: DatasetFacts, asOf: string, mo: MeasureOptions, oursDigestValue: string | null,
): Promise<SystemMeasurement | undefined> {
  const variants = floorVariants(kind, servers.columns);
  if (variants.length === 0) return undefined;
  const tried: { name: string; stats: Stats; same: boolean | null }[] = [];
  for (const variant of variants) {
    try {
      const params = variant.params(facts, asOf);
      let rows: Record<string, unknown>[] = [];
      const s = await measure(async () => {
        rows = (await servers.floor.pool.query(variant.sql, params)).rows as Record<string, unknown>[];
      }, mo);
      const same = oursDigestValue === null ? null : floorDigest(kind, rows) === oursDigestValue;
      tried.push({ name: variant.name, stats: s, same });
      log(`    floor        ${label.padEnd(17)} median ${fmtMs(s.median).padStart(7)} ms  p95 ${fmtMs(s.p95).padStart(7)} ms  same answer: ${same}  (${variant.name})`);
    } catch (error) {
      log(`    floor        ${label.padEnd(17)} FAILED (${variant.name}): ${message(error)}`);
    }
  }
  // Only a statement that gives our answer can be the floor (when ours failed, any statement).
  const usable = tried.filter((t) => t.same !== false);
  const best = [...(usable.length ? usable : tried)].sort((a, b) => a.stats.median - b.stats.median)[0];
  return best
    ? {
        stats: best.stats,
        statements: [1],
        sameAnswer: best.same,
        note: tried.length > 1 ? tried.map((t) => `${t.name} ${fmtMs(t.stats.median)} ms${t.same === false ? ' (different answer)' : ''}`).join('; ') : best.name,
      }
    : { error: 'every floor statement failed' };
}

async function measureQuery(spec: QuerySpec, allServers: Servers, facts: DatasetFacts, options: RunOptions, mo: MeasureOptions): Promise<QueryResult> {
  const variables = spec.variables(facts, options.asOf);
  const servers = spec.cached ? { ...allServers, oursUrl: allServers.oursCachedUrl } : allServers;
  /** Whose floor statements and answer digests apply. */
  const kind = spec.cached?.base ?? spec.id;
  const result: QueryResult = { id: spec.id, title: spec.title, systems: {}, loadAvg: loadAvg() };
  let oursDigestValue: string | null = null;

  // Ours.
  try {
    const fund = facts.fund.id;
    const deleteSnapshots = async () => {
      await servers.floor.pool.query('DELETE FROM snapshot_probe WHERE portfolio_node_id = $1', [fund]);
      await servers.floor.pool.query('DELETE FROM portfolio_snapshot WHERE portfolio_node_id = $1', [fund]);
    };
    let before: (() => Promise<void>) | undefined;
    let check: ((data: Record<string, unknown>) => void) | undefined;
    if (spec.id === 'snapshotNew' || spec.id === 'snapshotDedup') {
      const expected = spec.id === 'snapshotNew';
      check = (data) => {
        const created = (data.createPortfolioSnapshot as { created: boolean }).created;
        if (created !== expected) throw new Error(`createPortfolioSnapshot answered created = ${created}, expected ${expected}`);
      };
      if (expected) before = deleteSnapshots;
      else {
        await deleteSnapshots();
        await graphql(servers.oursUrl, spec.query, variables); // stores the content once: every timed run is the dedup path
      }
    }
    const ours = await measureOurs(servers, { query: spec.query, variables }, { ...mo, before }, check);
    oursDigestValue = ours.data ? oursDigest(kind, ours.data) : null;
    const { digest: _d, data: _data, ...measurement } = ours;
    result.systems.ours = measurement;
    log(`    ours         ${spec.id.padEnd(17)} median ${fmtMs(ours.stats?.median).padStart(7)} ms  p95 ${fmtMs(ours.stats?.p95).padStart(7)} ms  n=${ours.stats?.n}  statements ${ours.statements?.join('/')}`);
  } catch (error) {
    result.systems.ours = { error: message(error) };
    log(`    ours         ${spec.id.padEnd(17)} FAILED: ${message(error)}`);
  }

  // The earlier commit, right after ours (its answers are about another data set: not compared).
  if (servers.before && measuredBefore(spec)) {
    result.systems.before = await measureBefore(servers.before, spec.id, { query: spec.query, variables: spec.variables(servers.before.facts, options.asOf) }, mo);
  }

  // The floor: the fastest of the statements the schema supports, each checked against our answer.
  const floor = await measureFloor(kind, spec.id, servers, facts, options.asOf, mo, oursDigestValue);
  if (floor) result.systems.floor = floor;

  // The naive server and PostGraphile serve the tree shapes only.
  if (spec.id === 'tree' || spec.id === 'treePositions') {
    if (servers.naive) {
      try {
        const m = await measureOther(servers.naive.url, servers.naive.pool, spec.query, variables, mo);
        const { data, ...rest } = m;
        result.systems.naive = { ...rest, sameAnswer: data && oursDigestValue !== null ? oursDigest(spec.id, data) === oursDigestValue : null };
        log(`    naive        ${spec.id.padEnd(17)} median ${fmtMs(m.stats.median).padStart(7)} ms  p95 ${fmtMs(m.stats.p95).padStart(7)} ms  statements ${m.statements?.join('/')}  same answer: ${result.systems.naive.sameAnswer}`);
      } catch (error) {
        result.systems.naive = { error: message(error) };
        log(`    naive        ${spec.id.padEnd(17)} FAILED: ${message(error)}`);
      }
    }
    if (servers.postgraphile) {
      try {
        const pgVariables = spec.id === 'tree' ? { id: facts.fund.id } : { id: facts.fund.id, first: TREE_POSITIONS_FIRST };
        const m = await measureOther(servers.postgraphile.url, servers.postgraphile.pool, PG_QUERIES[spec.id], pgVariables, mo);
        const { data, ...rest } = m;
        result.systems.postgraphile = { ...rest, sameAnswer: data && oursDigestValue !== null ? postgraphileDigest(spec.id, data) === oursDigestValue : null };
        log(`    postgraphile ${spec.id.padEnd(17)} median ${fmtMs(m.stats.median).padStart(7)} ms  p95 ${fmtMs(m.stats.p95).padStart(7)} ms  statements ${m.statements?.join('/')}  same answer: ${result.systems.postgraphile.sameAnswer}`);
      } catch (error) {
        result.systems.postgraphile = { error: message(error) };
        log(`    postgraphile ${spec.id.padEnd(17)} FAILED: ${message(error)}`);
      }
    }
  }
  if (spec.id === 'snapshotNew' || spec.id === 'snapshotDedup') {
    await servers.floor.pool.query('DELETE FROM snapshot_probe WHERE portfolio_node_id = $1', [facts.fund.id]).catch(() => undefined);
    await servers.floor.pool.query('DELETE FROM portfolio_snapshot WHERE portfolio_node_id = $1', [facts.fund.id]).catch(() => undefined);
  }
  return result;
}

/** The statements of the last timed request kept in the JSON per corpus operation (some send one per node). */
const CORPUS_STATEMENT_LOG = 40;

/**
 * One corpus operation at one size: ours (the service with the analytics cache off), PostGraphile 4
 * where it can express the operation, and the floor where the operation is exactly a bench query
 * that has one. An operation that fails is recorded with its error, never left out.
 */
async function measureCorpusOperation(op: CorpusOperation, servers: Servers, corpusFacts: CorpusFacts, facts: DatasetFacts, options: RunOptions, mo: MeasureOptions): Promise<CorpusResult> {
  const result: CorpusResult = { id: op.name, kind: op.kind, title: op.description, variables: {}, systems: {}, loadAvg: loadAvg() };
  const label = op.name.length > 17 ? `${op.name.slice(0, 16)}…` : op.name;
  const floorOf = CORPUS_FLOORS[op.name];
  const pg = PG_CORPUS[op.name];
  if (!pg) result.postgraphileCannot = PG_CORPUS_CANNOT[op.name] ?? 'not assessed (no PostGraphile equivalent written in bench/lib/queries.ts)';
  let oursData: Record<string, unknown> | undefined;
  let ours: OursMeasurement | Error;
  // Where PostGraphile can express the operation, ours is measured again in turns with it
  // (measureInTurns): the comparison's pair. Ours alone stays the figure compared with the other
  // operations of its kind (most have no PostGraphile counterpart; in turns, each request meets the
  // caches and garbage of the other server's: 10-20 % slower for both).
  let theirs: OtherMeasurement | Error | null = null;
  try {
    result.variables = resolveVariables(op.variableTemplate, corpusFacts);
    ours = await measureProbe(oursProbe(servers, { query: op.query, variables: result.variables }), mo);
  } catch (error) {
    ours = error instanceof Error ? error : new Error(String(error));
  }
  if (pg && servers.postgraphile) {
    const { url, pool } = servers.postgraphile;
    try {
      const pgProbe = otherProbe(url, pool, pg.query, pg.variables(corpusFacts));
      if (ours instanceof Error) theirs = await measureProbe(pgProbe, mo); // nothing of ours to pair with
      else {
        const [oursBeside, pgResult] = await measureProbesInTurns<[OursMeasurement, OtherMeasurement]>(
          [oursProbe(servers, { query: op.query, variables: result.variables }), pgProbe], mo);
        theirs = pgResult;
        if (!(oursBeside instanceof Error) && oursBeside.stats) result.oursInTurns = { stats: oursBeside.stats };
      }
    } catch (error) {
      theirs = error instanceof Error ? error : new Error(String(error));
    }
  }
  if (ours instanceof Error) {
    result.systems.ours = { error: message(ours) };
    log(`    corpus ours  ${label.padEnd(17)} FAILED: ${message(ours)}`);
  } else {
    const { digest: _d, data, statementLog, ...measurement } = ours;
    oursData = data;
    result.systems.ours = { ...measurement, statementLog: statementLog?.slice(0, CORPUS_STATEMENT_LOG) };
    log(`    corpus ours  ${label.padEnd(17)} median ${fmtMs(ours.stats?.median).padStart(7)} ms  p95 ${fmtMs(ours.stats?.p95).padStart(7)} ms  n=${ours.stats?.n}  statements ${ours.statements?.join('/')}  ${ours.responseBytes} bytes`);
  }
  if (theirs instanceof Error) {
    result.systems.postgraphile = { error: message(theirs) };
    log(`    corpus PG    ${label.padEnd(17)} FAILED: ${message(theirs)}`);
  } else if (theirs && pg) {
    const { data, statementLog, ...rest } = theirs;
    const sameAnswer = pg.digest && data && oursData ? postgraphileDigest(pg.digest, data) === oursDigest(pg.digest, oursData) : null;
    result.systems.postgraphile = { ...rest, statementLog: statementLog?.slice(0, CORPUS_STATEMENT_LOG), sameAnswer };
    log(`    corpus PG    ${label.padEnd(17)} median ${fmtMs(theirs.stats.median).padStart(7)} ms  p95 ${fmtMs(theirs.stats.p95).padStart(7)} ms  statements ${theirs.statements?.join('/')}  same answer: ${sameAnswer}  (in turns with ours: ${fmtMs(result.oursInTurns?.stats.median)} ms)`);
  }
  if (floorOf) {
    const floor = await measureFloor(floorOf, label, servers, facts, options.asOf, mo, oursData ? oursDigest(floorOf, oursData) : null);
    if (floor) result.systems.floor = { ...floor, note: `the floor of ${floorOf}${floor.note ? `: ${floor.note}` : ''}` };
  }
  return result;
}

/** The fixed cost of a request on each server: `{ __typename }`. */
async function measureBaseline(servers: Servers, mo: MeasureOptions): Promise<QueryResult> {
  const result: QueryResult = { id: 'baseline', title: 'HTTP + GraphQL baseline: { __typename }', systems: {}, loadAvg: loadAvg() };
  const q = '{ __typename }';
  // Every server warmed and then timed in turns (measureInTurns): measured one after the other from
  // a cold process, the first one measured (ours) paid for the warm-up of what they share (2.1-3.8 ms
  // at the first size of a run against 0.6 ms at the next), and each met a different minute of a
  // busy machine (PostGraphile's figure moved between 0.41 and 0.71 ms from one size to the next).
  const others = ([['naive', servers.naive], ['postgraphile', servers.postgraphile]] as const).filter((o): o is readonly ['naive' | 'postgraphile', { url: string; pool: CountingPool }] => o[1] !== null);
  const probes: Probe<{ stats?: Stats; statements?: number[] }>[] = [
    oursProbe(servers, { query: q, variables: {} }),
    ...others.map(([, server]) => otherProbe(server.url, server.pool, q, {})),
  ];
  const measured = await measureProbesInTurns(probes, mo);
  const [ours, ...rest] = measured;
  result.systems.ours = ours instanceof Error ? { error: message(ours) } : { stats: ours!.stats, statements: ours!.statements };
  others.forEach(([id], k) => {
    const m = rest[k]!;
    result.systems[id] = m instanceof Error ? { error: message(m) } : { stats: m.stats, statements: m.statements };
  });
  if (servers.before) result.systems.before = await measureBefore(servers.before, 'baseline', { query: q, variables: {} }, mo);
  log(`    baseline { __typename }, in turns: ours ${fmtMs(result.systems.ours?.stats?.median)} ms, naive ${fmtMs(result.systems.naive?.stats?.median)} ms, postgraphile ${fmtMs(result.systems.postgraphile?.stats?.median)} ms`);
  return result;
}

/** The cost of one trivial statement through Prisma (our request path) and through pg directly. */
async function measureFixedCosts(db: Database, floor: CountingPool, mo: MeasureOptions): Promise<SizeResult['fixedCosts']> {
  try {
    const prisma = await measure(() => db.prisma.$queryRaw`SELECT 1`, { ...mo, runs: Math.max(mo.runs, 200) });
    const pg = await measure(() => floor.pool.query('SELECT 1'), { ...mo, runs: Math.max(mo.runs, 200) });
    log(`    SELECT 1: Prisma $queryRaw ${fmtMs(prisma.median)} ms, pg ${fmtMs(pg.median)} ms`);
    return { prismaSelect1: prisma, pgSelect1: pg };
  } catch (error) {
    log(`    SELECT 1 failed: ${message(error)}`);
    return null;
  }
}

/** EXPLAIN (ANALYZE, BUFFERS) of the slowest statement our service sends for a query. */
async function explainSlowest(servers: Servers, spec: QuerySpec, facts: DatasetFacts, asOf: string): Promise<ExplainResult | null> {
  let events: QueryEvent[] = [];
  const off = servers.db.onQuery((e) => events.push(e));
  try {
    await graphql(servers.oursUrl, spec.query, spec.variables(facts, asOf));
  } finally {
    off();
  }
  const slowest = [...events].sort((a, b) => b.durationMs - a.durationMs)[0];
  if (!slowest) return null;
  const params = JSON.parse(slowest.params) as unknown[];
  const plan = await servers.floor.pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${slowest.query}`, params);
  return {
    query: spec.id,
    statement: slowest.query.trim().replace(/\s+/g, ' ').slice(0, 200),
    durationMs: slowest.durationMs,
    plan: plan.rows.map((r) => r['QUERY PLAN']),
  };
}

async function runThroughput(servers: Servers, facts: DatasetFacts, options: RunOptions): Promise<ThroughputResult[]> {
  const spec = (id: QueryId) => QUERIES.find((q) => q.id === id)!;
  const body = (id: QueryId) => requestBody(spec(id).query, spec(id).variables(facts, options.asOf));
  const pgBody = (id: 'tree' | 'treePositions') =>
    requestBody(PG_QUERIES[id], id === 'tree' ? { id: facts.fund.id } : { id: facts.fund.id, first: TREE_POSITIONS_FIRST });
  const mix = READ_MIX.flatMap(([id, weight]) => Array.from({ length: weight }, () => body(id)));
  type Scenario = { scenario: string; system: ThroughputResult['system']; query: string; url: string | undefined; bodies: string[] };
  // Ours and PostGraphile on the same query take turns, in rounds mirrored (ours, PostGraphile,
  // PostGraphile, ours, ...), so that neither always follows the other's load or always meets the
  // later, busier minutes; each system's figure is its best round (a busy machine only ever slows a
  // run down), every round kept in the JSON. The naive server and the mix, one round each.
  const compared = (query: 'tree' | 'treePositions'): Scenario[] => {
    const ours: Scenario = { scenario: query, system: 'ours', query, url: servers.oursUrl, bodies: [body(query)] };
    const pg: Scenario = { scenario: query, system: 'postgraphile', query, url: servers.postgraphile?.url, bodies: [pgBody(query)] };
    return Array.from({ length: options.throughputRounds ?? 1 }, (_, r) => (r % 2 === 0 ? [ours, pg] : [pg, ours])).flat();
  };
  const scenarios: Scenario[] = [
    { scenario: `read mix (${READ_MIX.map(([id, w]) => `${id}×${w}`).join(', ')})`, system: 'ours', query: 'mix', url: servers.oursUrl, bodies: mix },
    ...compared('tree'),
    { scenario: 'tree', system: 'naive', query: 'tree', url: servers.naive?.url, bodies: [body('tree')] },
    ...compared('treePositions'),
  ];
  const results: ThroughputResult[] = [];
  for (const s of scenarios) {
    if (!s.url) continue;
    const load = loadAvg();
    let result: ThroughputResult;
    try {
      const run = await runLoad({ url: s.url, bodies: s.bodies, connections: options.connections, durationSeconds: options.durationSeconds, warmupSeconds: 2 });
      result = { scenario: s.scenario, system: s.system, query: s.query, result: run, loadAvg: load };
      log(`    load ${s.system.padEnd(12)} ${s.query.padEnd(14)} ${run.requestsPerSecond.toFixed(1).padStart(8)} req/s  p50 ${run.latency.p50} ms  p99 ${run.latency.p99} ms  errors ${totalErrors(run)}`);
    } catch (error) {
      result = { scenario: s.scenario, system: s.system, query: s.query, error: message(error) };
      log(`    load ${s.system.padEnd(12)} ${s.query.padEnd(14)} FAILED: ${message(error)}`);
    }
    // One entry per system and query: its best round, with every round beside it.
    const earlier = results.find((r) => r.system === s.system && r.query === s.query);
    if (!earlier) {
      results.push({ ...result, rounds: [roundOf(result)] });
      continue;
    }
    earlier.rounds = [...(earlier.rounds ?? []), roundOf(result)];
    const better = result.result && (!earlier.result || result.result.requestsPerSecond > earlier.result.requestsPerSecond);
    if (better) Object.assign(earlier, { result: result.result, loadAvg: result.loadAvg, error: undefined });
  }
  return results;
}

const roundOf = (t: ThroughputResult): ThroughputRound =>
  t.result ? { requestsPerSecond: t.result.requestsPerSecond, p50: t.result.latency.p50, p99: t.result.latency.p99, errors: totalErrors(t.result), loadAvg: t.loadAvg } : { error: t.error ?? 'failed' };

/**
 * The cost of metrics (on by default) and of tracing (off by default, then not even loaded) on the
 * request path: three real services (src/main.ts) on this data set, taking turns under the same load.
 */
async function runObservability(url: string, facts: DatasetFacts, options: RunOptions): Promise<SizeResult['observability']> {
  await waitForQuiet(options.waitIdleSeconds);
  const tree = QUERIES.find((q) => q.id === 'tree')!;
  log(`  observability: metrics off / metrics on, tracing off (the default) / every request traced; 3 rounds of ${Math.min(options.durationSeconds, 5)} s, 10 connections`);
  try {
    return await measureObservability({
      rounds: 3,
      durationSeconds: Math.min(options.durationSeconds, 5),
      connections: 10,
      database: () => ({ DATABASE_URL: url }),
      env: { MAX_QUERY_COST: String(MAX_COST) },
      queries: [
        { name: 'typename', query: '{ __typename }' },
        { name: 'tree', query: tree.query, variables: tree.variables(facts, options.asOf) },
      ],
      log,
    });
  } catch (error) {
    log(`  observability FAILED: ${message(error)}`);
    return { error: message(error) };
  }
}

async function runSize(adminUrl: string, size: number, options: RunOptions, largest: boolean, smallest: boolean, beforeCommit: BeforeCommit | null): Promise<SizeResult> {
  const sizeStarted = Date.now();
  log(`size ${size.toLocaleString('en')}: preparing the data set`);
  const dataset = await prepareDataset(adminUrl, size, log);
  const facts = await datasetFacts(dataset.url);
  log(`  ${facts.positions.toLocaleString('en')} positions, ${facts.nodes} nodes, ${facts.valuations.toLocaleString('en')} valuations; largest fund "${facts.fund.name}" (${facts.fund.baseCcy}): ${facts.fund.nodes} nodes, ${facts.fund.positions.toLocaleString('en')} positions`);

  const selected = (q: QuerySpec) => !options.only || options.only.includes(q.id) || options.only.includes(q.group);
  const corpusOps = loadCorpus().filter((op) => !options.only || ['corpus', op.name, `corpus:${op.name}`].some((id) => options.only!.includes(id)));
  if (QUERIES.some((q) => q.group === 'history' && selected(q))) {
    const h = facts.history;
    const p = historyPoints(facts, options.asOf);
    log(`  two clocks: ${h.positionVersions.toLocaleString('en')} position versions (${h.supersededVersions.toLocaleString('en')} superseded), ` +
      `${h.supersededValuations.toLocaleString('en')} superseded valuations, ${h.supersededRatings.toLocaleString('en')} superseded ratings, ${h.restatedFxFeeds} restated FX dates`);
    log(`  two clocks: latest ${p.latest}, previous month-end ${p.previous}, past month-end ${p.past}; knownAt ${p.knownAt} (${h.knownAtRule})`);
    log(`  two clocks: position ${h.position.id} (${h.position.status}, ${h.position.versions} versions${h.position.restated ? ', a superseded valuation' : ''}; valuationVersions of ${p.valuationDate}); issuer ${h.issuer.name}${h.issuer.restated ? ' (a superseded S&P rating)' : ''}`);
  }
  let before: SizeResult['before'];
  if (beforeCommit) {
    const beforeDataset = await prepareBeforeDataset(beforeCommit, adminUrl, size, log);
    const beforeFacts = await presentDatasetFacts(beforeDataset.url);
    before = { dataset: beforeDataset, facts: beforeFacts };
    log(`  before ${beforeCommit.short}: ${beforeFacts.positions.toLocaleString('en')} positions; largest fund "${beforeFacts.fund.name}" (${beforeFacts.fund.baseCcy}): ${beforeFacts.fund.nodes} nodes, ${beforeFacts.fund.positions.toLocaleString('en')} positions`);
  }

  const db = await openDatabase(databaseConfigFrom({ ...process.env, DATABASE_URL: dataset.url }));
  // Two instances on the same pool: the analytics cache off (every figure is a computation) and on.
  const serviceConfig = { production: false, graphqlIntrospection: false, graphqlIde: false, auth: { mode: 'off' as const }, limits: { ...DEFAULT_LIMITS, maxCost: MAX_COST }, logStatementCounts: false };
  const service = await createServer({ config: { ...serviceConfig, analyticsCacheBytes: 0 }, db, logger: silentLogger });
  const port = await service.listen(0, '127.0.0.1');
  const cachedService = await createServer({ config: serviceConfig, db, logger: silentLogger });
  const cachedPort = await cachedService.listen(0, '127.0.0.1');
  const floor = countingPool(dataset.url, 'pds-bench-floor');
  const naivePool = countingPool(dataset.url, 'pds-bench-naive');
  const naive = await startNaiveServer(naivePool.pool);
  const pgPool = options.skipPostgraphile ? null : countingPool(dataset.url, 'pds-bench-postgraphile');
  const postgraphile = pgPool ? await startPostGraphile(pgPool.pool) : null;
  const beforeService = beforeCommit && before ? await startBeforeService(beforeCommit, before.dataset.url, MAX_COST, log) : null;
  const servers: Servers = {
    db,
    columns: await schemaColumns(floor.pool),
    oursUrl: `http://127.0.0.1:${port}/graphql`,
    oursCachedUrl: `http://127.0.0.1:${cachedPort}/graphql`,
    floor,
    naive: { url: naive.url, pool: naivePool },
    postgraphile: postgraphile && pgPool ? { url: postgraphile.url, pool: pgPool } : null,
    before: beforeService && before ? { url: beforeService.url, facts: factsForVariables(before.facts) } : null,
  };
  const mo: MeasureOptions = { warmup: options.warmup, warmupMs: 1_000, runs: options.runs, budgetMs: options.budgetSeconds * 1000, minRuns: Math.min(5, options.runs) };
  const queries: QueryResult[] = [];
  const corpus: CorpusResult[] = [];
  let corpusFacts: CorpusFacts | undefined;
  const throughput: ThroughputResult[] = [];
  const explains: ExplainResult[] = [];
  let fixedCosts: SizeResult['fixedCosts'] = null;
  try {
    await waitForQuiet(options.waitIdleSeconds);
    // The baseline first, with a long warm-up: it also warms the HTTP and GraphQL paths of every server.
    queries.push(await measureBaseline(servers, { ...mo, warmupMs: 3_000 }));
    fixedCosts = await measureFixedCosts(db, floor, mo);
    for (const spec of QUERIES.filter(selected)) queries.push(await measureQuery(spec, servers, facts, options, mo));
    if (corpusOps.length > 0) {
      corpusFacts = await corpusFactsFor(async (sql, params) => (await floor.pool.query(sql, params)).rows, facts, options.asOf);
      const c = corpusFacts;
      log(`  corpus: ${corpusOps.length} operations; fund ${c.fund}, desk ${c.desk}, book ${c.book}, position ${c.position} (valuation ${c.valuationDate}), instrument ${c.isin}, issuer ${c.issuer} ("${c.search}"), asOf ${c.asOf}, pastAsOf ${c.pastAsOf}, knownAt ${c.knownAt}`);
      for (const op of corpusOps) corpus.push(await measureCorpusOperation(op, servers, corpusFacts, facts, options, mo));
      const ratios = corpusKindRatios(corpus);
      for (const r of corpus) {
        const of = ratios.get(r.id);
        if (of !== undefined) r.ofFastestOfKind = of;
      }
    }
    if (largest) {
      for (const spec of QUERIES.filter((q) => selected(q) && ['tree', 'treePositions', 'exposureIssuer', 'page500', 'marketValue', 'exposureIssuerKnownAt', 'holdingsChangeDates'].includes(q.id))) {
        try {
          const e = await explainSlowest(servers, spec, facts, options.asOf);
          if (e) explains.push(e);
        } catch (error) {
          log(`    explain ${spec.id} failed: ${message(error)}`);
        }
      }
    }
    if (!options.only || options.only.includes('throughput')) await waitForQuiet(options.waitIdleSeconds);
    if (!options.only || options.only.includes('throughput')) throughput.push(...(await runThroughput(servers, facts, options)));
  } finally {
    await beforeService?.stop();
    await service.stop();
    await cachedService.stop();
    await db.close();
    await naive.close();
    if (postgraphile) await postgraphile.close();
    await Promise.all([floor.pool.end(), naivePool.pool.end(), pgPool?.pool.end()]);
  }
  let observability: SizeResult['observability'];
  if (smallest && (!options.only || options.only.includes('observability'))) observability = await runObservability(dataset.url, facts, options);
  const seconds = (Date.now() - sizeStarted) / 1000;
  log(`size ${size.toLocaleString('en')} done in ${seconds.toFixed(0)} s`);
  return {
    size, dataset, facts, queries, throughput, explains, fixedCosts, seconds,
    ...(corpusFacts ? { corpusFacts, corpus } : {}), ...(before ? { before } : {}), ...(observability ? { observability } : {}),
  };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options.reportOnly) {
    // Re-renders the Markdown report and the chart of an earlier run from its JSON, next to it.
    const report = JSON.parse(readFileSync(options.reportOnly, 'utf8')) as BenchReport;
    log(`wrote ${writeReport(report, dirname(resolve(options.reportOnly))).join(', ')}`);
    return;
  }
  const config = databaseConfigFrom(process.env);
  if (config.kind !== 'postgres') throw new Error('set DATABASE_URL to a PostgreSQL server (e.g. postgresql://postgres@localhost:5433/postgres); the bench creates its own databases there');
  const machine = await machineInfo(config.url);
  log(`${machine.cpuModel}, ${machine.cores} cores, ${machine.ramGiB} GiB; PostgreSQL ${machine.postgres.version}; Node ${machine.node}`);
  const beforeCommit = options.before ? await prepareBeforeCommit(options.before, log) : null;
  const sizes: SizeResult[] = [];
  const largest = Math.max(...options.sizes);
  const smallest = Math.min(...options.sizes);
  for (const size of options.sizes) sizes.push(await runSize(config.url, size, options, size === largest, size === smallest, beforeCommit));
  const date = new Date().toISOString().slice(0, 10);
  const report: BenchReport = {
    date,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    command: process.argv.length > 2 ? `npm run bench -- ${process.argv.slice(2).join(' ')}` : 'npm run bench',
    options,
    machine,
    ...(beforeCommit ? { before: { ref: beforeCommit.ref, commit: beforeCommit.commit, short: beforeCommit.short } } : {}),
    sizes,
  };
  mkdirSync(options.outDir, { recursive: true });
  const files = writeReport(report, options.outDir);
  writeFileSync(join(options.outDir, `${date}.json`), `${JSON.stringify(report, null, 2)}\n`);
  log(`wrote ${[...files, join(options.outDir, `${date}.json`)].join(', ')} in ${report.seconds.toFixed(0)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
