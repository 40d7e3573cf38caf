import fc from 'fast-check';
import { Kind } from 'graphql';
import { canonicalDecimal, decimalProblem, FX_RATE, MONEY, QUANTITY } from '../../src/domain/decimal';
import { DecimalScalar } from '../../src/graphql/scalars';
import { coercionField } from '../../src/graphql/formatError';

describe('canonicalDecimal', () => {
  it.each([
    ['1150000.25', '1150000.25'], ['+001.50', '1.5'], ['-0.0', '0'], ['  42 ', '42'], ['0.000', '0'],
    ['-12.3400', '-12.34'], ['007', '7'],
  ])('%s -> %s', (input, expected) => expect(canonicalDecimal(input)).toBe(expected));

  it.each(['', 'NaN', 'Infinity', '-Infinity', '1e5', '1E-3', '1.', '.5', '1,5', '1 000', '0x10', '--1', `1${'0'.repeat(70)}`])(
    'rejects %j',
    (input) => expect(canonicalDecimal(input)).toBeNull(),
  );

  it('keeps every digit of any plain decimal (round trip through text)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.nat({ max: 12 }), (units, scale) => {
        const negative = units < 0n;
        const digits = (negative ? -units : units).toString().padStart(scale + 1, '0');
        const text = `${negative ? '-' : ''}${scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}` : digits}`;
        const canonical = canonicalDecimal(text)!;
        // Same value: compare as scaled integers.
        const [i = '0', f = ''] = canonical.replace('-', '').split('.');
        const back = BigInt(i + f.padEnd(scale, '0').slice(0, Math.max(scale, f.length))) * (canonical.startsWith('-') ? -1n : 1n);
        expect(f.length).toBeLessThanOrEqual(scale);
        expect(back).toBe(units);
      }),
    );
  });
});

describe('decimalProblem', () => {
  it('accepts what fits and refuses to round what does not', () => {
    expect(decimalProblem('123456789012345678.0123456789', QUANTITY)).toBeNull();
    expect(decimalProblem('1.00000000001', QUANTITY)).toMatch(/11 digits after/);
    expect(decimalProblem('1234567890123456789', QUANTITY)).toMatch(/more than 18 digits/);
    expect(decimalProblem('0.12345678', MONEY)).toBeNull();
    expect(decimalProblem('0.123456789', MONEY)).toMatch(/at most 8/);
    expect(decimalProblem('1.085', FX_RATE)).toBeNull();
    expect(decimalProblem('0', FX_RATE)).toMatch(/greater than zero/);
    expect(decimalProblem('-1.1', FX_RATE)).toMatch(/greater than zero/);
  });
});

describe('Decimal scalar', () => {
  it('serialises decimals and strings exactly, never through a float', () => {
    expect(DecimalScalar.serialize({ toFixed: () => '0.30000000000000004441' })).toBe('0.30000000000000004441');
    expect(DecimalScalar.serialize('1150000.25')).toBe('1150000.25');
    expect(() => DecimalScalar.serialize(0.1)).toThrow();
  });

  it('parses strings and safe integers from variables, and rejects floats and junk', () => {
    expect(DecimalScalar.parseValue('1.10')).toBe('1.1');
    expect(DecimalScalar.parseValue(42)).toBe('42');
    for (const bad of [0.1, 2 ** 53 + 1, Number.NaN, Number.POSITIVE_INFINITY, 'NaN', '1e400', true, null, {}, []]) {
      expect(() => DecimalScalar.parseValue(bad)).toThrow();
    }
  });

  it('parses literals from their exact source text', () => {
    expect(DecimalScalar.parseLiteral({ kind: Kind.FLOAT, value: '0.1000000000000000055511151231257827' })).toBe('0.1000000000000000055511151231257827');
    expect(DecimalScalar.parseLiteral({ kind: Kind.INT, value: '9007199254740993' })).toBe('9007199254740993');
    expect(() => DecimalScalar.parseLiteral({ kind: Kind.FLOAT, value: '1e400' })).toThrow();
    expect(() => DecimalScalar.parseLiteral({ kind: Kind.BOOLEAN, value: true })).toThrow();
  });
});

it('finds the field named in a variable coercion error', () => {
  expect(coercionField('Variable "$input" got invalid value "usd1" at "input.baseCurrency"; Expected type "Currency".')).toBe('input.baseCurrency');
  expect(coercionField('Variable "$id" of required type "ID!" was not provided.')).toBe('id');
  expect(coercionField('Syntax Error: Unexpected Name "x".')).toBeUndefined();
});
