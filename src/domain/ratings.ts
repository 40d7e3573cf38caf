// Long-term credit rating scales of the four agencies and one ordinal score
// across them: 1 = AAA/Aaa (best) ... 10 = BBB-/Baa3/BBB (low) (the last
// investment-grade notch) ... 22 = default. Symbols that are not on the named
// agency's scale are rejected.

export type Agency = 'SP' | 'MOODYS' | 'FITCH' | 'DBRS';
export const AGENCIES: readonly Agency[] = ['SP', 'MOODYS', 'FITCH', 'DBRS'];

// Index i of each list has score i + 1. Equivalent notches share a score;
// where an agency has two default symbols (S&P SD/D, Fitch RD/D), both score 22.
const SP = [
  'AAA', 'AA+', 'AA', 'AA-', 'A+', 'A', 'A-', 'BBB+', 'BBB', 'BBB-', 'BB+',
  'BB', 'BB-', 'B+', 'B', 'B-', 'CCC+', 'CCC', 'CCC-', 'CC', 'C', 'D',
];
const MOODYS = [
  'Aaa', 'Aa1', 'Aa2', 'Aa3', 'A1', 'A2', 'A3', 'Baa1', 'Baa2', 'Baa3', 'Ba1',
  'Ba2', 'Ba3', 'B1', 'B2', 'B3', 'Caa1', 'Caa2', 'Caa3', 'Ca', 'C',
];
const DBRS = [
  'AAA', 'AA (high)', 'AA', 'AA (low)', 'A (high)', 'A', 'A (low)', 'BBB (high)', 'BBB', 'BBB (low)',
  'BB (high)', 'BB', 'BB (low)', 'B (high)', 'B', 'B (low)', 'CCC (high)', 'CCC', 'CCC (low)', 'CC', 'C', 'D',
];

function scoreTable(symbols: string[], extra: Record<string, number> = {}): ReadonlyMap<string, number> {
  return new Map([...symbols.map((symbol, i) => [symbol, i + 1] as [string, number]), ...Object.entries(extra)]);
}

const SCALES: Record<Agency, ReadonlyMap<string, number>> = {
  SP: scoreTable(SP, { SD: 22 }),
  FITCH: scoreTable(SP, { RD: 22 }),
  MOODYS: scoreTable(MOODYS),
  DBRS: scoreTable(DBRS),
};

/** The rating scale of an agency, best first (one symbol per score). */
export function ratingSymbols(agency: Agency): string[] {
  return agency === 'MOODYS' ? [...MOODYS] : agency === 'DBRS' ? [...DBRS] : [...SP];
}

/**
 * Normalises a symbol as the agency writes it: trims, collapses spaces, fixes
 * case (S&P/Fitch/DBRS upper case with lower-case "(high)"/"(low)"; Moody's
 * "Baa1" style). Returns null when the result is not on the agency's scale.
 */
export function normalizeRating(agency: Agency, input: string): string | null {
  const compact = input.trim().replace(/\s+/g, ' ');
  let symbol: string;
  if (agency === 'MOODYS') {
    symbol = compact.charAt(0).toUpperCase() + compact.slice(1).toLowerCase();
  } else if (agency === 'DBRS') {
    symbol = compact.toUpperCase().replace(/\s*\((HIGH|LOW)\)$/, (_m, w: string) => ` (${w.toLowerCase()})`);
  } else {
    symbol = compact.toUpperCase();
  }
  return SCALES[agency].has(symbol) ? symbol : null;
}

/** The cross-agency ordinal of a symbol (1 = best), or null when it is not on the scale. */
export function ratingScore(agency: Agency, symbol: string): number | null {
  return SCALES[agency].get(symbol) ?? null;
}

/** The symbol an agency uses for a score (the first one where two share it). */
export function symbolForScore(agency: Agency, score: number): string {
  const symbols = ratingSymbols(agency);
  const symbol = symbols[Math.min(Math.max(score, 1), symbols.length) - 1];
  if (symbol === undefined) throw new RangeError(`no ${agency} symbol for score ${score}`);
  return symbol;
}
