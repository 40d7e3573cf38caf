// The Markdown report (bench/results/<date>.md) and its latency chart
// (bench/results/<date>-latency.svg, drawn by hand: log-log lines of the
// median latency against the data set size), and, when the corpus was
// measured, its chart (bench/results/<date>-corpus.svg: each operation's
// median per size, log scale, grouped by kind).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORPUS_KINDS } from './corpus';
import { sizeLabel } from './datasets';
import { totalErrors } from './load';
import { fmtMs, fmtRatio } from './measure';
import { historyPoints, QUERIES, READ_MIX } from './queries';
import type { BenchReport, CorpusResult, QueryResult, SizeResult, SystemId, SystemMeasurement, ThroughputResult } from './types';

const SYSTEM_NAMES: Record<SystemId, string> = {
  ours: 'our service', floor: 'floor (1 SQL statement, pg)', naive: 'naive resolvers', postgraphile: 'PostGraphile 4', before: 'our service at the --before commit',
};

const n = (x: number) => x.toLocaleString('en');
const stmts = (m: SystemMeasurement | undefined) => (m?.statements?.length ? m.statements.join('–') : '–');
const med = (m: SystemMeasurement | undefined) => m?.stats?.median;
const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
const queryOf = (size: SizeResult, id: string) => size.queries.find((q) => q.id === id);
const cell = (m: SystemMeasurement | undefined, text: string) => (m?.error ? `not available (${m.error.replace(/\|/g, '/').slice(0, 80)})` : text);

export interface TargetRow {
  target: string;
  size: string;
  measured: string;
  met: boolean | null;
  note: string;
}

/** Each target of the issue, per size where it applies. */
export function evaluateTargets(report: BenchReport): TargetRow[] {
  const rows: TargetRow[] = [];
  const bySize = (size: number) => report.sizes.find((s) => s.size === size);
  const notMeasured = (target: string, size: string, why = 'not measured in this run'): TargetRow => ({ target, size, measured: '–', met: null, note: why });
  const under = (target: string, size: SizeResult | undefined, label: string, id: string, limitMs: number) => {
    const q = size && queryOf(size, id);
    const m = q?.systems.ours;
    if (!size || !m) return rows.push(notMeasured(target, label));
    if (!m.stats) return rows.push({ target, size: label, measured: 'not available', met: false, note: m.error ?? '' });
    const v = m.stats.median;
    rows.push({ target, size: label, measured: `${fmtMs(v)} ms`, met: v < limitMs, note: v < limitMs ? `${fmtMs(limitMs - v)} ms to spare` : `missed by ${fmtMs(v - limitMs)} ms (${fmtRatio(v / limitMs)} the limit)` });
  };

  for (const size of report.sizes) {
    const label = n(size.size);
    const tree = queryOf(size, 'tree');
    const ours = med(tree?.systems.ours);
    const pg = med(tree?.systems.postgraphile);
    const floor = med(tree?.systems.floor);
    if (ours !== undefined && pg !== undefined) {
      rows.push({ target: 'tree (position counts) no slower than PostGraphile 4 (median)', size: label, measured: `${fmtMs(ours)} vs ${fmtMs(pg)} ms (${fmtRatio(ours / pg)})`, met: ours <= pg, note: ours <= pg ? '' : `slower by ${fmtMs(ours - pg)} ms` });
    } else rows.push(notMeasured('tree no slower than PostGraphile 4', label));
    if (ours !== undefined && floor !== undefined) {
      const r = ours / floor;
      rows.push({ target: 'tree within 2× of the raw-SQL floor (median)', size: label, measured: `${fmtMs(ours)} vs ${fmtMs(floor)} ms (${fmtRatio(r)})`, met: r <= 2, note: r <= 2 ? '' : `missed: ${fmtRatio(r)} instead of ≤ 2× (${fmtMs(ours - 2 * floor)} ms over)` });
    } else rows.push(notMeasured('tree within 2× of the floor', label));
    const tOurs = size.throughput.find((t) => t.system === 'ours' && t.query === 'tree')?.result;
    const tPg = size.throughput.find((t) => t.system === 'postgraphile' && t.query === 'tree')?.result;
    if (tOurs && tPg) {
      const errors = totalErrors(tOurs);
      const met = tOurs.requestsPerSecond >= tPg.requestsPerSecond && errors === 0;
      rows.push({
        target: `tree throughput at ${tOurs.connections} connections ≥ PostGraphile's, 0 errors`, size: label,
        measured: `${tOurs.requestsPerSecond.toFixed(0)} vs ${tPg.requestsPerSecond.toFixed(0)} req/s, ${errors} errors`, met,
        note: met ? '' : tOurs.requestsPerSecond < tPg.requestsPerSecond ? `${((1 - tOurs.requestsPerSecond / tPg.requestsPerSecond) * 100).toFixed(0)} % fewer requests/s` : `${errors} errors`,
      });
    } else rows.push(notMeasured('tree throughput ≥ PostGraphile', label));
    for (const id of ['rating', 'fxRate']) under(`as-of lookup ${id} < 5 ms`, size, label, id, 5);
  }
  const s100k = bySize(100_000);
  under('exposure ISSUER look-through, JPY < 150 ms (computed, cache off)', s100k, '100,000', 'exposureIssuer', 150);
  under('dedup snapshot check < 20 ms', s100k, '100,000', 'snapshotDedup', 20);
  const s1m = bySize(1_000_000);
  for (const id of ['exposureIssuer', 'exposureSector', 'exposureGeography', 'marketValue']) under(`${id} < 1 s (computed, cache off)`, s1m, '1,000,000', id, 1000);
  for (const id of ['exposureIssuerCached', 'marketValueCached']) under(`${id} < 1 s (repeated, cache on)`, s1m, '1,000,000', id, 1000);
  under('tree < 50 ms', s1m, '1,000,000', 'tree', 50);

  // The cost of observation: metrics on and tracing off (the defaults) within 5 % of metrics off.
  for (const size of report.sizes) {
    const o = size.observability;
    if (!o) continue;
    if ('error' in o) {
      rows.push({ target: 'metrics on, tracing off: ≥ 95 % of the throughput with metrics off', size: n(size.size), measured: 'not available', met: false, note: o.error });
      continue;
    }
    for (const q of o.queries) {
      const m = q.figures.find((f) => f.setting === 'metrics');
      const off = q.figures.find((f) => f.setting === 'off');
      if (!m || !off) continue;
      const met = m.ofOff >= 0.95 && m.errors === 0;
      rows.push({
        target: `metrics on, tracing off: ≥ 95 % of the throughput with metrics off (${q.name})`, size: n(size.size),
        measured: `${m.rps.toFixed(0)} vs ${off.rps.toFixed(0)} req/s (${(m.ofOff * 100).toFixed(1)} %), CPU ${m.cpuOverOff >= 0 ? '+' : ''}${(m.cpuOverOff * 100).toFixed(1)} %`, met,
        note: met ? '' : m.errors ? `${m.errors} errors` : `${((1 - m.ofOff) * 100).toFixed(1)} % fewer requests/s`,
      });
    }
  }

  // Statements per request independent of the data size.
  const ids = [...new Set(report.sizes.flatMap((s) => s.queries.map((q) => q.id)))];
  for (const id of ids) {
    for (const system of ['ours', 'postgraphile', 'naive'] as const) {
      const counts = report.sizes.map((s) => queryOf(s, id)?.systems[system]?.statements).filter((c): c is number[] => !!c && c.length > 0);
      if (counts.length === 0 || (system !== 'ours' && !['tree', 'treePositions'].includes(id))) continue;
      if (system !== 'ours' && id === 'baseline') continue;
      const all = [...new Set(counts.flat())];
      const constant = all.length === 1;
      if (system === 'ours') {
        rows.push({
          target: `statements per request independent of data size: ${id}`, size: report.sizes.map((s) => sizeLabel(s.size)).join(', '),
          measured: report.sizes.map((s) => stmts(queryOf(s, id)?.systems.ours)).join(' / '), met: counts.length < 2 ? null : constant,
          note: counts.length < 2 ? 'needs two sizes' : constant ? '' : 'varies with the data',
        });
      }
    }
  }
  rows.push(...corpusTargets(report));
  return rows;
}

