// Normalisation and validation of the reference-data upsert inputs (no I/O).
import { cusipCheckDigit, isinCheckDigit, leiCheckDigits } from '../../src/domain/identifiers';
import { DomainError } from '../../src/errors';
import { withConflicts } from '../../src/services/prismaErrors';
import { entityCode, normaliseEntityInput } from '../../src/services/reference/entityInput';
import { assetClass, normaliseInstrumentInput } from '../../src/services/reference/instrumentUpsert';

const ID = '3f2b6a1e-8c4d-4e5f-9a0b-1c2d3e4f5a6b';

function fails(fn: () => unknown, code: string, field: string) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code, field });
    return;
  }
  throw new Error('expected a DomainError');
}

describe('entityCode', () => {
  it.each([
    ['CURRENCY', ' usd ', 'USD'], ['CURRENCY', 'XAU', 'XAU'],
    ['GEOGRAPHY', 'gb', 'GB'], ['GEOGRAPHY', '150', '150'], ['GEOGRAPHY', '001', '001'],
    ['SECTOR', 'fin.banks', 'FIN.BANKS'], ['ISSUER', 'a_1-b', 'A_1-B'], ['SECTOR', 'X'.repeat(16), 'X'.repeat(16)],
  ] as const)('accepts %s code %j as %j', (type, code, expected) => {
    expect(entityCode(type, code, 'input.code')).toBe(expected);
  });

  it.each([
    ['CURRENCY', 'ABC'], ['CURRENCY', 'GB'], ['GEOGRAPHY', 'XX'], ['GEOGRAPHY', 'GBR'], ['GEOGRAPHY', '15'],
    ['SECTOR', '.LEADING'], ['SECTOR', 'A B'], ['ISSUER', 'X'.repeat(17)], ['ISSUER', 'ÄB'],
  ] as const)('rejects %s code %j', (type, code) => {
    fails(() => entityCode(type, code, 'input.code'), 'BAD_USER_INPUT', 'input.code');
  });

  it('treats a blank code as none', () => {
    expect(entityCode('CURRENCY', '  ', 'input.code')).toBeNull();
  });
});

describe('normaliseEntityInput', () => {
  it('keeps omitted fields undefined and clears explicit nulls and blanks', () => {
    const lei = `529900T8BM49AURSDO55`;
    const c = normaliseEntityInput({ entityType: 'ISSUER', name: ' Acme ', lei: lei.toLowerCase(), ticker: null, isin: '  ', parentId: null });
    expect(c).toMatchObject({ id: null, name: 'Acme', lei, ticker: null, isin: null, parentId: null });
    expect(c.code).toBeUndefined();
    expect(c.sectorId).toBeUndefined();
    expect(c.attributes).toBeUndefined();
    expect(normaliseEntityInput({ entityType: 'ISSUER', name: 'A', attributes: null }).attributes).toEqual({});
  });

  it('normalises identifiers and ids', () => {
    const body = 'US0378331';
    const isin = `${body}00${isinCheckDigit(`${body}00`)}`;
    const cusip = `0378331${'0'}${cusipCheckDigit('03783310')}`;
    const lei = `5493001KJTIIGC8Y1R${leiCheckDigits('5493001KJTIIGC8Y1R')}`;
    const c = normaliseEntityInput({ entityType: 'ISSUER', name: 'A', isin: isin.toLowerCase(), cusip, lei, sectorId: ID.toUpperCase() });
    expect(c).toMatchObject({ isin, cusip, lei, sectorId: ID });
  });

  it('names the field of each error', () => {
    fails(() => normaliseEntityInput({ entityType: 'ISSUER', name: '' }), 'BAD_USER_INPUT', 'input.name');
    fails(() => normaliseEntityInput({ entityType: 'ISSUER', name: 'A', lei: '529900T8BM49AURSDO56' }), 'BAD_USER_INPUT', 'input.lei');
    fails(() => normaliseEntityInput({ entityType: 'ISSUER', name: 'A', attributes: [] as never }), 'BAD_USER_INPUT', 'input.attributes');
    fails(() => normaliseEntityInput({ entityType: 'ISSUER', name: 'A', geographyId: 'x' }), 'NOT_FOUND', 'input.geographyId');
    fails(() => normaliseEntityInput({ entityType: 'ISSUER', name: 'A', id: 'x' }), 'NOT_FOUND', 'input.id');
    fails(() => normaliseEntityInput({ entityType: 'BANK' as never, name: 'A' }), 'BAD_USER_INPUT', 'input.entityType');
  });
});

describe('instrument input', () => {
  it.each(['BOND', ' loan ', 'Equity', 'cds', 'CASH', 'other'])('accepts asset class %j', (value) => {
    expect(assetClass(value, 'input.assetClass')).toBe(value.trim().toUpperCase());
  });

  it.each(['SWAP', '', 'BONDS'])('rejects asset class %j', (value) => {
    fails(() => assetClass(value, 'input.assetClass'), 'BAD_USER_INPUT', 'input.assetClass');
  });

  it('normalises and names fields', () => {
    const c = normaliseInstrumentInput({ name: ' X ', assetClass: 'bond', currency: ' eur ', ticker: ' abc ', maturityDate: undefined });
    expect(c).toMatchObject({ name: 'X', assetClass: 'BOND', currency: 'EUR', ticker: 'ABC' });
    expect(c.maturityDate).toBeUndefined();
    fails(() => normaliseInstrumentInput({ name: 'X', assetClass: 'BOND', currency: 'EURO' }), 'BAD_USER_INPUT', 'input.currency');
    fails(() => normaliseInstrumentInput({ name: 'X', assetClass: 'BOND', currency: 'EUR', maturityDate: new Date('nope') }), 'BAD_USER_INPUT', 'input.maturityDate');
  });
});

describe('withConflicts', () => {
  const rules = [
    { index: 'instrument_isin_key', columns: ['isin'], field: 'input.isin' },
    { index: 'thing_a_b_key', columns: ['a', 'b'], field: 'input.b' },
  ];
  const adapterError = (cause: Record<string, unknown>) =>
    Object.assign(new Error('Unique constraint failed'), { code: 'P2002', meta: { driverAdapterError: { cause: { originalCode: '23505', ...cause } } } });

  it('names the field from the index (node-postgres), the columns (PGlite) or the message', async () => {
    const shapes = [
      adapterError({ constraint: { index: 'instrument_isin_key' } }),
      adapterError({ constraint: { fields: ['isin'] } }),
      adapterError({ originalMessage: 'duplicate key value violates unique constraint "instrument_isin_key"' }),
    ];
    for (const error of shapes) {
      await expect(withConflicts(rules, 'instrument', () => Promise.reject(error))).rejects.toMatchObject({ code: 'CONFLICT', field: 'input.isin' });
    }
    await expect(withConflicts(rules, 'x', () => Promise.reject(adapterError({ constraint: { fields: ['b', 'a'] } })))).rejects.toMatchObject({ field: 'input.b' });
  });

  it('passes other errors through untouched', async () => {
    const other = new Error('boom');
    await expect(withConflicts(rules, 'x', () => Promise.reject(other))).rejects.toBe(other);
    await expect(withConflicts(rules, 'x', () => Promise.resolve(7))).resolves.toBe(7);
  });
});
