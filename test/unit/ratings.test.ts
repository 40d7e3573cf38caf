import { AGENCIES, normalizeRating, ratingScore, ratingSymbols, symbolForScore } from '../../src/domain/ratings';

describe('rating scales', () => {
  it('scores equivalent notches alike across agencies', () => {
    expect(ratingScore('SP', 'AAA')).toBe(1);
    expect(ratingScore('MOODYS', 'Aaa')).toBe(1);
    expect(ratingScore('SP', 'AA+')).toBe(2);
    expect(ratingScore('MOODYS', 'Aa1')).toBe(2);
    expect(ratingScore('DBRS', 'AA (high)')).toBe(2);
    expect(ratingScore('SP', 'BBB-')).toBe(10);
    expect(ratingScore('FITCH', 'BBB-')).toBe(10);
    expect(ratingScore('MOODYS', 'Baa3')).toBe(10);
    expect(ratingScore('DBRS', 'BBB (low)')).toBe(10);
    expect(ratingScore('SP', 'D')).toBe(22);
    expect(ratingScore('SP', 'SD')).toBe(22);
    expect(ratingScore('FITCH', 'RD')).toBe(22);
  });

  it('rejects symbols of another agency or of none', () => {
    expect(ratingScore('SP', 'Baa1')).toBeNull();
    expect(ratingScore('MOODYS', 'BBB+')).toBeNull();
    expect(ratingScore('DBRS', 'A+')).toBeNull();
    expect(ratingScore('FITCH', 'SD')).toBeNull();
    expect(normalizeRating('SP', 'AAAA')).toBeNull();
    expect(normalizeRating('MOODYS', 'Aa4')).toBeNull();
  });

  it('normalises case and spacing the way each agency writes', () => {
    expect(normalizeRating('SP', ' bbb- ')).toBe('BBB-');
    expect(normalizeRating('MOODYS', 'BAA1')).toBe('Baa1');
    expect(normalizeRating('DBRS', 'aa  (HIGH)')).toBe('AA (high)');
    expect(normalizeRating('DBRS', 'BBB(low)')).toBe('BBB (low)');
  });

  it('maps every symbol back to a score and every score to a symbol of the same score', () => {
    for (const agency of AGENCIES) {
      const symbols = ratingSymbols(agency);
      symbols.forEach((symbol, i) => {
        expect(ratingScore(agency, symbol)).toBe(i + 1);
        expect(symbolForScore(agency, i + 1)).toBe(symbol);
      });
    }
  });
});