// ------------------------------------------------------------------ corpus

/** Issue 15: every corpus operation within this many times the fastest corpus operation of its kind (same size). */
export const CORPUS_KIND_BOUND = 1.5;

const corpusSizes = (report: BenchReport) => report.sizes.filter((s) => s.corpus?.length);
const kindOrder = (kind: string) => (CORPUS_KINDS as readonly string[]).indexOf(kind);
const byKind = (a: CorpusResult, b: CorpusResult) => kindOrder(a.kind) - kindOrder(b.kind) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Each operation's median ÷ the fastest median of its kind (operations that failed have none). */
export function corpusKindRatios(results: readonly CorpusResult[]): Map<string, number> {
  const fastest = new Map<string, number>();
  for (const r of results) {
    const m = med(r.systems.ours);
    if (m !== undefined && m > 0 && !(m >= (fastest.get(r.kind) ?? Infinity))) fastest.set(r.kind, m);
  }
  const out = new Map<string, number>();
  for (const r of results) {
    const m = med(r.systems.ours);
    const f = fastest.get(r.kind);
    if (m !== undefined && f !== undefined) out.set(r.id, m / f);
  }
  return out;
}

/** The fastest operation of each kind at one size: [kind, id, median]. */
function fastestOfKind(results: readonly CorpusResult[]): Map<string, { id: string; median: number }> {
  const out = new Map<string, { id: string; median: number }>();
  for (const r of results) {
    const m = med(r.systems.ours);
    if (m === undefined) continue;
    const best = out.get(r.kind);
    if (!best || m < best.median) out.set(r.kind, { id: r.id, median: m });
  }
  return out;
}

/**
 * The targets of issue 15 the corpus figures decide: statements per request independent of the data size
 * (per operation, over the sizes), and per size within 1.5× of the fastest of its kind, faster than
 * PostGraphile where it can express the operation, within 2× its floor plus the fixed cost where it has one.
 */
function corpusTargets(report: BenchReport): TargetRow[] {
  const sizes = corpusSizes(report);
  if (sizes.length === 0) return [];
  const rows: TargetRow[] = [];
  const ids = [...new Map(sizes.flatMap((s) => s.corpus!).sort(byKind).map((r) => [r.id, r])).keys()];
  for (const id of ids) {
    const per = sizes.map((s) => s.corpus!.find((r) => r.id === id)?.systems.ours);
    const counts = per.map((m) => m?.statements).filter((c): c is number[] => !!c && c.length > 0);
    const all = [...new Set(counts.flat())];
    const failed = per.filter((m) => m?.error).length;
    rows.push({
      target: `statements per request independent of data size: corpus ${id}`, size: sizes.map((s) => sizeLabel(s.size)).join(', '),
      measured: per.map((m) => (m?.error ? 'error' : stmts(m))).join(' / '),
      met: failed ? false : counts.length < 2 ? null : all.length === 1,
      note: failed ? `failed at ${failed} size${failed > 1 ? 's' : ''}` : counts.length < 2 ? 'needs two sizes' : all.length === 1 ? '' : 'varies with the data',
    });
  }
  for (const size of sizes) {
    const label = n(size.size);
    const results = [...size.corpus!].sort(byKind);
    const ratios = corpusKindRatios(results);
    const fastest = fastestOfKind(results);
    const fixed = med(queryOf(size, 'baseline')?.systems.ours);
    for (const r of results) {
      const ours = r.systems.ours;
      const target = `corpus ${r.id} (${r.kind}) within ${CORPUS_KIND_BOUND}× of the fastest ${r.kind} operation`;
      if (!ours?.stats) {
        rows.push({ target, size: label, measured: 'not available', met: false, note: ours?.error ?? 'not measured' });
        continue;
      }
      const ratioToFastest = ratios.get(r.id)!;
      const best = fastest.get(r.kind)!;
      const met = ratioToFastest <= CORPUS_KIND_BOUND;
      rows.push({
        target, size: label, measured: `${fmtMs(ours.stats.median)} vs ${fmtMs(best.median)} ms (${best.id}): ${fmtRatio(ratioToFastest)}`, met,
        note: met ? '' : `${fmtMs(ours.stats.median - CORPUS_KIND_BOUND * best.median)} ms over`,
      });
    }
    for (const r of results) {
      const ours = oursBesidePostgraphile(r);
      const pg = r.systems.postgraphile;
      if (!pg) continue;
      const target = `corpus ${r.id} faster than PostGraphile 4 (median)`;
      if (ours === undefined || !pg.stats) {
        rows.push({ target, size: label, measured: 'not available', met: ours === undefined ? false : null, note: (ours === undefined ? r.systems.ours?.error : pg.error) ?? '' });
        continue;
      }
      const p = pg.stats.median;
      rows.push({ target, size: label, measured: `${fmtMs(ours)} vs ${fmtMs(p)} ms (${fmtRatio(ours / p)})${pg.sameAnswer === false ? ', different answer' : ''}`, met: ours < p, note: ours < p ? '' : `slower by ${fmtMs(ours - p)} ms` });
    }
    for (const r of results) {
      const ours = med(r.systems.ours);
      const floor = med(r.systems.floor);
      if (!r.systems.floor) continue;
      const target = `corpus ${r.id} ≤ 2× its SQL floor + the fixed cost (\`{ __typename }\`)`;
      if (ours === undefined || floor === undefined || fixed === undefined) {
        rows.push({ target, size: label, measured: 'not available', met: null, note: r.systems.ours?.error ?? r.systems.floor.error ?? 'no fixed cost measured' });
        continue;
      }
      const bound = 2 * floor + fixed;
      rows.push({ target, size: label, measured: `${fmtMs(ours)} vs 2 × ${fmtMs(floor)} + ${fmtMs(fixed)} = ${fmtMs(bound)} ms`, met: ours <= bound, note: ours <= bound ? '' : `${fmtMs(ours - bound)} ms over` });
    }
  }
  return rows;
}

const short = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text);
const pipes = (text: string) => text.replace(/\|/g, '/');

