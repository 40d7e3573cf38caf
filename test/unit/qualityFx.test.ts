// FX_SPOT quality rules (src/domain/quality/fxSpot.ts): each rule with a passing and a failing example.
import { DEFAULT_THRESHOLDS, worstStatus, type QualityCheck } from '../../src/domain/quality/check';
import { crossCheck, fxChecks, inverseCheck, moveCheck, readFxPayload, readPair, type PreviousFxFeed } from '../../src/domain/quality/fxSpot';

const byName = (checks: QualityCheck[], name: string) => {
  const found = checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name} in ${checks.map((c) => c.name).join(', ')}`);
  return found;
};
const rates = (...entries: [string, string][]) => readFxPayload({ rates: entries.map(([pair, rate]) => ({ pair, rate })) }).rates;

describe('FX_SPOT payload reading', () => {
  it('passes a well-formed payload and normalises pairs', () => {
    const read = readFxPayload({ rates: [{ pair: ' eurusd ', rate: '1.0850' }, { pair: 'GBPUSD', rate: 1.27 }] });
    expect(read.checks.map((c) => [c.name, c.status])).toEqual([
      ['payload.shape', 'PASS'], ['fx.pair_format', 'PASS'], ['fx.rate_format', 'PASS'], ['fx.duplicate_pair', 'PASS'],
    ]);
    expect(read.rates).toEqual([{ index: 0, pair: 'EURUSD', rate: '1.085' }, { index: 1, pair: 'GBPUSD', rate: '1.27' }]);
  });

  it.each([
    ['a string', 'EURUSD'],
    ['an array', [{ pair: 'EURUSD', rate: '1' }]],
    ['no rates', { prices: [] }],
    ['rates not a list', { rates: { EURUSD: '1.08' } }],
    ['an empty list', { rates: [] }],
    ['null', null],
  ])('fails the shape check for %s, and runs nothing else', (_what, payload) => {
    const checks = fxChecks(readFxPayload(payload), null, DEFAULT_THRESHOLDS);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ name: 'payload.shape', status: 'FAIL' });
    expect(checks[0]!.message).toMatch(/rates/);
  });

  it('fails malformed pairs: length, unknown currency, same currency twice, not text', () => {
    for (const pair of ['EURUS', 'EUR/USD', 'EURXXY', 'USDUSD', 42, null]) expect(readPair(pair).ok).toBe(false);
    expect(readPair('EURJPY').ok).toBe(true);
    const read = readFxPayload({ rates: [{ pair: 'USDUSD', rate: '1' }, { pair: 'ABCDEF', rate: '1' }, 'EURUSD', { pair: 'EURUSD', rate: '1.08' }] });
    const format = byName(read.checks, 'fx.pair_format');
    expect(format.status).toBe('FAIL');
    expect((format.observed as { index: number }[]).map((o) => o.index)).toEqual([0, 1, 2]);
    expect(read.rates.map((r) => r.pair)).toEqual(['EURUSD']);
  });

  it.each([
    ['zero', '0'], ['negative', '-1.2'], ['text', 'abc'], ['an exponent', '1e3'], ['13 decimal places', '1.0000000000001'],
    ['17 integer digits', '12345678901234567'], ['a boolean', true], ['missing', undefined],
  ])('fails a rate that is %s', (_what, rate) => {
    const read = readFxPayload({ rates: [{ pair: 'EURUSD', rate }] });
    expect(byName(read.checks, 'fx.rate_format')).toMatchObject({ status: 'FAIL', threshold: 'numeric(28,12) > 0' });
    expect(read.rates).toEqual([]);
  });

  it('accepts a rate with exactly 12 decimal places', () => {
    expect(byName(readFxPayload({ rates: [{ pair: 'EURUSD', rate: '1.000000000001' }] }).checks, 'fx.rate_format').status).toBe('PASS');
  });

  it('fails a pair quoted twice (after normalisation)', () => {
    const read = readFxPayload({ rates: [{ pair: 'EURUSD', rate: '1.08' }, { pair: 'eurusd', rate: '1.08' }] });
    const dup = byName(read.checks, 'fx.duplicate_pair');
    expect(dup.status).toBe('FAIL');
    expect(dup.message).toContain('#1: pair EURUSD is already quoted by entry #0');
  });
});

describe('FX_SPOT consistency', () => {
  it('passes a pair and its inverse within the tolerance, fails them beyond it', () => {
    const good = inverseCheck(rates(['EURUSD', '1.25'], ['USDEUR', '0.8']), '0.0001');
    expect(good).toMatchObject({ status: 'PASS', threshold: '0.0001', observed: { max: '0', offenders: [] } });
    const bad = inverseCheck(rates(['EURUSD', '1.25'], ['USDEUR', '0.81']), '0.0001');
    expect(bad.status).toBe('FAIL');
    expect(bad.observed).toEqual({ max: '0.0125', offenders: [{ index: 0, label: 'EURUSD/USDEUR', value: '0.0125' }] });
  });

  it('passes when no inverse is quoted', () => {
    expect(inverseCheck(rates(['EURUSD', '1.25']), '0.0001')).toMatchObject({ status: 'PASS', observed: { max: null } });
  });

  it('warns on a cross rate away from its USD legs, direct or inverse', () => {
    // EURGBP implied = EURUSD / GBPUSD = 1.10 / 1.25 = 0.88
    const legs: [string, string][] = [['EURUSD', '1.10'], ['GBPUSD', '1.25']];
    expect(crossCheck(rates(...legs, ['EURGBP', '0.8820']), '0.5')).toMatchObject({ status: 'PASS', observed: { max: '0.2272727273' } });
    const off = crossCheck(rates(...legs, ['EURGBP', '0.90']), '0.5');
    expect(off.status).toBe('WARN');
    expect(off.observed).toMatchObject({ offenders: [{ label: 'EURGBP', value: '2.2727272727', impliedRate: '0.88' }] });
    // With USDGBP = 0.8 instead of GBPUSD the implied rate is the same.
    expect(crossCheck(rates(['EURUSD', '1.10'], ['USDGBP', '0.8'], ['EURGBP', '0.90']), '0.5').status).toBe('WARN');
    expect(crossCheck(rates(['EURUSD', '1.10'], ['EURGBP', '0.90']), '0.5')).toMatchObject({ status: 'PASS', observed: { max: null } });
  });

  it('warns on a move beyond the threshold against the previous feed', () => {
    const previous: PreviousFxFeed = { id: 'p', asOfDate: '2025-01-02', rates: new Map([['EURUSD', '1.00'], ['USDJPY', '150']]) };
    const calm = moveCheck(rates(['EURUSD', '1.05'], ['USDJPY', '151']), previous, '5');
    expect(calm).toMatchObject({ status: 'PASS', threshold: '5', observed: { max: '5' } });
    const jumpy = moveCheck(rates(['EURUSD', '1.0501'], ['USDJPY', '151']), previous, '5');
    expect(jumpy.status).toBe('WARN');
    expect(jumpy.message).toContain('EURUSD 5.01%');
    expect(jumpy.message).toContain('against feed p of 2025-01-02');
    expect(moveCheck(rates(['EURUSD', '9']), null, '5')).toMatchObject({ status: 'PASS', observed: { max: null, offenders: [] } });
  });

  it('gives the feed the worst status of its checks', () => {
    const read = readFxPayload({ rates: [{ pair: 'EURUSD', rate: '1.10' }, { pair: 'GBPUSD', rate: '1.25' }, { pair: 'EURGBP', rate: '0.95' }] });
    const checks = fxChecks(read, null, DEFAULT_THRESHOLDS);
    expect(worstStatus(checks)).toBe('WARN');
    const failing = fxChecks(readFxPayload({ rates: [...(read.rates.map(({ pair, rate }) => ({ pair, rate }))), { pair: 'USDEUR', rate: '0.5' }] }), null, DEFAULT_THRESHOLDS);
    expect(worstStatus(failing)).toBe('FAIL');
    expect(worstStatus([])).toBe('PASS');
  });
});
