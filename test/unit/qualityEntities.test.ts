// CREDIT_SPREAD and RATING quality rules, and entity references.
import { DEFAULT_THRESHOLDS, worstStatus, type QualityCheck } from '../../src/domain/quality/check';
import { readSpreadPayload, spreadChecks, spreadsByKey } from '../../src/domain/quality/creditSpread';
import { readEntityRef, refKey } from '../../src/domain/quality/entityRef';
import { ratingChecks, readRatingPayload } from '../../src/domain/quality/rating';

const status = (checks: QualityCheck[], name: string) => checks.find((c) => c.name === name)?.status;
const LEI = '529900T8BM49AURSDO55';
const ISIN = 'US0378331005';
const A = '11111111-1111-4111-8111-111111111111';
const B = '22222222-2222-4222-8222-222222222222';
const matches = new Map<string, string[]>([[`lei:${LEI}`, [A]], [`id:${A}`, [A]], [`isin:${ISIN}`, [B]], ['ticker:DUP', [A, B]]]);

describe('entity references', () => {
  it('reads exactly one normalised identifier with valid check digits', () => {
    expect(readEntityRef({ lei: ` ${LEI.toLowerCase()} ` })).toEqual({ ok: true, value: { kind: 'lei', value: LEI } });
    expect(readEntityRef({ id: A.toUpperCase() })).toEqual({ ok: true, value: { kind: 'id', value: A } });
    expect(refKey({ kind: 'isin', value: ISIN })).toBe(`isin:${ISIN}`);
    for (const bad of [{}, { lei: LEI, isin: ISIN }, { lei: '529900T8BM49AURSDO56' }, { isin: 'US0378331006' }, { id: 'x' }, { ticker: 7 }, 'AAPL', null]) {
      expect(readEntityRef(bad).ok).toBe(false);
    }
  });
});

describe('CREDIT_SPREAD checks', () => {
  const spread = (entity: object, tenor: string, bps: unknown) => ({ entity, tenor, bps });
  const run = (spreads: unknown[], previous: Map<string, string> | null = null) =>
    spreadChecks(readSpreadPayload({ spreads }), matches, previous && { id: 'p', asOfDate: '2025-01-09', spreads: previous }, DEFAULT_THRESHOLDS);

  it('passes known entities with non-negative spreads', () => {
    const checks = run([spread({ lei: LEI }, '5Y', '125.5'), spread({ isin: ISIN }, '5Y', 0)]);
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['payload.shape', 'PASS'], ['spread.entry_format', 'PASS'], ['spread.non_negative', 'PASS'],
      ['spread.entity_known', 'PASS'], ['spread.duplicate', 'PASS'], ['spread.jump_vs_previous', 'PASS'],
    ]);
  });

  it('fails a negative spread', () => {
    expect(status(run([spread({ lei: LEI }, '5Y', '-0.5')]), 'spread.non_negative')).toBe('FAIL');
  });

  it('fails an unknown or ambiguous entity', () => {
    const unknown = run([spread({ isin: 'GB0002634946' }, '5Y', '100')]);
    expect(unknown.find((c) => c.name === 'spread.entity_known')).toMatchObject({ status: 'FAIL', message: expect.stringContaining('no entity has this identifier') });
    expect(status(run([spread({ ticker: 'dup' }, '5Y', '100')]), 'spread.entity_known')).toBe('FAIL');
  });

  it('fails malformed entries and duplicates of an entity and tenor', () => {
    expect(status(run([spread({ lei: LEI }, '5Y', 'wide')]), 'spread.entry_format')).toBe('FAIL');
    expect(status(run([spread({ lei: LEI }, 'five', '1')]), 'spread.entry_format')).toBe('FAIL');
    expect(status(run([spread({ lei: LEI }, '5Y', '1'), spread({ id: A }, '60M', '1')]), 'spread.duplicate')).toBe('FAIL');
    expect(run([]).map((c) => [c.name, c.status])).toEqual([['payload.shape', 'FAIL']]);
  });

  it('warns on a jump beyond the threshold against the previous feed, same entity and tenor', () => {
    const previousRead = readSpreadPayload({ spreads: [spread({ id: A }, '5Y', '100'), spread({ id: B }, '5Y', '100')] });
    const previous = spreadsByKey(previousRead.entries, new Map([[`id:${A}`, [A]], [`id:${B}`, [B]]]));
    const calm = run([spread({ lei: LEI }, '5Y', '200'), spread({ isin: ISIN }, '10Y', '900')], previous);
    expect(calm.find((c) => c.name === 'spread.jump_vs_previous')).toMatchObject({ status: 'PASS', threshold: '100', observed: { max: '100' } });
    const jump = run([spread({ lei: LEI }, '5Y', '200.01')], previous).find((c) => c.name === 'spread.jump_vs_previous')!;
    expect(jump).toMatchObject({ status: 'WARN', observed: { offenders: [{ index: 0, value: '100.01', previousBps: '100' }] } });
    expect(worstStatus(run([spread({ lei: LEI }, '5Y', '200.01')], previous))).toBe('WARN');
  });
});