/** The section "Corpus": what the placeholders stood for, one table per size, the kinds, what PostGraphile cannot express. */
function corpusSection(report: BenchReport, chartFile: string | null): string[] {
  const sizes = corpusSizes(report);
  if (sizes.length === 0) return [];
  const L: string[] = ['## Corpus', ''];
  L.push(
    'Every operation of `bench/corpus/*.graphql` (what a risk front-end and an analyst send; `# kind:` groups like with like), through HTTP on the',
    'instance with the analytics cache off (every figure a computation), with the same warm-up, runs and budget as the other queries.',
    `"÷ fastest of kind": the operation's median over the fastest median of its kind at that size (issue 15: within ${CORPUS_KIND_BOUND}×).`,
    'Statements per request from `db.onQuery`; bytes: the response body. An operation that failed shows its error.',
    'PostGraphile 4 where it can express the operation with its default inflection (the same question in its names; trees compared node by node,',
    'other answers not compared); the floor only where the operation is exactly a bench query that has one (treeCounts = `tree`).', '',
    '| Positions | fund | desk | book | position (valuation date) | instrument | issuer (search) | asOf | pastAsOf | knownAt |',
    '|--:|---|---|---|---|---|---|---|---|---|',
  );
  const id8 = (id: string) => `\`${id.slice(0, 8)}…\``;
  for (const size of sizes) {
    const f = size.corpusFacts;
    if (!f) continue;
    L.push(`| ${n(size.size)} | ${id8(f.fund)} ${size.facts.fund.id === f.fund ? `(${size.facts.fund.name}, the bench's fund)` : ''} | ${id8(f.desk)} | ${id8(f.book)} | ${id8(f.position)} (${f.valuationDate}) | ${f.isin} | ${id8(f.issuer)} ("${f.search}") | ${f.asOf} | ${f.pastAsOf} | ${f.knownAt} |`);
  }
  L.push('');
  for (const size of sizes) {
    const results = [...size.corpus!].sort(byKind);
    const fastest = fastestOfKind(results);
    const ratios = corpusKindRatios(results);
    const errors = results.filter((r) => r.systems.ours?.error).length;
    L.push(`### Corpus at ${n(size.size)} positions`, '');
    L.push(`${results.length} operations, ${errors} failed. Fastest of each kind: ${[...fastest.entries()].map(([k, b]) => `${k} ${b.id} ${fmtMs(b.median)} ms`).join('; ')}.`, '');
    L.push('| Operation | Kind | Median ms | p95 ms | Runs | Statements / request | Response bytes | ÷ fastest of kind | Floor ms | PostGraphile ms (statements) | Ours ÷ PostGraphile | Same answer |');
    L.push('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|');
    for (const r of results) {
      const { ours, floor, postgraphile } = r.systems;
      const of = ratios.get(r.id);
      const same = [floor, postgraphile]
        .map((m, i) => (m?.sameAnswer === undefined || m.sameAnswer === null ? null : `${['floor', 'PG'][i]} ${m.sameAnswer ? '✓' : '✗'}`))
        .filter(Boolean).join(', ');
      const pgCell = postgraphile ? cell(postgraphile, `${fmtMs(med(postgraphile))} (${stmts(postgraphile)})${r.oursInTurns ? `; ours in turns ${fmtMs(r.oursInTurns.stats.median)}` : ''}`)
        : r.postgraphileCannot ? 'cannot express' : report.options.skipPostgraphile ? 'skipped' : 'not measured';
      L.push(
        `| ${r.id} | ${r.kind} | ${ours?.error ? `**error**: ${pipes(short(ours.error, 120))}` : fmtMs(med(ours))} | ${ours?.error ? '' : fmtMs(ours?.stats?.p95)} | ${ours?.stats?.n ?? ''} | ${stmts(ours)} ` +
          `| ${ours?.responseBytes !== undefined ? n(ours.responseBytes) : '–'} | ${of === undefined ? '–' : of <= CORPUS_KIND_BOUND ? fmtRatio(of) : `**${fmtRatio(of)}**`} ` +
          `| ${floor ? cell(floor, fmtMs(med(floor))) : '–'} | ${pgCell} | ${fmtRatio(ratio(oursBesidePostgraphile(r), med(postgraphile)))} | ${same || '–'} |`,
      );
    }
    L.push('');
    L.push('Per kind (ratio of each operation to the fastest of its kind; bold above: over the bound):', '');
    L.push('| Kind | Operations | Fastest (median ms) | Within 1.5× | Over 1.5× (ratio) | Failed |', '|---|--:|---|--:|---|--:|');
    for (const kind of CORPUS_KINDS) {
      const ofKind = results.filter((r) => r.kind === kind);
      if (ofKind.length === 0) continue;
      const best = fastest.get(kind);
      const over = ofKind.filter((r) => (ratios.get(r.id) ?? 0) > CORPUS_KIND_BOUND).sort((a, b) => ratios.get(b.id)! - ratios.get(a.id)!);
      const within = ofKind.filter((r) => ratios.has(r.id) && ratios.get(r.id)! <= CORPUS_KIND_BOUND).length;
      L.push(`| ${kind} | ${ofKind.length} | ${best ? `${best.id} (${fmtMs(best.median)})` : '–'} | ${within} | ${over.map((r) => `${r.id} ${fmtRatio(ratios.get(r.id))}`).join(', ') || '–'} | ${ofKind.filter((r) => r.systems.ours?.error).length} |`);
    }
    L.push('');
  }
  const all = [...new Map(sizes.flatMap((s) => s.corpus!).sort(byKind).map((r) => [r.id, r])).values()];
  const cannot = all.filter((r) => r.postgraphileCannot);
  const can = all.filter((r) => !r.postgraphileCannot);
  L.push(`PostGraphile 4 can express ${can.length} of the ${all.length} operations (${can.map((r) => r.id).join(', ') || 'none'}). It cannot express (default inflection and plugins: conditions are equality or IS NULL on one column, relations follow foreign keys, this schema has no computed columns):`, '');
  for (const r of cannot) L.push(`- **${r.id}** (${r.kind}): ${r.postgraphileCannot}`);
  L.push('');
  if (chartFile) L.push(`![Corpus: median latency per operation and size](${chartFile})`, '');
  return L;
}

const SIZE_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];

/** Horizontal bars, log scale: each corpus operation's median per size (grouped by kind), PostGraphile's as a diamond. */
export function corpusSvg(report: BenchReport): string | null {
  const sizes = corpusSizes(report);
  if (sizes.length === 0) return null;
  const ops = [...new Map(sizes.flatMap((s) => s.corpus!).sort(byKind).map((r) => [r.id, r])).values()];
  const barH = 7;
  const rowH = Math.max(14, sizes.length * barH + 5);
  const m = { left: 230, right: 40, top: 56, bottom: 50 };
  const kinds = [...new Set(ops.map((o) => o.kind))];
  const W = 900;
  const H = m.top + m.bottom + ops.length * rowH + kinds.length * 8;
  const pw = W - m.left - m.right;
  const values = sizes.flatMap((s) => s.corpus!.flatMap((r) => [med(r.systems.ours), med(r.systems.postgraphile)])).filter((v): v is number => v !== undefined && v > 0);
  if (values.length === 0) return null;
  const xMin = Math.pow(10, Math.floor(Math.log10(Math.min(...values))));
  const xMax = Math.pow(10, Math.ceil(Math.log10(Math.max(...values))));
  const lx = (v: number) => m.left + ((Math.log10(v) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * pw;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="20" font-size="15" font-weight="bold">Corpus: median latency through HTTP per operation (${esc(report.date)})</text>`,
  ];
  sizes.forEach((s, i) => {
    const x = m.left + i * 150;
    out.push(`<rect x="${x}" y="32" width="14" height="8" fill="${SIZE_COLORS[i % SIZE_COLORS.length]}"/><text x="${x + 18}" y="40">${n(s.size)} positions</text>`);
  });
  out.push(`<path d="M ${m.left + sizes.length * 150 + 7} 31 L ${m.left + sizes.length * 150 + 12} 36 L ${m.left + sizes.length * 150 + 7} 41 L ${m.left + sizes.length * 150 + 2} 36 Z" fill="none" stroke="#000000"/><text x="${m.left + sizes.length * 150 + 18}" y="40">PostGraphile 4</text>`);
  const plotBottom = H - m.bottom;
  for (let e = Math.log10(xMin); e <= Math.log10(xMax); e++) {
    const v = Math.pow(10, e);
    const x = lx(v);
    out.push(`<line x1="${x.toFixed(1)}" y1="${m.top - 4}" x2="${x.toFixed(1)}" y2="${plotBottom}" stroke="#cccccc"/>`);
    out.push(`<text x="${x.toFixed(1)}" y="${plotBottom + 16}" text-anchor="middle">${v >= 1 ? n(v) : v}</text>`);
    for (const k of [2, 5]) if (v * k < xMax) out.push(`<line x1="${lx(v * k).toFixed(1)}" y1="${m.top - 4}" x2="${lx(v * k).toFixed(1)}" y2="${plotBottom}" stroke="#f0f0f0"/>`);
  }
  out.push(`<text x="${m.left + pw / 2}" y="${H - 14}" text-anchor="middle">median latency, ms (log scale)</text>`);
  let y = m.top;
  let lastKind = '';
  for (const op of ops) {
    if (op.kind !== lastKind) {
      if (lastKind) y += 8;
      out.push(`<line x1="8" y1="${y - 2}" x2="${W - m.right}" y2="${y - 2}" stroke="#999999"/><text x="8" y="${y + 9}" font-weight="bold" fill="#555555">${esc(op.kind)}</text>`);
      lastKind = op.kind;
    }
    out.push(`<text x="${m.left - 6}" y="${y + rowH / 2 + 3}" text-anchor="end">${esc(op.id)}</text>`);
    sizes.forEach((s, i) => {
      const r = s.corpus!.find((c) => c.id === op.id);
      const v = med(r?.systems.ours);
      const by = y + 2 + i * barH;
      const color = SIZE_COLORS[i % SIZE_COLORS.length];
      if (v === undefined) {
        if (r?.systems.ours?.error) out.push(`<text x="${m.left + 4}" y="${by + barH - 1}" fill="#d62728" font-size="9">error at ${n(s.size)}<title>${esc(r.systems.ours.error)}</title></text>`);
      } else {
        out.push(`<rect x="${m.left}" y="${by}" width="${Math.max(1, lx(v) - m.left).toFixed(1)}" height="${barH - 1}" fill="${color}"><title>${esc(op.id)}: ${fmtMs(v)} ms at ${n(s.size)} positions</title></rect>`);
      }
      const p = med(r?.systems.postgraphile);
      if (p !== undefined) {
        const cx = lx(p);
        const cy = by + (barH - 1) / 2;
        out.push(`<path d="M ${cx.toFixed(1)} ${(cy - 4).toFixed(1)} L ${(cx + 4).toFixed(1)} ${cy.toFixed(1)} L ${cx.toFixed(1)} ${(cy + 4).toFixed(1)} L ${(cx - 4).toFixed(1)} ${cy.toFixed(1)} Z" fill="#ffffff" stroke="#000000"><title>${esc(op.id)}, PostGraphile 4: ${fmtMs(p)} ms at ${n(s.size)} positions</title></path>`);
      }
    });
    y += rowH;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Metrics and tracing: the real service (src/main.ts) in three settings taking turns (bench/lib/observability.ts). */
function observabilityTable(report: BenchReport): string[] {
  const L: string[] = [];
  for (const size of report.sizes) {
    const o = size.observability;
    if (!o) continue;
    L.push(`## What metrics and tracing cost (${n(size.size)} positions)`, '');
    if ('error' in o) {
      L.push(`Not measured: ${o.error}`, '');
      continue;
    }
    L.push(`The real service (\`src/main.ts\`, one process per setting, LOG_LEVEL=info) on this data set: metrics off (\`METRICS_ENABLED=false\`); the defaults (metrics on, tracing off, when the OpenTelemetry SDK is not even loaded); and every request traced to an OTLP/HTTP receiver that drops the spans. autocannon at ${o.connections} connections, ${o.rounds} rounds of ${o.durationSeconds} s after a warm-up, the settings taking turns; medians of the rounds. CPU is the service's user + system time per request.`, '');
    L.push('| Query | Setting | requests/s (rounds) | of off | p99 ms | CPU µs/request | CPU over off | errors |', '|---|---|---|---|---|---|---|---|');
    const names: Record<string, string> = { off: 'metrics off', metrics: '**metrics on, tracing off** (default)', traced: 'every request traced' };
    for (const q of o.queries) {
      for (const f of q.figures) {
        L.push(`| ${q.name} | ${names[f.setting] ?? f.setting} | ${f.rps.toFixed(0)} (${f.rounds.map((x) => x.toFixed(0)).join(', ')}) | ${(f.ofOff * 100).toFixed(1)} % | ${f.p99Ms} | ${f.cpuUs.toFixed(0)} | ${f.setting === 'off' ? '–' : `${f.cpuOverOff >= 0 ? '+' : ''}${(f.cpuOverOff * 100).toFixed(1)} %`} | ${f.errors} |`);
      }
    }
    L.push('', `OTLP exports received from the traced service: ${o.otlpExports}.`, '');
  }
  return L;
}

function summaryTable(report: BenchReport): string[] {
  // With --before, two more columns: the earlier commit's median and ours ÷ it.
  const before = report.before;
  const lines = [
    `| Query | Positions | Median ms | p95 ms | Runs | Statements / request | Floor ms | Ours ÷ floor | Naive ms (statements) | Ours ÷ naive | PostGraphile ms (statements) | Ours ÷ PostGraphile |${before ? ` Before ${before.short} ms | Ours ÷ before |` : ''} Same answer |`,
    `|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|${before ? '--:|--:|' : ''}---|`,
  ];
  const ids = ['baseline', ...QUERIES.map((q) => q.id)];
  for (const id of ids) {
    for (const size of report.sizes) {
      const q = queryOf(size, id);
      if (!q) continue;
      const { ours, floor, naive, postgraphile } = q.systems;
      const same = [floor, naive, postgraphile]
        .map((m, i) => (m?.sameAnswer === undefined || m.sameAnswer === null ? null : `${['floor', 'naive', 'PG'][i]} ${m.sameAnswer ? '✓' : '✗'}`))
        .filter(Boolean)
        .join(', ');
      lines.push(
        `| ${id === 'baseline' ? '`{ __typename }` (fixed cost)' : id} | ${n(size.size)} | ${cell(ours, fmtMs(med(ours)))} | ${ours?.error ? '' : fmtMs(ours?.stats?.p95)} | ${ours?.stats?.n ?? ''} | ${stmts(ours)} ` +
          `| ${floor ? cell(floor, fmtMs(med(floor))) : '–'} | ${fmtRatio(ratio(med(ours), med(floor)))} ` +
          `| ${naive ? cell(naive, `${fmtMs(med(naive))} (${stmts(naive)})`) : '–'} | ${fmtRatio(ratio(med(ours), med(naive)))} ` +
          `| ${postgraphile ? cell(postgraphile, `${fmtMs(med(postgraphile))} (${stmts(postgraphile)})`) : '–'} | ${fmtRatio(ratio(med(ours), med(postgraphile)))} ` +
          (before ? `| ${q.systems.before ? cell(q.systems.before, fmtMs(med(q.systems.before))) : '–'} | ${fmtRatio(ratio(med(ours), med(q.systems.before)))} ` : '') +
          `| ${same || '–'} |`,
      );
    }
  }
  return lines;
}

/** Ours against PostGraphile: ours measured in turns with it where it was (the pair), else ours alone (runs before that). */
const oursBesidePostgraphile = (r: CorpusResult): number | undefined => r.oursInTurns?.stats.median ?? med(r.systems.ours);

/** Every round of a scenario (ours and PostGraphile take turns; the figure is the best), or one. */
const roundsCell = (t: ThroughputResult): string =>
  (t.rounds ?? []).length <= 1 ? '' : t.rounds!.map((r) => ('error' in r ? 'failed' : r.requestsPerSecond.toFixed(1))).join(', ');

function throughputTable(report: BenchReport): string[] {
  const lines = [
    '| Positions | Scenario | Server | Requests/s | p50 ms | p97.5 ms | p99 ms | Requests | Errors | Ours ÷ PostGraphile | Load avg at start | Rounds (req/s, in the order run) |',
    '|--:|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  for (const size of report.sizes) {
    for (const t of size.throughput) {
      if (!t.result) {
        lines.push(`| ${n(size.size)} | ${t.scenario} | ${SYSTEM_NAMES[t.system]} | not available (${t.error ?? ''}) | | | | | | | | |`);
        continue;
      }
      const r = t.result;
      const pg = t.system === 'ours' ? size.throughput.find((x) => x.system === 'postgraphile' && x.query === t.query)?.result : undefined;
      lines.push(
        `| ${n(size.size)} | ${t.scenario} | ${SYSTEM_NAMES[t.system]} | ${r.requestsPerSecond.toFixed(1)} | ${r.latency.p50} | ${r.latency.p97_5} | ${r.latency.p99} | ${n(r.requests)} | ${totalErrors(r)} | ${pg ? fmtRatio(r.requestsPerSecond / pg.requestsPerSecond) : '–'} | ${t.loadAvg?.toFixed(2) ?? '–'} | ${roundsCell(t)} |`,
      );
    }
  }
  return lines;
}

function whereTimeGoes(size: SizeResult): string[] {
  const lines = [
    `Per query on the largest data set (${n(size.size)} positions), our service: the end-to-end median, the median of the summed`,
    'statement durations Prisma reports (query events: from sending a statement to having its rows in Node, so they include',
    'waiting for the event loop; statements of one DataLoader level run concurrently, so the sum can exceed the end-to-end time),',
    'and the floor for comparison.',
    '',
    '| Query | End-to-end ms | Floor ms | Statements | Σ statement ms (Prisma) | Statements of the last timed request (Prisma ms each) |',
    '|---|--:|--:|--:|--:|---|',
  ];
  for (const q of size.queries) {
    const o = q.systems.ours;
    if (!o?.stats) continue;
    const db = o.dbMs;
    const list = (o.statementLog ?? []).map((s) => `\`${s.sql.slice(0, 60).replace(/\|/g, '/')}…\` ${fmtMs(s.ms)}`).join('<br>');
    lines.push(`| ${q.id} | ${fmtMs(o.stats.median)} | ${fmtMs(med(q.systems.floor))} | ${stmts(o)} | ${fmtMs(db)} | ${list} |`);
  }
  const fixed = size.fixedCosts;
  const base = queryOf(size, 'baseline');
  lines.push('', 'Fixed costs on this data set (medians):', '');
  if (base) lines.push(`- one HTTP request with \`{ __typename }\`: our service ${fmtMs(med(base.systems.ours))} ms, naive graphql-js ${fmtMs(med(base.systems.naive))} ms, PostGraphile ${fmtMs(med(base.systems.postgraphile))} ms;`);
  if (fixed) lines.push(`- one \`SELECT 1\`: through Prisma (\`$queryRaw\`, adapter-pg) ${fmtMs(fixed.prismaSelect1.median)} ms, through pg ${fmtMs(fixed.pgSelect1.median)} ms.`);
  lines.push('', 'Statements of one request on the comparison servers (same data set):', '');
  for (const q of size.queries.filter((x) => x.id === 'tree' || x.id === 'treePositions')) {
    for (const system of ['naive', 'postgraphile'] as const) {
      const m = q.systems[system];
      if (!m?.statementLog) continue;
      lines.push(`- ${q.id}, ${SYSTEM_NAMES[system]} (${stmts(m)}): ${m.statementLog.map((s) => `\`${s.sql.slice(0, 90)}\``).join('; ')}`);
    }
  }
  return lines;
}

/** What the `history` group asked about at each size: the dates, the moment of knowledge, the rows looked up. */
function twoClocks(report: BenchReport): string[] {
  const history = new Set(QUERIES.filter((q) => q.group === 'history').map((q) => q.id as string));
  const sizes = report.sizes.filter((s) => s.queries.some((q) => history.has(q.id)));
  if (sizes.length === 0) return [];
  const lines = [
    '## Two clocks (group `history`)', '',
    'The two-clock reads of the largest fund, analytics cache off (every figure is a computation; pinned answers are not kept either).',
    '"known now": the current versions; "knownAt": what was recorded by that moment. No PostGraphile or naive equivalent; floors where one',
    'statement gives the same answer (none for holdingsChange).', '',
    '| Positions | Latest date | Previous month-end | Past month-end | knownAt | Chosen as | Position versions (superseded) | Superseded valuations / ratings | Position looked up | Issuer looked up |',
    '|--:|---|---|---|---|---|--:|--:|---|---|',
  ];
  for (const size of sizes) {
    const h = size.facts.history;
    if (!h) {
      lines.push(`| ${n(size.size)} | – | – | – | – | (not recorded by this run) | | | | |`);
      continue;
    }
    const p = historyPoints(size.facts, report.options.asOf);
    const pos = `\`${h.position.id.slice(0, 8)}…\` ${h.position.status}, ${h.position.versions} version${h.position.versions === 1 ? '' : 's'}${h.position.restated ? ', valuation restated' : ''}; valuations of ${p.valuationDate}`;
    lines.push(
      `| ${n(size.size)} | ${p.latest} | ${p.previous} | ${p.past} | ${p.knownAt} | ${h.knownAtRule.replace(/\|/g, '/')} | ${n(h.positionVersions)} (${n(h.supersededVersions)}) ` +
        `| ${n(h.supersededValuations)} / ${n(h.supersededRatings)} | ${pos} | ${h.issuer.name}${h.issuer.restated ? ' (S&P rating restated)' : ''} |`,
    );
  }
  return lines;
}

/** Issue 12: exposure(ISSUER, look-through) and marketValue as of the latest date, known now, at most this many times the figure before. */
const BEFORE_BOUND = 1.1;
const BEFORE_BOUND_IDS = ['exposureIssuer', 'marketValue'];
const BEFORE_BOUND_SIZE = 1_000_000;

/** With --before: per size, each query on our service and on the earlier commit, and the bound of issue 12. */
function sideBySide(report: BenchReport): string[] {
  const before = report.before;
  if (!before) return [];
  const lines = [
    `## Side by side with ${before.short}`, '',
    `Our service and the same service at \`${before.commit}\` (\`--before ${before.ref}\`), in this run: each query on ours, then right after on`,
    `the earlier one (so that drift of the machine hits both), through HTTP with the same options, analytics cache off on both. The earlier one`,
    `is its own \`src/main.ts\` in a child process on a data set its own migrations and seed generator built (same seed and size; its fund's`,
    `ids differ, and so do its answers: it has no recorded history), so answers are not compared and its statements are not counted.`,
    `Issue 12: exposure(ISSUER, look-through) and marketValue as of the latest date, known now, at ${n(BEFORE_BOUND_SIZE)} positions: no more than ${BEFORE_BOUND}× the figure before.`, '',
    '| Positions | Data set before | Largest fund before |', '|--:|---|---|',
  ];
  for (const size of report.sizes) {
    if (!size.before) continue;
    const { dataset, facts } = size.before;
    lines.push(`| ${n(size.size)} | ${dataset.database} (${dataset.seeded ? `seeded in ${dataset.seedSeconds?.toFixed(0)} s` : 'cached'}) | ${facts.fund.name} (${facts.fund.baseCcy}), ${n(facts.fund.positions)} positions |`);
  }
  lines.push('', `| Positions | Query | Ours ms | Before ${before.short} ms | Runs (ours / before) | Ours ÷ before | Issue 12 bound (≤ ${BEFORE_BOUND}×) |`, '|--:|---|--:|--:|--:|--:|---|');
  for (const size of report.sizes) {
    for (const q of size.queries) {
      const { ours, before: earlier } = q.systems;
      if (!earlier) continue;
      const r = ratio(med(ours), med(earlier));
      // The bound is set at 1,000,000 positions; at other sizes it is shown for information only.
      const bound = !BEFORE_BOUND_IDS.includes(q.id) || r === undefined ? ''
        : size.size === BEFORE_BOUND_SIZE ? (r <= BEFORE_BOUND ? 'yes' : `**no**: ${fmtRatio(r)}`)
        : `${r <= BEFORE_BOUND ? 'yes' : 'no'} (the bound is set at ${n(BEFORE_BOUND_SIZE)})`;
      lines.push(
        `| ${n(size.size)} | ${q.id === 'baseline' ? '`{ __typename }`' : q.id} | ${cell(ours, fmtMs(med(ours)))} | ${cell(earlier, fmtMs(med(earlier)))} ` +
          `| ${ours?.stats?.n ?? '–'} / ${earlier.stats?.n ?? '–'} | ${fmtRatio(r)} | ${bound} |`,
      );
    }
  }
  return lines;
}

function loadRange(size: SizeResult): string {
  const values = [...size.queries.map((q) => q.loadAvg), ...(size.corpus ?? []).map((c) => c.loadAvg), ...size.throughput.map((t) => t.loadAvg)].filter((v): v is number => v !== undefined);
  return values.length ? `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}` : '–';
}

function floorNotes(report: BenchReport): string[] {
  const lines: string[] = [];
  for (const size of report.sizes) {
    for (const q of size.queries) {
      const f = q.systems.floor;
      if (f?.note) lines.push(`- ${n(size.size)}, ${q.id}: ${f.note}`);
    }
  }
  return lines;
}

// ------------------------------------------------------------------ chart

const CHART_SERIES: { id: string; system: SystemId; label: string; color: string; dash?: string }[] = [
  { id: 'tree', system: 'ours', label: 'tree (counts)', color: '#1f77b4' },
  { id: 'tree', system: 'postgraphile', label: 'tree, PostGraphile 4', color: '#1f77b4', dash: '6 4' },
  { id: 'tree', system: 'floor', label: 'tree, SQL floor', color: '#1f77b4', dash: '2 3' },
  { id: 'treePositions', system: 'ours', label: 'tree + positions', color: '#17becf' },
  { id: 'exposureIssuer', system: 'ours', label: 'exposure ISSUER look-through', color: '#d62728' },
  { id: 'exposureIssuer', system: 'floor', label: 'exposure ISSUER, SQL floor', color: '#d62728', dash: '2 3' },
  { id: 'marketValue', system: 'ours', label: 'marketValue', color: '#ff7f0e' },
  { id: 'page500', system: 'ours', label: 'page of 500 positions', color: '#2ca02c' },
  { id: 'rating', system: 'ours', label: 'rating(asOf)', color: '#9467bd' },
  { id: 'fxRate', system: 'ours', label: 'fxRate(asOf)', color: '#8c564b' },
  { id: 'snapshotDedup', system: 'ours', label: 'snapshot (dedup)', color: '#7f7f7f' },
  { id: 'exposureIssuerKnownAt', system: 'ours', label: 'exposure ISSUER, knownAt past', color: '#e377c2' },
  { id: 'holdingsChangeDates', system: 'ours', label: 'holdingsChange, 2 month-ends', color: '#bcbd22' },
];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function latencySvg(report: BenchReport): string {
  const W = 860;
  const H = 480;
  const m = { left: 70, right: 260, top: 40, bottom: 60 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const sizes = report.sizes.map((s) => s.size);
  const series = CHART_SERIES.map((s) => ({
    ...s,
    points: report.sizes
      .map((size) => ({ x: size.size, y: queryOf(size, s.id)?.systems[s.system]?.stats?.median }))
      .filter((p): p is { x: number; y: number } => p.y !== undefined && p.y > 0),
  })).filter((s) => s.points.length > 0);
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const yMin = Math.pow(10, Math.floor(Math.log10(Math.min(...ys, 1))));
  const yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(...ys, 10))));
  const xMin = Math.min(...sizes);
  const xMax = Math.max(...sizes);
  const lx = (x: number) => (xMax === xMin ? m.left + pw / 2 : m.left + ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * pw);
  const ly = (y: number) => m.top + ph - ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="22" font-size="15" font-weight="bold">Median latency through HTTP against data set size (${esc(report.date)})</text>`,
  ];
  for (let e = Math.log10(yMin); e <= Math.log10(yMax); e++) {
    const v = Math.pow(10, e);
    const y = ly(v);
    out.push(`<line x1="${m.left}" y1="${y.toFixed(1)}" x2="${m.left + pw}" y2="${y.toFixed(1)}" stroke="#dddddd"/>`);
    out.push(`<text x="${m.left - 8}" y="${(y + 4).toFixed(1)}" text-anchor="end">${v >= 1 ? n(v) : v}</text>`);
    for (const k of [2, 5]) {
      const yy = ly(v * k);
      if (v * k < yMax) out.push(`<line x1="${m.left}" y1="${yy.toFixed(1)}" x2="${m.left + pw}" y2="${yy.toFixed(1)}" stroke="#f2f2f2"/>`);
    }
  }
  for (const x of sizes) {
    const px = lx(x);
    out.push(`<line x1="${px.toFixed(1)}" y1="${m.top}" x2="${px.toFixed(1)}" y2="${m.top + ph}" stroke="#eeeeee"/>`);
    out.push(`<text x="${px.toFixed(1)}" y="${m.top + ph + 18}" text-anchor="middle">${n(x)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 18}" text-anchor="middle">positions in the data set (log scale)</text>`);
  out.push(`<text transform="translate(18 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">median latency, ms (log scale)</text>`);
  // The targets of issue 7, as hollow diamonds in the colour of their query.
  const targets: { x: number; y: number; color: string; label: string }[] = [
    { x: 1_000_000, y: 50, color: '#1f77b4', label: 'target: tree < 50 ms at 1,000,000' },
    { x: 100_000, y: 150, color: '#d62728', label: 'target: exposure < 150 ms at 100,000' },
    { x: 1_000_000, y: 1_000, color: '#d62728', label: 'target: exposure < 1 s at 1,000,000' },
    { x: 100_000, y: 20, color: '#7f7f7f', label: 'target: dedup snapshot < 20 ms at 100,000' },
  ].filter((t) => sizes.includes(t.x) && t.y >= yMin && t.y <= yMax);
  for (const t of targets) {
    const cx = lx(t.x);
    const cy = ly(t.y);
    out.push(`<path d="M ${cx.toFixed(1)} ${(cy - 6).toFixed(1)} L ${(cx + 6).toFixed(1)} ${cy.toFixed(1)} L ${cx.toFixed(1)} ${(cy + 6).toFixed(1)} L ${(cx - 6).toFixed(1)} ${cy.toFixed(1)} Z" fill="none" stroke="${t.color}" stroke-width="1.5"><title>${esc(t.label)}</title></path>`);
  }
  if (ys.length) {
    const y5 = ly(5);
    if (5 >= yMin && 5 <= yMax) {
      out.push(`<line x1="${m.left}" y1="${y5.toFixed(1)}" x2="${m.left + pw}" y2="${y5.toFixed(1)}" stroke="#9467bd" stroke-dasharray="1 3"/>`);
      out.push(`<text x="${m.left + 4}" y="${(y5 - 4).toFixed(1)}" fill="#9467bd" font-size="10">as-of lookups target 5 ms</text>`);
    }
  }
  series.forEach((s, i) => {
    const pts = s.points.map((p) => `${lx(p.x).toFixed(1)},${ly(p.y).toFixed(1)}`).join(' ');
    out.push(`<polyline points="${pts}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const p of s.points) out.push(`<circle cx="${lx(p.x).toFixed(1)}" cy="${ly(p.y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.label)}: ${fmtMs(p.y)} ms at ${n(p.x)} positions</title></circle>`);
    const ly0 = m.top + 10 + i * 20;
    const lx0 = m.left + pw + 16;
    out.push(`<line x1="${lx0}" y1="${ly0}" x2="${lx0 + 26}" y2="${ly0}" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<text x="${lx0 + 32}" y="${ly0 + 4}">${esc(s.label)}</text>`);
  });
  if (targets.length) {
    const ly0 = m.top + 10 + series.length * 20;
    const lx0 = m.left + pw + 16;
    out.push(`<path d="M ${lx0 + 13} ${ly0 - 6} L ${lx0 + 19} ${ly0} L ${lx0 + 13} ${ly0 + 6} L ${lx0 + 7} ${ly0} Z" fill="none" stroke="#333333" stroke-width="1.5"/>`);
    out.push(`<text x="${lx0 + 32}" y="${ly0 + 4}">target of issue 7</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

// ----------------------------------------------------------------- report

export function renderMarkdown(report: BenchReport, chartFile: string, corpusChartFile: string | null = null): string {
  const { machine } = report;
  const targets = evaluateTargets(report);
  const largest = [...report.sizes].sort((a, b) => b.size - a.size)[0];
  const L: string[] = [];
  L.push(`# Performance benchmark, ${report.date}`, '');
  L.push(`Generated by \`${report.command}\` (bench/run.ts) in ${Math.round(report.seconds / 60)} min; started ${report.startedAt}. How to run it: [bench/README.md](../README.md).`, '');
  L.push('All latencies are through HTTP on loopback against the running server, after warm-up, sequential requests (one at a time);',
    `median and p95 (nearest rank) over up to ${report.options.runs} runs per figure (fewer for slow queries: each figure stops after ${report.options.budgetSeconds} s once it has 5 runs).`,
    'Ratios are ours ÷ other: below 1 means our service is faster. "Same answer" compares the answers (tree in pre-order with counts and positions, exposure totals and buckets, amounts, rates, versions) with ours.', '');

  const loads = report.sizes.flatMap((s) => [...s.queries.map((q) => q.loadAvg), ...(s.corpus ?? []).map((c) => c.loadAvg), ...s.throughput.map((t) => t.loadAvg)]).filter((v): v is number => v !== undefined);
  const busiest = loads.length ? Math.max(...loads) : 0;
  if (busiest > machine.cores) {
    L.push(`> **Busy machine.** The 1-minute load average reached ${busiest.toFixed(1)} on ${machine.cores} cores while this run measured (other work shared the machine; see the data sets table).`,
      '> Absolute latencies and throughput are inflated and noisy, the fast lookups most of all; ratios measured back to back (ours, floor, naive, PostGraphile) are more robust than absolute figures. Re-run on a quiet machine for target sign-off.', '');
  }
  L.push('## Machine and versions', '');
  L.push('| | |', '|---|---|');
  L.push(`| CPU | ${machine.cpuModel} |`, `| Cores | ${machine.cores} |`, `| RAM | ${machine.ramGiB} GiB |`, `| OS | ${machine.os} |`, `| Node.js | ${machine.node} |`);
  L.push(`| PostgreSQL | ${machine.postgres.version} (${Object.entries(machine.postgres.settings).map(([k, v]) => `${k} ${v}`).join(', ')}) |`);
  for (const [pkg, v] of Object.entries(machine.packages)) L.push(`| ${pkg} | ${v} |`);
  if (machine.git) L.push(`| Commit | ${machine.git.commit}${machine.git.dirty ? ' (with uncommitted changes)' : ''} |`);
  L.push('', 'Everything runs on this one machine: PostgreSQL, the servers under test (one Node process) and the load generator (a child process) share the cores.',
    'Every pool (our service, floor, naive, PostGraphile) has at most 10 connections and runs with `jit=off`, the setting of our service.', '');

  L.push('## Data sets', '');
  L.push('| Positions (asked) | Database | Positions | ACTIVE | Nodes | Valuations | Instruments | Issuers | Largest fund | Its nodes | Its positions | Size on disk | Seed | Load average while measured |');
  L.push('|--:|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|---|---|');
  for (const s of report.sizes) {
    const f = s.facts;
    L.push(`| ${n(s.size)} | ${s.dataset.database} | ${n(f.positions)} | ${n(f.activePositions)} | ${n(f.nodes)} | ${n(f.valuations)} | ${n(f.instruments)} | ${n(f.issuers)} | ${f.fund.name} (${f.fund.baseCcy}) | ${f.fund.nodes} | ${n(f.fund.positions)} | ${(f.databaseBytes / 1024 ** 2).toFixed(0)} MB | ${s.dataset.seeded ? `seeded in ${s.dataset.seedSeconds?.toFixed(0)} s` : 'cached'} | ${loadRange(s)} |`);
  }
  L.push('', `Seed ${report.sizes[0]?.dataset.marker.match(/seed=(\d+)/)?.[1] ?? '?'}, 3 funds, 5 month-end valuation dates, as of ${report.options.asOf}; exposure and marketValue in JPY for the ${largest?.facts.fund.baseCcy ?? 'USD'} fund (EUR→JPY is triangulated through USD).`, '');

  L.push('## Summary', '');
  L.push(...summaryTable(report), '');
  L.push('Queries: ' + QUERIES.map((q) => `**${q.id}**: ${q.title}`).join('; ') + '.', '');
  L.push(`![Median latency against data set size](${chartFile})`, '');
  const side = sideBySide(report);
  if (side.length) L.push(...side, '');
  const clocks = twoClocks(report);
  if (clocks.length) L.push(...clocks, '');
  const corpus = corpusSection(report, corpusChartFile);
  if (corpus.length) L.push(...corpus);

  const notes = floorNotes(report);
  if (notes.length) {
    L.push('<details><summary>Floor statements (the floor is the fastest statement that gives our answer)</summary>', '', ...notes, '', '</details>', '');
  }
  L.push(`## Throughput at ${report.options.connections} connections`, '');
  L.push(`autocannon, ${report.options.durationSeconds} s after 2 s of warm-up; errors = non-2xx + connection errors (timeouts included) + responses with GraphQL errors; a request still running when the time is up is not counted. Read mix: ${READ_MIX.map(([id, w]) => `${id} ×${w}`).join(', ')} (every connection cycles through it).`, '');
  L.push(...throughputTable(report), '');
  const errorLines = report.sizes.flatMap((size) => size.throughput
    .filter((t) => t.result && totalErrors(t.result) > 0)
    .map((t) => `- ${n(size.size)}, ${t.scenario}, ${SYSTEM_NAMES[t.system]}: ${totalErrors(t.result!)} errors (non-2xx ${t.result!.non2xx}, connection errors ${t.result!.errors} of which timeouts ${t.result!.timeouts}, GraphQL errors ${t.result!.mismatches})${t.result!.errorSamples?.length ? `: ${t.result!.errorSamples.map((m) => `"${m}"`).join('; ')}` : ''}`));
  if (errorLines.length) L.push('Errors seen:', '', ...errorLines, '');

  L.push(...observabilityTable(report));

  L.push('## Targets', '');
  L.push('| Target | Positions | Measured | Met |', '|---|---|---|---|');
  for (const t of targets) L.push(`| ${t.target} | ${t.size} | ${t.measured} | ${t.met === null ? `– ${t.note}` : t.met ? `yes${t.note ? ` (${t.note})` : ''}` : `**no**: ${t.note}`} |`);
  L.push('');

  if (largest) {
    L.push('## Where the time goes', '');
    L.push(...whereTimeGoes(largest), '');
    if (largest.explains.length) {
      L.push(`### Plans of the slowest statement per query (${n(largest.size)} positions)`, '');
      for (const e of largest.explains) {
        L.push(`**${e.query}** (${fmtMs(e.durationMs)} ms as Prisma reported it): \`${e.statement.slice(0, 160)}…\``, '', '```');
        const keep = e.plan.filter((l) => /(Scan|Join|Aggregate|Loop|Memoize|Limit|CTE|Sort|WindowAgg|Recursive|Execution Time|Planning Time|Sort Method)/.test(l));
        L.push(...keep.slice(0, 40).map((l) => (l.length > 170 ? `${l.slice(0, 170)}…` : l)), '```', '');
      }
    }
  }
  L.push('## Method', '');
  L.push(
    '- Data sets: one database per size on the server of DATABASE_URL, migrated with the project\'s runner and seeded with `buildWorld`/`loadWorld` (seed 42), then `VACUUM (ANALYZE)`; reused when the database comment matches seed, size, migration checksums and a checksum of the generator\'s sources.',
    '- Our service: `createServer` in the bench process with the default pool (10); statements per request from `db.onQuery` (one event per SQL statement Prisma sends).',
    '- Floor: one hand-written statement per query returning the same answer (bench/lib/floor.ts), run with `pg` directly; no HTTP, no GraphQL.',
    '- Naive: graphql-js with per-parent resolvers on plain `pg` (bench/lib/naive.ts): one statement per node for children, per node for the count, per node for the page, per position for the instrument.',
    '- PostGraphile 4: `postgraphile(pool, \'public\', { disableDefaultMutations, dynamicJson, no watch, no GraphiQL })` on its own HTTP server in the same process; its statements are counted on its pool (every `query()` call, including transaction control if any).',
    '- In turns: `{ __typename }` on ours, naive and PostGraphile, and each corpus operation PostGraphile can express on ours and PostGraphile, are warmed up and timed one request of each after the other (a corpus operation\'s own figure is ours alone, measured first; the pair in turns is what "Ours ÷ PostGraphile" compares). The tree throughput runs in mirrored rounds (ours, PostGraphile, PostGraphile, ours, ...); each system\'s figure is its best round.',
    '- Snapshots: the dedup path stores the content once, then times calls that find it; the new path deletes the fund\'s snapshots (untimed) before each timed call.',
    ...(report.before
      ? [`- Before (\`--before ${report.before.ref}\`): commit ${report.before.commit} checked out in a git worktree with its own dependencies; per size a database \`<db>_bench_<size>_before\` migrated and seeded by that commit's code (seed 42), then \`VACUUM (ANALYZE)\`; its \`src/main.ts\` as a child process (AUTH_MODE=off, ANALYTICS_CACHE_MB=0); the present-day queries only, each right after ours.`]
      : []),
    '- Two clocks (group `history`): dates and the moment of knowledge come from the data (FX_SPOT month-ends; the median distinct `recorded_at` of `position_version` when the data was recorded over time, else a week before it was seeded), so reruns on the same data set ask the same questions.',
    '',
  );
  return `${L.join('\n')}\n`;
}

/** Writes <date>.md, <date>-latency.svg and, when the corpus was measured, <date>-corpus.svg; returns their paths. */
export function writeReport(report: BenchReport, outDir: string): string[] {
  const chartFile = `${report.date}-latency.svg`;
  const md = join(outDir, `${report.date}.md`);
  const svg = join(outDir, chartFile);
  writeFileSync(svg, latencySvg(report));
  const corpusChart = corpusSvg(report);
  const corpusChartFile = corpusChart ? `${report.date}-corpus.svg` : null;
  if (corpusChart && corpusChartFile) writeFileSync(join(outDir, corpusChartFile), corpusChart);
  writeFileSync(md, renderMarkdown(report, chartFile, corpusChartFile));
  return [md, svg, ...(corpusChartFile ? [join(outDir, corpusChartFile)] : [])];
}

export type { QueryResult };
