import fc from 'fast-check';
import {
  cusipCheckDigit, isinCheckDigit, isValidCusip, isValidIsin, isValidLei, leiCheckDigits, normalizeIdentifier,
} from '../../src/domain/identifiers';

describe('ISIN (ISO 6166)', () => {
  it.each(['US0378331005', 'US5949181045', 'AU0000XVGZA3', 'GB0002634946', 'DE0007164600'])('accepts %s', (isin) => {
    expect(isValidIsin(isin)).toBe(true);
    expect(isinCheckDigit(isin.slice(0, 11))).toBe(isin[11]);
  });

  it.each(['US0378331006', 'US037833100', 'us0378331005', 'XX03783310051', '000378331005'])('rejects %s', (isin) => {
    expect(isValidIsin(isin)).toBe(false);
  });

  it('rejects every wrong check digit of a generated body', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Z]{2}[A-Z0-9]{9}$/), fc.integer({ min: 1, max: 9 }), (body, shift) => {
        const digit = Number(isinCheckDigit(body));
        expect(isValidIsin(`${body}${digit}`)).toBe(true);
        expect(isValidIsin(`${body}${(digit + shift) % 10}`)).toBe(false);
      }),
    );
  });
});

describe('CUSIP', () => {
  it.each(['037833100', '594918104', '38259P508', '931142103'])('accepts %s', (cusip) => {
    expect(isValidCusip(cusip)).toBe(true);
    expect(cusipCheckDigit(cusip.slice(0, 8))).toBe(cusip[8]);
  });

  it.each(['037833101', '38259P50', '38259p508', '38259P50X'])('rejects %s', (cusip) => {
    expect(isValidCusip(cusip)).toBe(false);
  });

  it('a US ISIN embeds a valid CUSIP', () => {
    expect(isValidCusip('US0378331005'.slice(2, 11))).toBe(true);
  });
});

describe('LEI (ISO 17442, mod 97-10)', () => {
  it.each(['HWUPKR0MPOU8FGXBT394', '7LTWFZYICNSX8D621K86', '5493001KJTIIGC8Y1R12'])('accepts %s', (lei) => {
    expect(isValidLei(lei)).toBe(true);
    expect(leiCheckDigits(lei.slice(0, 18))).toBe(lei.slice(18));
  });

  it.each(['HWUPKR0MPOU8FGXBT395', 'HWUPKR0MPOU8FGXBT39', 'hwupkr0mpou8fgxbt394'])('rejects %s', (lei) => {
    expect(isValidLei(lei)).toBe(false);
  });

  it('refuses the check pairs 00 and 01, which ISO 7064 never issues, even when the remainder is 1', () => {
    const body = Array.from({ length: 200 }, (_, i) => `TESTBODY${String(i).padStart(10, '0')}`).find(
      (b) => leiCheckDigits(b) === '98',
    );
    expect(body).toBeDefined();
    expect(isValidLei(`${body}98`)).toBe(true);
    expect(isValidLei(`${body}01`)).toBe(false);
  });

  it('generated check digits always validate and any other pair fails', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Z0-9]{18}$/), fc.integer({ min: 1, max: 96 }), (body, shift) => {
        const check = leiCheckDigits(body);
        expect(isValidLei(`${body}${check}`)).toBe(true);
        const other = String((Number(check) + shift) % 100).padStart(2, '0');
        expect(isValidLei(`${body}${other}`)).toBe(false);
      }),
    );
  });
});

it('normalises by trimming and upper-casing', () => {
  expect(normalizeIdentifier('  us0378331005 ')).toBe('US0378331005');
});
