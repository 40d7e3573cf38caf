// YIELD_CURVE quality rules and the as-of date rules every feed gets.
import { asOfDateChecks, daysBetween } from '../../src/domain/quality/asOfDate';
import { worstStatus, type QualityCheck } from '../../src/domain/quality/check';
import { readTenor } from '../../src/domain/quality/values';
import { yieldCurveChecks } from '../../src/domain/quality/yieldCurve';

const status = (checks: QualityCheck[], name: string) => checks.find((c) => c.name === name)?.status;
const point = (tenor: string, discountFactor: string, rate = '0.04') => ({ tenor, rate, discountFactor });
const CURVE = [point('1Y', '0.96'), point('2Y', '0.92'), point('5Y', '0.82'), point('10Y', '0.67'), point('30Y', '0.30')];

describe('YIELD_CURVE checks', () => {
  it('passes a complete, decreasing curve', () => {
    const checks = yieldCurveChecks({ currency: 'usd', points: [point('6M', '0.98'), ...CURVE] });
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['payload.shape', 'PASS'], ['curve.currency', 'PASS'], ['curve.point_format', 'PASS'], ['curve.duplicate_tenor', 'PASS'],
      ['curve.required_tenors', 'PASS'], ['curve.discount_factor_range', 'PASS'], ['curve.discount_factor_monotonic', 'PASS'],
    ]);
    expect(worstStatus(checks)).toBe('PASS');
  });

  it.each([['an array', []], ['no points', { currency: 'USD' }], ['empty points', { currency: 'USD', points: [] }], ['a number', 3]])(
    'fails the shape of %s', (_what, payload) => {
      const checks = yieldCurveChecks(payload);
      expect(checks).toEqual([expect.objectContaining({ name: 'payload.shape', status: 'FAIL' })]);
    },
  );

  it('fails a missing required tenor, naming it', () => {
    const checks = yieldCurveChecks({ currency: 'USD', points: CURVE.filter((p) => p.tenor !== '10Y') });
    const required = checks.find((c) => c.name === 'curve.required_tenors')!;
    expect(required).toMatchObject({ status: 'FAIL', message: 'missing tenor 10Y', threshold: ['1Y', '2Y', '5Y', '10Y', '30Y'] });
  });

  it('counts 12M as 1Y (and as a duplicate of it)', () => {
    expect(status(yieldCurveChecks({ currency: 'USD', points: [point('12M', '0.96'), ...CURVE.slice(1)] }), 'curve.required_tenors')).toBe('PASS');
    expect(status(yieldCurveChecks({ currency: 'USD', points: [point('12M', '0.96'), ...CURVE] }), 'curve.duplicate_tenor')).toBe('FAIL');
  });

  it.each([['zero', '0'], ['negative', '-0.5'], ['above one', '1.0001']])('fails a discount factor that is %s', (_what, df) => {
    const checks = yieldCurveChecks({ currency: 'USD', points: [...CURVE.slice(0, 4), point('30Y', df)] });
    expect(status(checks, 'curve.discount_factor_range')).toBe('FAIL');
  });

  it('accepts a discount factor of exactly 1 and equal neighbours, fails an increase', () => {
    const flat = [point('1Y', '1'), point('2Y', '1'), point('5Y', '0.9'), point('10Y', '0.8'), point('30Y', '0.5')];
    expect(worstStatus(yieldCurveChecks({ currency: 'USD', points: flat }))).toBe('PASS');
    const rising = [point('1Y', '0.96'), point('2Y', '0.97'), ...CURVE.slice(2)];
    const checks = yieldCurveChecks({ currency: 'USD', points: rising.reverse() });
    expect(status(checks, 'curve.discount_factor_monotonic')).toBe('FAIL');
    expect(checks.find((c) => c.name === 'curve.discount_factor_monotonic')!.message).toContain("2Y discount factor 0.97 is above 1Y's 0.96");
  });

  it('fails a malformed currency, tenor or number', () => {
    expect(status(yieldCurveChecks({ currency: 'XYZ', points: CURVE }), 'curve.currency')).toBe('FAIL');
    expect(status(yieldCurveChecks({ points: CURVE }), 'curve.currency')).toBe('FAIL');
    for (const bad of [point('5 years', '0.8'), point('5Y', 'abc'), point('5Y', '0.8', '4%'), { tenor: '5Y', rate: '0.04' }, 'x']) {
      const checks = yieldCurveChecks({ currency: 'USD', points: [...CURVE, bad] });
      expect(status(checks, 'curve.point_format')).toBe('FAIL');
      expect(worstStatus(checks)).toBe('FAIL');
    }
  });

  it('reads tenors exactly', () => {
    expect(readTenor('12m')).toEqual({ ok: true, value: { label: '12M', units: 4380 } });
    expect(readTenor('0Y').ok).toBe(false);
    expect(readTenor('101Y').ok).toBe(false);
    expect(readTenor(5).ok).toBe(false);
  });
});

describe('as-of date checks', () => {
  it('fails a date after today and passes today', () => {
    expect(asOfDateChecks('2025-01-11', '2025-01-10', 7)[0]).toMatchObject({ name: 'asOfDate.not_future', status: 'FAIL', observed: '2025-01-11', threshold: '2025-01-10' });
    expect(asOfDateChecks('2025-01-10', '2025-01-10', 7).map((c) => c.status)).toEqual(['PASS', 'PASS']);
  });

  it('warns on a date older than the staleness limit, not on one exactly at it', () => {
    expect(asOfDateChecks('2025-01-03', '2025-01-10', 7)[1]).toMatchObject({ name: 'asOfDate.fresh', status: 'PASS', observed: 7, threshold: 7 });
    expect(asOfDateChecks('2025-01-02', '2025-01-10', 7)[1]).toMatchObject({ status: 'WARN', observed: 8 });
    expect(daysBetween('2024-02-28', '2024-03-01')).toBe(2);
  });
});
