// npm run ingest -- <positions|fx|ratings|curve|spreads> <file.csv|file.json> [options]
// Loads a file into the configured database (DATABASE_URL, or the embedded
// database in DATA_DIR) through the same services as the API. Positions are
// streamed and written in chunks as one batch (bounded memory whatever the
// file size); market-data files go through importFeedFile.
// Exit codes: 0 done (COMPLETED / PASS / WARN), 1 FAILED / FAIL or an error, 2 bad arguments,
// 3 the idempotency key names a batch still running.
import { existsSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { databaseConfigFrom } from '../config';
import { openDatabase, type Database } from '../db/database';
import { migrate } from '../db/migrate';
import type { IngestionBatch } from '../generated/prisma/client';
import { ingestPositionRows, type IngestProgress } from '../services/ingestion/ingestRows';
import { rowErrorsFromJson } from '../services/ingestion/rowErrors';
import { fileFormat, fileRows } from '../services/ingestion/sources/fileRows';
import type { IngestMode, PositionBatchType } from '../services/ingestion/types';
import { ingestMode, positionBatchType } from '../services/ingestion/uploadPositions';
import { calendarDate } from '../services/ingestion/validateRows';
import { optionalText, requiredText } from '../services/inputs';
import { importFeedFile, type FeedFileKind } from './ingestFeedFile';

export const USAGE = `usage: npm run ingest -- <positions|fx|ratings|curve|spreads> <file.csv|file.json> [options]
  --mode M                ALL_OR_NOTHING (default) or SKIP_INVALID            (positions)
  --batch-type T          POSITION_UPLOAD (default) or LOAN_SERVICING         (positions)
  --idempotency-key K     a file loaded again with the same key is not loaded twice (positions)
  --source NAME           the source system recorded with the data (default: the file name)
  --as-of YYYY-MM-DD      feeds: the feed's date; positions: the valuation date of rows with a marketValue and no asOfDate
positions CSV header: nodeId,instrumentId,isin,cusip,ticker,quantity,baseCurrency,marketValue,asOfDate (empty cells are absent)
positions JSON: an array of row objects with the same fields, or { "rows": [...] }`;

const FEED_KINDS: readonly FeedFileKind[] = ['fx', 'ratings', 'curve', 'spreads'];
const POSITION_ONLY = ['mode', 'batch-type', 'idempotency-key'] as const;

export class UsageError extends Error {}

export interface IngestArgs {
  kind: 'positions' | FeedFileKind;
  path: string;
  mode: IngestMode;
  batchType: PositionBatchType;
  idempotencyKey: string | null;
  source?: string;
  asOf?: string;
}

/** The value checked by the services' own input rule; its message becomes a usage error. */
function option<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export function parseIngestArgs(argv: string[]): IngestArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        mode: { type: 'string' }, 'batch-type': { type: 'string' }, 'idempotency-key': { type: 'string' },
        source: { type: 'string' }, 'as-of': { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 2) throw new UsageError(`expected a kind and a file, got ${positionals.length} argument(s)`);
  const [kind, path] = positionals as [string, string];
  if (kind !== 'positions' && !FEED_KINDS.includes(kind as FeedFileKind)) throw new UsageError(`unknown kind "${kind}"`);
  if (fileFormat(path) === null) throw new UsageError(`${path}: expected a .csv or .json file`);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UsageError(`${path}: no such file`);
  const misplaced = kind === 'positions' ? undefined : POSITION_ONLY.find((o) => values[o] !== undefined);
  if (misplaced) throw new UsageError(`--${misplaced} applies to positions only`);
  return {
    kind: kind as IngestArgs['kind'],
    path,
    mode: option(() => ingestMode(values.mode, '--mode')),
    batchType: option(() => positionBatchType(values['batch-type'], '--batch-type')),
    idempotencyKey: option(() => optionalText(values['idempotency-key'], '--idempotency-key')),
    source: values.source === undefined ? undefined : option(() => requiredText(values.source, '--source')),
    asOf: values['as-of'] === undefined ? undefined : option(() => calendarDate(values['as-of']!, '--as-of')),
  };
}

function progressReporter(started: number): (p: IngestProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 1_000) return;
    last = now;
    const rate = Math.round(p.rows / Math.max(0.001, (now - started) / 1000));
    const rss = Math.round(process.memoryUsage.rss() / 1048576);
    process.stderr.write(`  rows ${p.rows.toLocaleString('en')} (valid ${p.accepted.toLocaleString('en')}, rejected ${p.rejected.toLocaleString('en')}), ${rate.toLocaleString('en')} rows/s, RSS ${rss} MB\n`);
  };
}

const peakRssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

function printBatch(batch: IngestionBatch, created: boolean, seconds: number): void {
  const n = (v: number) => v.toLocaleString('en');
  const rate = seconds > 0 ? Math.round(batch.rowCount / seconds) : 0;
  console.log(
    `${created ? '' : 'idempotency key seen before: '}batch ${batch.id} ${batch.batchType} ${batch.status}: ` +
      `${n(batch.rowCount)} rows, ${n(batch.acceptedCount)} accepted, ${n(batch.rejectedCount)} rejected` +
      (created ? ` in ${seconds.toFixed(1)}s (${n(rate)} rows/s), peak RSS ${peakRssMb()} MB` : ''),
  );
  const errors = rowErrorsFromJson(batch.validationErrorsJson);
  for (const e of errors.slice(0, 20)) console.log(`  row ${e.row}${e.field ? ` ${e.field}` : ''}: ${e.code}: ${e.message}`);
  if (errors.length > 20) console.log(`  ... ${errors.length - 20} more errors kept in the batch (ingestionBatch(id: "${batch.id}") { errors })`);
}

async function importPositions(db: Database, args: IngestArgs): Promise<number> {
  const started = Date.now();
  const format = fileFormat(args.path)!;
  const result = await ingestPositionRows(db, fileRows(args.path, { defaultAsOfDate: args.asOf }), {
    batchType: args.batchType,
    mode: args.mode,
    sourceSystem: args.source ?? basename(args.path).slice(0, 200),
    idempotencyKey: args.idempotencyKey,
    // The operator at the console works on the database directly: every fund.
    createdBy: `cli:${userInfo().username}`,
    origin: { kind: 'cli', step: `read ${format.toUpperCase()} file ${basename(args.path)}`, details: { file: basename(args.path), format } },
    onProgress: progressReporter(started),
  });
  printBatch(result.batch, result.created, (Date.now() - started) / 1000);
  if (result.failure) console.error(`cause: ${result.failure instanceof Error ? result.failure.message : String(result.failure)}`);
  if (result.batch.status === 'COMPLETED') return 0;
  return result.batch.status === 'FAILED' ? 1 : 3;
}

async function importFeed(db: Database, args: IngestArgs): Promise<number> {
  const result = await importFeedFile(db, args.kind as FeedFileKind, args.path, { asOf: args.asOf, source: args.source });
  console.log(`feed ${result.feedId} ${result.status}${result.created ? '' : ' (stored before)'}: ${result.summary}`);
  return result.status === 'FAIL' ? 1 : 0;
}

async function main(): Promise<number> {
  let args: IngestArgs;
  try {
    args = parseIngestArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`${error.message}\n${USAGE}`);
    return 2;
  }
  const db = await openDatabase(databaseConfigFrom(process.env));
  try {
    await migrate(db.sql);
    return await (args.kind === 'positions' ? importPositions(db, args) : importFeed(db, args));
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 1;
    },
  );
}
