// The shape of one benchmark run's results (also written as JSON next to the report).
import type { CorpusFacts, CorpusKind } from './corpus';
import type { Dataset, DatasetFacts, PresentFacts } from './datasets';
import type { LoadResult } from './load';
import type { MachineInfo } from './machine';
import type { ObservabilityResult } from './observability';
import type { Stats } from './measure';
import type { QueryId } from './queries';

/** `before`: our service as it was at the commit of --before, on a data set seeded by that commit. */
export type SystemId = 'ours' | 'floor' | 'naive' | 'postgraphile' | 'before';

export interface SystemMeasurement {
  stats?: Stats;
  /** Distinct statement counts seen per request (one value when constant). */
  statements?: number[];
  /** The statements of the last timed request: first words and, for ours, Prisma's duration. */
  statementLog?: { sql: string; ms?: number }[];
  /** Median over timed requests of the summed statement durations Prisma reports (ours only). */
  dbMs?: number;
  responseBytes?: number;
  /** Whether the answer equals ours (null: not compared). */
  sameAnswer?: boolean | null;
  error?: string;
  /** E.g. which floor statement was the fastest, and the others' medians. */
  note?: string;
}

export interface QueryResult {
  id: QueryId | 'baseline';
  title: string;
  systems: Partial<Record<SystemId, SystemMeasurement>>;
  /** The machine's 1-minute load average when the figure started (other work on the machine). */
  loadAvg?: number;
}

/** One corpus operation (bench/corpus/<id>.graphql) at one size. */
export interface CorpusResult {
  /** The operation's name (its file name). */
  id: string;
  kind: CorpusKind;
  /** The header's description. */
  title: string;
  /** The variables sent (placeholders resolved). */
  variables: Record<string, unknown>;
  /**
   * ours: the in-process service with the analytics cache off (median, p95, statements, response bytes;
   * `error` when the operation failed); floor: where the operation is exactly a bench query with a floor
   * (CORPUS_FLOORS); postgraphile: where PostGraphile 4 can express it (PG_CORPUS).
   */
  systems: Partial<Record<'ours' | 'floor' | 'postgraphile', SystemMeasurement>>;
  /** ours ÷ the fastest median of the same kind at this size (1 for the fastest); absent when ours failed. */
  ofFastestOfKind?: number;
  /** Ours measured again in turns with PostGraphile (where it can express the operation): the pair the comparison uses. */
  oursInTurns?: { stats: Stats };
  /** Why PostGraphile 4 cannot express it (absent when it can, or when not assessed). */
  postgraphileCannot?: string;
  loadAvg?: number;
}

/** One timed run of a throughput scenario (a system's figure is its best round). */
export type ThroughputRound = { requestsPerSecond: number; p50: number; p99: number; errors: number; loadAvg?: number } | { error: string };

export interface ThroughputResult {
  scenario: string;
  system: SystemId;
  query: string;
  /** The best round (the most requests per second). */
  result?: LoadResult;
  error?: string;
  loadAvg?: number;
  /** Every round, in the order run (ours and PostGraphile take turns). */
  rounds?: ThroughputRound[];
}

export interface ExplainResult {
  query: QueryId;
  statement: string;
  durationMs: number;
  plan: string[];
}

export interface SizeResult {
  size: number;
  dataset: Dataset;
  facts: DatasetFacts;
  queries: QueryResult[];
  throughput: ThroughputResult[];
  explains: ExplainResult[];
  /** One `SELECT 1` through Prisma ($queryRaw) and through pg: the per-statement cost outside the database. */
  fixedCosts: { prismaSelect1: Stats; pgSelect1: Stats } | null;
  seconds: number;
  /** With --before: the earlier commit's data set of this size and what its queries asked about (no `history`). */
  before?: { dataset: Dataset; facts: PresentFacts };
  /** The corpus (group `corpus`): what its placeholders stood for, and each operation's figures. Absent when not measured. */
  corpusFacts?: CorpusFacts;
  corpus?: CorpusResult[];
  /** What metrics and tracing cost (bench/lib/observability.ts); measured at the smallest size only. */
  observability?: ObservabilityResult | { error: string };
}

export interface RunOptions {
  sizes: number[];
  runs: number;
  warmup: number;
  budgetSeconds: number;
  durationSeconds: number;
  connections: number;
  skipPostgraphile: boolean;
  only: string[] | null;
  asOf: string;
  waitIdleSeconds: number;
  outDir: string;
  /** Re-render the report of this results JSON instead of running. */
  reportOnly?: string | null;
  /** --before: the git ref of the earlier commit measured side by side (absent in runs before the option). */
  before?: string | null;
  /** Rounds of each throughput scenario ours and PostGraphile share, taken in turns (absent in runs before the option: one). */
  throughputRounds?: number;
}

export interface BenchReport {
  date: string;
  startedAt: string;
  seconds: number;
  command: string;
  options: RunOptions;
  machine: MachineInfo;
  /** With --before: the earlier commit measured side by side. */
  before?: { ref: string; commit: string; short: string };
  sizes: SizeResult[];
}
