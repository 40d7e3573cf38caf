// Security and entity identifiers: normalisation and check digits.
// ISIN (ISO 6166), CUSIP (CUSIP Global Services), LEI (ISO 17442, ISO 7064 mod 97-10).
// Pure functions, no I/O; the seed uses the generators, the API the validators.

/** Trims and upper-cases an identifier the way it is stored. */
export function normalizeIdentifier(value: string): string {
  return value.trim().toUpperCase();
}

function alnumValue(ch: string): number {
  const code = ch.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 65 && code <= 90) return code - 55; // A=10 .. Z=35
  throw new RangeError(`not an upper-case letter or digit: ${ch}`);
}

/** ISIN check digit for the first eleven characters (letters expand to two digits, then Luhn). */
export function isinCheckDigit(body: string): string {
  if (!/^[A-Z]{2}[A-Z0-9]{9}$/.test(body)) throw new RangeError('ISIN body must be 2 letters and 9 letters or digits');
  const digits = [...body].map((ch) => String(alnumValue(ch))).join('');
  let sum = 0;
  // Luhn from the right; the rightmost body digit is doubled because the check digit follows it.
  for (let i = digits.length - 1, double = true; i >= 0; i--, double = !double) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

export function isValidIsin(value: string): boolean {
  return /^[A-Z]{2}[A-Z0-9]{9}[0-9]$/.test(value) && isinCheckDigit(value.slice(0, 11)) === value[11];
}

function cusipValue(ch: string): number {
  if (ch === '*') return 36;
  if (ch === '@') return 37;
  if (ch === '#') return 38;
  return alnumValue(ch);
}

/** CUSIP check digit for the first eight characters (modulus 10, double-add-double). */
export function cusipCheckDigit(body: string): string {
  if (!/^[A-Z0-9*@#]{8}$/.test(body)) throw new RangeError('CUSIP body must be 8 letters, digits, *, @ or #');
  let sum = 0;
  for (let i = 0; i < 8; i++) {
    let v = cusipValue(body[i] as string);
    if (i % 2 === 1) v *= 2;
    sum += Math.floor(v / 10) + (v % 10);
  }
  return String((10 - (sum % 10)) % 10);
}

export function isValidCusip(value: string): boolean {
  return /^[A-Z0-9*@#]{8}[0-9]$/.test(value) && cusipCheckDigit(value.slice(0, 8)) === value[8];
}

/** The value of an alphanumeric string read as a number (A=10 .. Z=35) modulo 97. */
function mod97(value: string): number {
  let remainder = 0;
  for (const ch of value) {
    const v = alnumValue(ch);
    remainder = (v < 10 ? remainder * 10 + v : remainder * 100 + v) % 97;
  }
  return remainder;
}

/** The two LEI check digits for an 18-character body (ISO 7064 MOD 97-10). */
export function leiCheckDigits(body: string): string {
  if (!/^[A-Z0-9]{18}$/.test(body)) throw new RangeError('LEI body must be 18 letters or digits');
  return String(98 - mod97(`${body}00`)).padStart(2, '0');
}

/**
 * True for a well-formed LEI. ISO 7064 MOD 97-10 check digits lie in 02..98, so the
 * pairs 00 and 01 (which can still leave remainder 1: "01" is "98" minus 97) are refused.
 */
export function isValidLei(value: string): boolean {
  return /^[A-Z0-9]{18}(0[2-9]|[1-9][0-9])$/.test(value) && mod97(value) === 1;
}