describe('RATING checks', () => {
  const rating = (entity: object, agency: unknown, symbol: unknown) => ({ entity, agency, rating: symbol });
  const run = (ratings: unknown[], recorded: { entityId: string; agency: 'SP' | 'MOODYS'; rating: string }[] = []) =>
    ratingChecks(readRatingPayload({ ratings }), matches, recorded, '2025-01-10');

  it('passes symbols on the agency scale for known entities, normalised', () => {
    const outcome = run([rating({ lei: LEI }, 'sp', 'a-'), rating({ isin: ISIN }, 'MOODYS', 'BAA1')]);
    expect(worstStatus(outcome.checks)).toBe('PASS');
    expect(outcome.toRecord).toEqual([{ entityId: A, agency: 'SP', rating: 'A-' }, { entityId: B, agency: 'MOODYS', rating: 'Baa1' }]);
  });

  it("fails a symbol not on the agency's scale, an unknown agency and an unknown entity", () => {
    expect(status(run([rating({ lei: LEI }, 'SP', 'Baa1')]).checks, 'rating.scale')).toBe('FAIL');
    expect(status(run([rating({ lei: LEI }, 'S&P', 'A')]).checks, 'rating.entry_format')).toBe('FAIL');
    expect(status(run([rating({ isin: 'GB0002634946' }, 'SP', 'A')]).checks, 'rating.entity_known')).toBe('FAIL');
  });

  it('skips a rating already recorded with the same symbol, records another as a restatement (WARN)', () => {
    const same = run([rating({ lei: LEI }, 'SP', 'A-')], [{ entityId: A, agency: 'SP', rating: 'A-' }]);
    expect(worstStatus(same.checks)).toBe('PASS');
    expect(same.toRecord).toEqual([]);
    const other = run([rating({ lei: LEI }, 'SP', 'BBB')], [{ entityId: A, agency: 'SP', rating: 'A-' }]);
    expect(other.checks.find((c) => c.name === 'rating.consistency')).toMatchObject({ status: 'PASS', message: expect.stringContaining('0 new, 1 restated') });
    expect(other.checks.find((c) => c.name === 'rating.restated')).toMatchObject({ status: 'WARN', message: expect.stringContaining('was rated A- on 2025-01-10; restated as BBB') });
    expect(worstStatus(other.checks)).toBe('WARN');
    expect(other.toRecord).toEqual([{ entityId: A, agency: 'SP', rating: 'BBB' }]);
  });

  it('fails two symbols for one entity and agency within the payload; the same one twice is recorded once', () => {
    expect(status(run([rating({ lei: LEI }, 'SP', 'A'), rating({ id: A }, 'SP', 'A+')]).checks, 'rating.consistency')).toBe('FAIL');
    const twice = run([rating({ lei: LEI }, 'SP', 'A'), rating({ id: A }, 'SP', 'a')]);
    expect(worstStatus(twice.checks)).toBe('PASS');
    expect(twice.toRecord).toHaveLength(1);
  });
});
