// Quality thresholds from the environment: defaults when absent, exact decimals, malformed values named.
import { ConfigError } from '../../src/config';
import { DEFAULT_THRESHOLDS } from '../../src/domain/quality/check';
import { loadQualityThresholds } from '../../src/services/marketData/thresholds';

describe('quality thresholds', () => {
  it('takes the documented defaults when nothing (or blank) is set', () => {
    expect(loadQualityThresholds({})).toEqual({ staleDays: 7, fxMovePct: '5', fxInverseTolerance: '0.0001', fxCrossTolerancePct: '0.5', spreadJumpBps: '100' });
    expect(loadQualityThresholds({ QUALITY_STALE_DAYS: ' ' })).toEqual(DEFAULT_THRESHOLDS);
  });

  it('reads every variable, canonicalising decimals', () => {
    expect(loadQualityThresholds({
      QUALITY_STALE_DAYS: '3', QUALITY_FX_MOVE_PCT: '2.50', QUALITY_FX_INVERSE_TOLERANCE: '0.00001',
      QUALITY_FX_CROSS_TOLERANCE_PCT: '1', QUALITY_SPREAD_JUMP_BPS: '0',
    })).toEqual({ staleDays: 3, fxMovePct: '2.5', fxInverseTolerance: '0.00001', fxCrossTolerancePct: '1', spreadJumpBps: '0' });
  });

  it.each([
    ['QUALITY_STALE_DAYS', '-1'], ['QUALITY_STALE_DAYS', '7.5'], ['QUALITY_STALE_DAYS', '99999'],
    ['QUALITY_FX_MOVE_PCT', 'five'], ['QUALITY_FX_INVERSE_TOLERANCE', '1e-4'], ['QUALITY_SPREAD_JUMP_BPS', '-100'],
  ])('rejects %s=%s with an error naming the variable', (name, value) => {
    expect(() => loadQualityThresholds({ [name]: value })).toThrow(ConfigError);
    expect(() => loadQualityThresholds({ [name]: value })).toThrow(new RegExp(`^${name}: `));
  });
});
