// Hostile input for the property tests of test/integration/hostile*.test.ts:
// fast-check arbitraries of strings, numbers, decimals, dates, ids and JSON
// that a careless or malicious client could send; a body encoder that can put
// what JSON.stringify cannot into a request (raw number tokens such as 1e400,
// lone surrogates as invalid UTF-8, arbitrary bytes); a judge of answers
// (status, shape, codes, leaks); a service that remembers the errors it logs,
// so a masked INTERNAL_SERVER_ERROR can be explained; and the invariants of the
// stored data, checked straight in the database after the runs.
import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import type { AuthConfig } from '../../src/config';
import type { Database } from '../../src/db/database';
import type { SqlRunner } from '../../src/db/sql';
import { isCurrencyCode } from '../../src/domain/codes';
import { contentHash } from '../../src/domain/contentHash';
import { isValidCusip, isValidIsin, isValidLei } from '../../src/domain/identifiers';
import { ratingScore, type Agency } from '../../src/domain/ratings';
import { createServer } from '../../src/server';
import { buildWorld, DEFAULT_SEED_OPTIONS } from '../../src/services/seed/world';
import { loadWorld } from '../../src/services/seed/load';

// ------------------------------------------------------------------ seeding

/** fast-check's seed: FC_SEED from the environment, else a fixed one (printed by every file). */
export const FC_SEED = (() => {
  const parsed = Number.parseInt(process.env.FC_SEED ?? '', 10);
  return Number.isFinite(parsed) ? parsed : 20_261_125;
})();

/** Runs per property, scaled by HOSTILE_SCALE (default 1) for longer soak runs. */
export const runs = (n: number): number => Math.max(1, Math.round(n * (Number(process.env.HOSTILE_SCALE) || 1)));

export const fcParams = (numRuns: number): fc.Parameters<unknown> => ({ seed: FC_SEED, numRuns: runs(numRuns), endOnFailure: true });

// --------------------------------------------------------- special values

/** A value written into the JSON body exactly as given (e.g. `1e400`, `-0`, `NaN`); `graphql` is its literal form. */
export class Raw {
  constructor(readonly json: string, readonly graphql: string = json) {}
  toString(): string {
    return `Raw(${this.json.length > 60 ? `${this.json.slice(0, 60)}...(${this.json.length} chars)` : this.json})`;
  }
}

/** A JSON string whose content is these bytes, whatever they are (invalid UTF-8 included). */
export class Bytes {
  constructor(readonly bytes: Buffer) {}
  toString(): string {
    return `Bytes(${this.bytes.toString('hex').slice(0, 80)})`;
  }
}

/** A key left out of its object. */
export const ABSENT = Symbol('absent');
export type Value = unknown;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Raw) && !(v instanceof Bytes);

/** Own keys and values, ABSENT ones left out (own `__proto__` keys included). */
export function entries(obj: Record<string, unknown>): [string, unknown][] {
  return Object.keys(obj).filter((k) => obj[k] !== ABSENT).map((k) => [k, obj[k]]);
}

/** An object with these own keys, `__proto__` and `constructor` included as plain data. */
export function objectOf(pairs: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of pairs) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

// --------------------------------------------------------------- encoding

/** A string as a JSON string literal in WTF-8: lone surrogates become the (invalid UTF-8) bytes ED A0 80 etc. */
function wtf8StringLiteral(s: string): Buffer {
  const parts: number[] = [0x22];
  for (let i = 0; i < s.length; i++) {
    const cu = s.charCodeAt(i);
    if (cu === 0x22 || cu === 0x5c) {
      parts.push(0x5c, cu);
    } else if (cu < 0x20) {
      for (const b of Buffer.from(`\\u${cu.toString(16).padStart(4, '0')}`, 'latin1')) parts.push(b);
    } else if (cu >= 0xd800 && cu <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      for (const b of Buffer.from(s.slice(i, i + 2), 'utf8')) parts.push(b);
      i++;
    } else if (cu >= 0xd800 && cu <= 0xdfff) {
      parts.push(0xe0 | (cu >> 12), 0x80 | ((cu >> 6) & 0x3f), 0x80 | (cu & 0x3f));
    } else {
      for (const b of Buffer.from(s[i] as string, 'utf8')) parts.push(b);
    }
  }
  parts.push(0x22);
  return Buffer.from(parts);
}

/**
 * The JSON text of a value with Raw tokens and Bytes strings in place. With `wtf8`, strings are
 * written unescaped and lone surrogates reach the wire as invalid UTF-8; otherwise they are
 * escaped as JSON.stringify does (`\ud800`), which a JSON parser turns back into a lone surrogate.
 */
export function encodeJson(value: Value, options: { wtf8?: boolean } = {}): Buffer {
  const out: Buffer[] = [];
  const walk = (v: unknown): void => {
    if (v instanceof Raw) out.push(Buffer.from(v.json, 'utf8'));
    else if (v instanceof Bytes) out.push(Buffer.from('"'), v.bytes, Buffer.from('"'));
    else if (typeof v === 'string') out.push(options.wtf8 ? wtf8StringLiteral(v) : Buffer.from(JSON.stringify(v), 'utf8'));
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) out.push(Buffer.from(JSON.stringify(v ?? null)));
    else if (typeof v === 'bigint') out.push(Buffer.from(v.toString()));
    else if (Array.isArray(v)) {
      out.push(Buffer.from('['));
      v.forEach((item, i) => {
        if (i > 0) out.push(Buffer.from(','));
        walk(item === ABSENT ? null : item);
      });
      out.push(Buffer.from(']'));
    } else if (isPlainObject(v)) {
      out.push(Buffer.from('{'));
      entries(v).forEach(([k, item], i) => {
        if (i > 0) out.push(Buffer.from(','));
        walk(k);
        out.push(Buffer.from(':'));
        walk(item);
      });
      out.push(Buffer.from('}'));
    } else {
      out.push(Buffer.from('null'));
    }
  };
  walk(value);
  return Buffer.concat(out);
}

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * A value as a GraphQL literal. Strings under an enum-typed key (`enumKeys`) that look like
 * names are written bare (`FUND`), as enum literals must be; everything else as JSON would.
 */
export function toLiteral(value: Value, enumKeys: ReadonlySet<string>, key = ''): string {
  if (value instanceof Raw) return value.graphql;
  if (value instanceof Bytes) return JSON.stringify(value.bytes.toString('latin1'));
  if (typeof value === 'string') return enumKeys.has(key) && NAME.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : String(value); // NaN, Infinity: bare names
  if (typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.filter((v) => v !== ABSENT).map((v) => toLiteral(v, enumKeys, key)).join(', ')}]`;
  if (isPlainObject(value)) return `{${entries(value).map(([k, v]) => `${k}: ${toLiteral(v, enumKeys, k)}`).join(', ')}}`;
  return 'null';
}

/** Short, printable description of a value for failure reports. */
export function describe(value: Value, max = 600): string {
  const seen = new WeakSet<object>();
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (v === ABSENT) return '<absent>';
    if (v instanceof Raw || v instanceof Bytes) return v.toString();
    if (typeof v === 'string' && v.length > 120) return `${JSON.stringify(v.slice(0, 40)).slice(1, -1)}...(${v.length} chars)`;
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '<cycle>';
      seen.add(v);
      if (Array.isArray(v) && v.length > 12) return [...v.slice(0, 12), `...(${v.length} items)`];
    }
    return v;
  });
  return text === undefined ? String(value) : text.length > max ? `${text.slice(0, max)}...` : text;
}

/** Every string in a value (keys included), for telling an echo of the input from a leak. */
export function stringsIn(value: Value, out: string[] = [], depth = 0): string[] {
  if (depth > 60) return out;
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Raw) out.push(value.json, value.graphql);
  else if (value instanceof Bytes) out.push(value.bytes.toString('utf8'), value.bytes.toString('latin1'));
  else if (Array.isArray(value)) value.slice(0, 200).forEach((v) => stringsIn(v, out, depth + 1));
  else if (isPlainObject(value)) for (const [k, v] of entries(value)) { out.push(k); stringsIn(v, out, depth + 1); }
  return out;
}

// ------------------------------------------------------------ arbitraries

/** One lone (unpaired) surrogate code unit. */
export const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((cu) => String.fromCharCode(cu));
/** A control character (C0, DEL or C1). */
export const controlChar = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.constant(0x7f), fc.integer({ min: 0x80, max: 0x9f })).map((c) => String.fromCharCode(c));

/** 1 MiB of UTF-8 (half a million characters). */
export const HUGE_STRING = 'Ω'.repeat(512 * 1024);
const TEN_KB = 'x'.repeat(10 * 1024);

/** Strings that look harmless but are not: SQL, markup, templates, keys of Object.prototype, odd Unicode. */
export const NASTY_STRINGS: readonly string[] = [
  '', ' ', '   ', '\t', '\n', '\r\n', '\u0000', 'a\u0000b', '\u0000\u0000\u0000', '\ud800', '\udfff', 'x\ud800', '\udc00x', '\ud83d', '\ude00\ud83d',
  '\u0001\u001f\u007f', '\u0085', '\u00a0', '\u2028\u2029', '\u202e', '\ufeff', '\u200b', '\ufffd', '\uffff', '\u{10ffff}', '\u{1f600}', 'e\u0301',
  "'; DROP TABLE portfolio_node; --", "' OR '1'='1", "Robert'); DROP TABLE students;--", 'SELECT * FROM pg_catalog.pg_user', '1; SELECT pg_sleep(10)',
  "'||(SELECT version())||'", '$1', '$$', '%', '_', '%_%', '\\', '\\\\', '\\u0000', '\\ud800', "\\'", '"', "'", '`', '${7*7}', '{{7*7}}', '#{7*7}',
  '<script>alert(1)</script>', '../../../../etc/passwd', 'C:\\Windows\\System32', 'file:///etc/passwd', 'null', 'undefined', 'NaN', 'true', '[]', '{}',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '０１２', '١٢٣', 'ınr', 'uſd', 'ß', 'ﬃ', 'İ', 'K',
  'x'.repeat(200), 'x'.repeat(201), ` ${'y'.repeat(200)} `, '\u{1f600}'.repeat(150), 'e\u0301'.repeat(120), TEN_KB,
];

/** Hostile text of every kind; `huge` adds a 1 MiB string now and then. */
export function hostileString(options: { huge?: boolean } = {}): fc.Arbitrary<string> {
  const arbs: fc.WeightedArbitrary<string>[] = [
    { weight: 6, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
    { weight: 3, arbitrary: fc.string({ unit: fc.oneof(loneSurrogate, controlChar, fc.constantFrom('\u0000', 'a', ' ', '\\', '"', "'")), minLength: 1, maxLength: 12 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
    { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 6 }), fc.constantFrom('\u0000', '\ud800', '\udc00', '\u001b', '\u007f'), fc.string({ maxLength: 6 })).map(([a, b, c]) => a + b + c) },
    { weight: 1, arbitrary: fc.integer({ min: 190, max: 260 }).map((n) => 'n'.repeat(n)) },
  ];
  if (options.huge) arbs.push({ weight: 1, arbitrary: fc.constant(HUGE_STRING) });
  return fc.oneof(...arbs);
}

/** Values of the wrong JSON type for a scalar or input object. */
export const wrongType: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom<Value>(null, true, false, 0, 1, -1, 1.5, [], {}, [null], ['x'], { a: 1 }, objectOf([['__proto__', { polluted: true }]])),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Numbers JSON cannot say exactly, written as raw tokens: 1e400 (Infinity), -0, 2^53+1, 30 digits; NaN and Infinity are not JSON at all. */
export const RAW_NUMBERS: readonly Raw[] = [
  new Raw('1e400'), new Raw('-1e400'), new Raw('1E+400'), new Raw('1e-400'), new Raw('-0'), new Raw('-0.0'), new Raw('9007199254740993'),
  new Raw('-9007199254740993'), new Raw('123456789012345678901234567890'), new Raw('0.123456789012345678901234567890'),
  new Raw('123456789012345678901234567890.123456789012345678901234567890'), new Raw('1e5'), new Raw('2147483648'), new Raw('-2147483649'),
  new Raw('4294967296'), new Raw('1.7976931348623157e308'), new Raw('5e-324'), new Raw('0.1'), new Raw('1.0'), new Raw('100000000000000000000'),
];
/** Not JSON: the server's body parser must refuse these (only in transport tests: they spoil the whole body). */
export const INVALID_JSON_TOKENS: readonly Raw[] = [
  new Raw('NaN'), new Raw('Infinity'), new Raw('-Infinity'), new Raw('0x10'), new Raw('.5'), new Raw('+1'), new Raw('01'), new Raw('1.'), new Raw('undefined'),
];

export const hostileNumber: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom<Value>(...RAW_NUMBERS),
  fc.constantFrom<Value>(0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e21, 1e-7, 0.1 + 0.2, -0.5, 1.5),
  fc.integer({ min: -1_000, max: 1_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Decimal text that is not a plain decimal, or has too many digits for any column. */
export const HOSTILE_DECIMAL_TEXT: readonly string[] = [
  'NaN', 'nan', 'Infinity', '-Infinity', 'inf', '1e5', '1E5', '1e-5', ' 12 ', '\t12\n', '0x10', '0b101', '0o17', '', ' ', '-', '+', '.', '.5', '5.', '-.5',
  '+5', '--1', '+-1', '1.2.3', '1,000', '1_000', '1 000', '١٢٣', '１２', '12e', 'e12', '1\u0000', '\u00001', '1\ud800', '0.12345678901', '0.123456789012345',
  '123456789012345678901234567890', '123456789012345678901234567890.123456789012345678901234567890', '-0', '-0.0', '+0', '0.0000000000', '00000000000000000000000000000001',
  `${'9'.repeat(18)}.${'9'.repeat(10)}`, `${'9'.repeat(19)}`, `${'9'.repeat(20)}.${'9'.repeat(8)}`, `${'9'.repeat(21)}`, '1'.repeat(64), '1'.repeat(65), `0.${'0'.repeat(60)}1`,
  '1'.repeat(1000), '9007199254740993', '-9007199254740993', '0.1e1', '１', '1/2', '½', '$100', '100%', 'null', 'true',
];

/** Decimals as a client might send them: plain text within the columns, hostile text, numbers, raw tokens and wrong types. */
export function hostileDecimal(valid: fc.Arbitrary<string>): fc.Arbitrary<Value> {
  return fc.oneof(
    { weight: 8, arbitrary: valid },
    { weight: 4, arbitrary: fc.constantFrom<Value>(...HOSTILE_DECIMAL_TEXT) },
    { weight: 2, arbitrary: hostileNumber },
    { weight: 1, arbitrary: hostileString() },
    { weight: 1, arbitrary: wrongType },
  );
}

/** A plain decimal with at most `int` digits before and `scale` after the point (possibly negative). */
export function decimalText(int: number, scale: number, options: { positive?: boolean } = {}): fc.Arbitrary<string> {
  return fc.tuple(
    fc.bigInt({ min: options.positive ? 1n : -(10n ** BigInt(Math.min(int, 15))), max: 10n ** BigInt(Math.min(int, 15)) }),
    fc.integer({ min: 0, max: Math.min(scale, 6) }),
  ).map(([units, s]) => {
    const neg = units < 0n;
    const digits = (neg ? -units : units).toString().padStart(s + 1, '0');
    return `${neg ? '-' : ''}${s ? `${digits.slice(0, -s)}.${digits.slice(-s)}` : digits}`;
  });
}

export const HOSTILE_DATES: readonly Value[] = [
  '2026-02-30', '2025-02-29', '0000-00-00', '0000-01-01', '0001-01-01', '9999-12-31', '10000-01-01', '+275760-09-13', '-271821-04-20', '-000001-01-01',
  'yesterday', 'today', 'now', '', ' ', '2026-13-01', '2026-00-10', '2026-1-1', '20260101', '2026/01/01', '01/02/2026', '2026-10-30T00:00:00Z',
  '2026-10-30T00:00:00+14:00', '2026-10-30 ', ' 2026-10-30', '2026-10-30\u0000', '2026-10-3\ud800', '２０２６-１０-３０', '1970-01-01', '1969-12-31', '1900-02-29',
  '2000-02-29', '2100-02-29', '2026-10-31', '2026-11-30', '2999-01-01', 'Infinity', 'NaN', 'epoch', 'infinity', '-infinity', 1_767_225_600_000, 0, -1, true,
  new Raw('1e400'), { year: 2026 }, ['2026-10-30'],
];

/** Dates as a client might send them: valid ones (some in the seeded range) mixed with hostile ones. */
export function hostileDate(valid: fc.Arbitrary<string>): fc.Arbitrary<Value> {
  return fc.oneof(
    { weight: 8, arbitrary: valid },
    { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_DATES) },
    { weight: 1, arbitrary: fc.date({ min: new Date(Date.UTC(-1000, 0, 1)), max: new Date(Date.UTC(12000, 0, 1)), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)) },
    { weight: 1, arbitrary: hostileString() },
  );
}

/** A valid calendar date between two years, as 'YYYY-MM-DD'. */
export const calendarDate = (from = 2020, to = 2026): fc.Arbitrary<string> =>
  fc.date({ min: new Date(Date.UTC(from, 0, 1)), max: new Date(Date.UTC(to, 9, 30)), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));

const uuidShaped = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;

/** Hostile forms of an id (the real one given): padded, upper-cased, wrapped, cut, NUL, surrogates, 10 KB, wrong types. */
export function hostileIdValues(real: string): Value[] {
  return [
    real.toUpperCase(), ` ${real} `, `${real}\u0000`, `{${real}}`, `urn:uuid:${real}`, real.replace(/-/g, ''), `${real}x`, real.slice(1), `${real}\ud800`, `'${real}'`,
    `${real}' OR '1'='1`, '', ' ', 'not-a-uuid', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', uuidShaped('g'.repeat(32)),
    'x'.repeat(10_240), '1', "'; DROP TABLE position; --", '\ud800', '\u0000', 0, 1, -1, 2 ** 53 + 1, 1.5, true, null, ABSENT, [], {}, [real], new Raw('1e400'), new Raw('-0'),
  ];
}

/** Ids: real ones (as given, upper-cased, padded, of the wrong kind) mixed with non-UUIDs, unknown UUIDs, 10 KB and wrong types. */
export function hostileId(real: readonly string[], other: readonly string[] = []): fc.Arbitrary<Value> {
  const realArb = real.length > 0 ? fc.constantFrom(...real) : fc.uuid();
  return fc.oneof(
    { weight: 10, arbitrary: realArb },
    { weight: 1, arbitrary: realArb.map((id) => id.toUpperCase()) },
    { weight: 1, arbitrary: realArb.chain((id) => fc.constantFrom(` ${id} `, `${id}\u0000`, `{${id}}`, `urn:uuid:${id}`, id.replace(/-/g, ''), `${id}x`, id.slice(1), `${id}\ud800`, `'${id}'`, `${id}' OR '1'='1`)) },
    { weight: 1, arbitrary: other.length > 0 ? fc.constantFrom(...other) : fc.uuid() },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: fc.constantFrom<Value>('', ' ', 'not-a-uuid', '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', uuidShaped('g'.repeat(32)), 'x'.repeat(10_240), '1', '-1', '0', "'; DROP TABLE position; --") },
    { weight: 1, arbitrary: fc.constantFrom<Value>(0, 1, -1, 2 ** 53 + 1, 1.5, true, null, [], {}, new Raw('1e400'), new Raw('-0')) },
    { weight: 1, arbitrary: hostileString() },
  );
}

export const HOSTILE_CURRENCIES: readonly Value[] = [
  'usd', ' USD ', 'Usd', 'US', 'USDX', 'U SD', 'XXX', 'XTS', 'XAU', 'EUR\u0000', '\u0000EUR', 'EU\ud800', 'ABC', 'ZZZ', '123', '€', '$', 'ＵＳＤ', 'uſd', 'ınr', 'ﬃ',
  'gbp\n', '', ' ', 'null', 'NaN', 'usd'.repeat(1000), 840, 0, true, null, [], {}, new Raw('1e400'),
];
export const currencyArb = fc.constantFrom('USD', 'EUR', 'GBP', 'JPY', 'CHF', 'CAD', 'AUD', 'SEK', 'NOK');
export const hostileCurrency: fc.Arbitrary<Value> = fc.oneof(
  { weight: 8, arbitrary: currencyArb },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_CURRENCIES) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 3, maxLength: 3 }) },
  { weight: 1, arbitrary: hostileString() },
);

/** Enum values: the right names, their lower-case forms, near misses and wrong types. */
export function hostileEnum(values: readonly string[]): fc.Arbitrary<Value> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constantFrom(...values) },
    { weight: 1, arbitrary: fc.constantFrom(...values).map((v) => v.toLowerCase()) },
    { weight: 1, arbitrary: fc.constantFrom(...values).map((v) => ` ${v} `) },
    { weight: 1, arbitrary: fc.constantFrom<Value>('', 'UNKNOWN', '__proto__', 'constructor', 'NaN', 'true', 'null', 0, 1, true, null, [], {}) },
    { weight: 1, arbitrary: hostileString() },
  );
}

/** JSON nested `depth` levels deep (arrays or objects); as JS values up to a few thousand levels. */
export function nested(depth: number, kind: 'array' | 'object' = 'array', leaf: unknown = 1): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : { a: v };
  return v;
}

/** Raw JSON text nested `depth` levels deep (for depths a JS encoder should not recurse through). */
export const deepJsonText = (depth: number, kind: 'array' | 'object' = 'array'): Raw =>
  new Raw(kind === 'array' ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);

/** JSON values for tags, attributes and metadata: prototype keys, NUL, surrogates (escaped and as bytes), 1e400, depth, size, non-objects. */
export const HOSTILE_JSON_OBJECTS: readonly Value[] = [
  {}, objectOf([['__proto__', { polluted: 'yes' }]]), objectOf([['constructor', { prototype: { polluted: 'yes' } }]]), objectOf([['__proto__', null]]),
  objectOf([['toString', 1], ['valueOf', 'x'], ['hasOwnProperty', []]]), { a: '\u0000' }, { '\u0000': 1 }, { a: 'x\u0000y' }, { a: '\ud800' }, { '\udc00': 'k' },
  { a: ['\ud83d'] }, { a: '\\u0000' }, { a: '\\ud800' }, { a: '\\\\u0000' }, { 'a\\': '\u0000' }, { a: new Raw('1e400') }, { a: new Raw('-1e400') }, { a: new Raw('-0') },
  { a: new Raw('123456789012345678901234567890') }, { a: new Raw('9007199254740993') }, { a: nested(40, 'object') }, { a: nested(500) }, { a: deepJsonText(3_000) },
  { a: 'x'.repeat(20_000) }, Object.fromEntries(Array.from({ length: 2_000 }, (_v, i) => [`k${i}`, i])), { a: { b: { c: { d: '\u0000' } } } },
  { '': '' }, { ' ': null }, { a: null }, { a: [] }, { a: new Bytes(Buffer.from([0xff, 0xfe])) }, { a: new Bytes(Buffer.from([0xc0, 0x80])) },
  { a: new Bytes(Buffer.from([0xed, 0xa0, 0x80])) }, { a: new Bytes(Buffer.from([0xf4, 0x90, 0x80, 0x80])) },
  'string', 42, null, true, [], [1, 2], ['\u0000'], new Raw('1e400'), new Raw('-0'), new Raw('1.7976931348623157e308'), new Raw('123456789012345678901234567890'), new Raw('0.1'),
];

/** JSON objects for tags, attributes and metadata: harmless ones and hostile ones (prototype keys, NUL, surrogates, depth, size). */
export const hostileJsonObject: fc.Arbitrary<Value> = fc.oneof(
  { weight: 3, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean()), { maxKeys: 4 }) },
  { weight: 5, arbitrary: fc.constantFrom<Value>(...HOSTILE_JSON_OBJECTS) },
  { weight: 2, arbitrary: fc.object({ maxDepth: 3, maxKeys: 4, key: fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'prototype')), values: [fc.string({ unit: 'binary', maxLength: 8 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null)] }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Any JSON value, hostile or not (for JSON! scalars). */
export const hostileJsonValue: fc.Arbitrary<Value> = fc.oneof(hostileJsonObject, hostileString(), hostileNumber, fc.jsonValue({ maxDepth: 2 }));

/** How often field() picks its valid arbitrary (against 3 for hostile and 1 for null/absent); a file may raise it. */
export const fieldDefaults = { validWeight: 8 };

/** A value for a field: usually a valid one, else hostile, sometimes left out or null. */
export function field(valid: fc.Arbitrary<Value>, hostile: fc.Arbitrary<Value>, options: { optional?: boolean; validWeight?: number } = {}): fc.Arbitrary<Value> {
  const arbs: fc.WeightedArbitrary<Value>[] = [
    { weight: options.validWeight ?? fieldDefaults.validWeight, arbitrary: valid },
    { weight: 3, arbitrary: hostile },
    { weight: 1, arbitrary: options.optional ? fc.constantFrom<Value>(ABSENT, null) : fc.constantFrom<Value>(null, ABSENT) },
  ];
  return fc.oneof(...arbs);
}

// ---------------------------------------------------------------- sending

export interface Answer {
  status: number;
  text: string;
  body?: { data?: Record<string, unknown> | null; errors?: unknown };
  requestId?: string;
  /** Set when the connection failed (reset, closed, timed out) instead of answering. */
  dropped?: string;
  ms: number;
}

export async function post(url: string, body: Buffer | string, headers: Record<string, string> = { 'content-type': 'application/json' }, path = '/graphql'): Promise<Answer> {
  const started = Date.now();
  try {
    const response = await fetch(`${url}${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(60_000) });
    const text = await response.text();
    let parsed: Answer['body'];
    try {
      parsed = JSON.parse(text) as Answer['body'];
    } catch {
      parsed = undefined;
    }
    return { status: response.status, text, body: parsed, requestId: response.headers.get('x-request-id') ?? undefined, ms: Date.now() - started };
  } catch (error) {
    return { status: 0, text: '', dropped: (error as Error).cause ? String((error as Error & { cause: unknown }).cause) : String(error), ms: Date.now() - started };
  }
}

export async function get(url: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const started = Date.now();
  try {
    const response = await fetch(`${url}${path}`, { headers, signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    let parsed: Answer['body'];
    try {
      parsed = JSON.parse(text) as Answer['body'];
    } catch {
      parsed = undefined;
    }
    return { status: response.status, text, body: parsed, requestId: response.headers.get('x-request-id') ?? undefined, ms: Date.now() - started };
  } catch (error) {
    return { status: 0, text: '', dropped: String((error as Error & { cause?: unknown }).cause ?? error), ms: Date.now() - started };
  }
}

/** One GraphQL request: variables in a JSON body (optionally WTF-8, so lone surrogates arrive as invalid UTF-8). */
export function sendOperation(url: string, query: string, variables: Value, options: { wtf8?: boolean } = {}): Promise<Answer> {
  return post(url, encodeJson(objectOf([['query', query], ['variables', variables]]), options));
}

// ---------------------------------------------------------------- judging

/** The codes an answer may carry: the contract's and graphql's own request codes. */
export const ALLOWED_CODES: ReadonlySet<string> = new Set([
  'BAD_USER_INPUT', 'NOT_FOUND', 'HIERARCHY_VIOLATION', 'CONFLICT', 'FX_RATE_NOT_FOUND', 'UNAUTHENTICATED', 'FORBIDDEN', 'QUERY_TOO_COMPLEX',
  'GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST',
  // Apollo Server's own request codes, passed through by src/graphql/formatError.ts (an unknown operationName, persisted queries).
  'OPERATION_RESOLUTION_FAILURE', 'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_SUPPORTED',
]);

// What must never reach a client: SQL, database and ORM messages, stack frames, file paths.
const LEAKS: readonly RegExp[] = [
  /\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|RETURNING)\b/, /\brelation\b/, /syntax error at or near/i, /violates .*constraint/i, /invalid input syntax/i,
  /duplicate key/i, /\bprisma\b/i, /PrismaClient/, /\bpg_/, /unsupported Unicode escape/i, /\.ts:\d/, /\.js:\d/, /\.tsx?\b/, /node_modules/,
  /\/work\//, /\/src\//, /^\s*at \S/m, /\bat [\w$.<>[\]]+ \(/, /stacktrace|stack trace/i, /\b(?:TypeError|RangeError|ReferenceError|DomainError)\b/, /SQLSTATE|\b22P0\d|\b23505\b/,
];

/** The message with every echo of what was sent removed (an echo of the caller's own SQL-looking text is no leak). */
function withoutEchoes(message: string, sent: readonly string[]): string {
  let text = message;
  for (const s of sent) {
    if (s.length < 2) continue;
    const t = s.trim();
    for (const form of [s, JSON.stringify(s).slice(1, -1), t, t.toUpperCase(), s.toUpperCase(), s.slice(0, 20), s.slice(0, 40), s.slice(0, 64), s.slice(0, 70), t.slice(0, 20), t.slice(0, 40), t.slice(0, 64)]) {
      if (form.length >= 2) text = text.split(form).join('');
    }
  }
  return text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
}

export interface Problem {
  /** What is wrong, short and stable (used to group failures). */
  kind: string;
  detail: string;
}

export interface JudgeOptions {
  /** The variables (or raw values) sent: their strings are echoes, not leaks. */
  sent?: Value;
  /** HTTP statuses accepted (default 200, 400, 413). */
  statuses?: readonly number[];
  /** The server's log for this request's id, to explain an internal error. */
  log?: (requestId: string | undefined) => string | undefined;
}

/**
 * Everything wrong with an answer: a dropped connection, a status other than 200/400/413, a body that is
 * not a GraphQL response, an error without a string message or a code of the list, INTERNAL_SERVER_ERROR,
 * a BAD_USER_INPUT without `extensions.field`, or a leak of SQL, stack traces or paths.
 */
export function judge(answer: Answer, options: JudgeOptions = {}): Problem[] {
  const problems: Problem[] = [];
  const statuses = options.statuses ?? [200, 400, 413];
  if (answer.dropped) return [{ kind: 'dropped connection', detail: answer.dropped }];
  if (!statuses.includes(answer.status)) {
    const codes = [...new Set(((answer.body?.errors ?? []) as { extensions?: { code?: unknown } }[]).map((e) => String(e?.extensions?.code)))].join(',');
    problems.push({ kind: `HTTP ${answer.status}${codes ? ` (${codes})` : ''}`, detail: answer.text.slice(0, 300) });
  }
  const body = answer.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    problems.push({ kind: 'answer is not a JSON object', detail: answer.text.slice(0, 300) });
    return problems;
  }
  const errors = body.errors;
  if (errors === undefined) {
    if (body.data === undefined || body.data === null) problems.push({ kind: 'neither data nor errors', detail: answer.text.slice(0, 300) });
    return problems;
  }
  if (!Array.isArray(errors) || errors.length === 0) {
    problems.push({ kind: 'errors is not a non-empty list', detail: answer.text.slice(0, 300) });
    return problems;
  }
  const sent = stringsIn(options.sent ?? null).sort((a, b) => b.length - a.length);
  for (const error of errors as { message?: unknown; extensions?: { code?: unknown; field?: unknown; stacktrace?: unknown; requestId?: unknown } }[]) {
    const code = error?.extensions?.code;
    if (typeof error?.message !== 'string') problems.push({ kind: 'error without a string message', detail: describe(error) });
    if (typeof code !== 'string') {
      problems.push({ kind: 'error without extensions.code', detail: describe(error) });
    } else if (code === 'INTERNAL_SERVER_ERROR') {
      const requestId = typeof error.extensions?.requestId === 'string' ? error.extensions.requestId : answer.requestId;
      const log = options.log?.(requestId) ?? '(none)';
      problems.push({ kind: `INTERNAL_SERVER_ERROR: ${signature(log)}`, detail: `${describe(error, 300)}; server log: ${log}` });
    } else if (!ALLOWED_CODES.has(code)) {
      problems.push({ kind: `unknown code ${code}`, detail: describe(error) });
    } else if (code === 'BAD_USER_INPUT' && typeof error.extensions?.field !== 'string') {
      problems.push({ kind: 'BAD_USER_INPUT without extensions.field', detail: describe(error, 300) });
    }
    if (error?.extensions?.stacktrace !== undefined) problems.push({ kind: 'stack trace in extensions', detail: describe(error, 300) });
    if (typeof error?.message === 'string') {
      const cleaned = withoutEchoes(error.message, sent);
      const leak = LEAKS.find((re) => re.test(cleaned));
      if (leak) problems.push({ kind: `message leaks ${leak}`, detail: error.message.slice(0, 400) });
    }
  }
  return problems;
}

/** A server log line reduced to what identifies the bug (values and numbers left out), to group failures. */
export function signature(log: string): string {
  const message = /Message: `([^`]*)`/.exec(log)?.[1] ?? log.replace(/^unexpected error: /, '').replace(/ @ .*$/, '');
  return message.replace(/"[^"]*"|'[^']*'|\d+/g, '…').replace(/\s+/g, ' ').slice(0, 100);
}

/** True when the answer has data and no errors. */
export const succeeded = (answer: Answer): boolean => !!answer.body && answer.body.errors === undefined && !!answer.body.data;

// -------------------------------------------------------- failure ledger

export interface Failure {
  operation: string;
  kind: string;
  detail: string;
  input: string;
  count: number;
}

/** Failures grouped by operation and kind, each with its first example; and the number of hostile inputs tried. */
export class Findings {
  readonly failures = new Map<string, Failure>();
  tried = 0;
  readonly perOperation = new Map<string, number>();

  /** How the answers came out per operation: 'data' or their error codes. */
  readonly outcomes = new Map<string, Map<string, number>>();

  outcome(operation: string, what: string): void {
    const m = this.outcomes.get(operation) ?? new Map<string, number>();
    m.set(what, (m.get(what) ?? 0) + 1);
    this.outcomes.set(operation, m);
  }

  /** One line per operation: inputs tried and how the answers came out. */
  summary(): string {
    return [...this.perOperation.entries()].map(([op, n]) => {
      const out = [...(this.outcomes.get(op) ?? new Map<string, number>()).entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
      return `  ${op}: ${n} (${out})`;
    }).join('\n');
  }

  count(operation: string, n = 1): void {
    this.tried += n;
    this.perOperation.set(operation, (this.perOperation.get(operation) ?? 0) + n);
  }

  record(operation: string, problems: readonly Problem[], input: Value | string): void {
    for (const p of problems) {
      const key = `${operation} | ${p.kind}`;
      const seen = this.failures.get(key);
      if (seen) seen.count++;
      else this.failures.set(key, { operation, kind: p.kind, detail: p.detail, input: typeof input === 'string' ? input.slice(0, 1_500) : describe(input, 1_500), count: 1 });
    }
  }

  /** The failures of one operation (or all), as a readable report. */
  report(operation?: string): string {
    return Findings.format([...this.failures.values()].filter((f) => operation === undefined || f.operation === operation));
  }

  /** Failures as text, headed by the fast-check seed that replays them ('' when none). */
  static format(list: readonly Failure[]): string {
    if (list.length === 0) return '';
    return `(fast-check seed ${FC_SEED}; replay with FC_SEED=${FC_SEED})\n${list.map((f) => `\n[${f.operation}] ${f.kind} (x${f.count})\n  input:  ${f.input}\n  answer: ${f.detail}`).join('\n')}`;
  }

  /** The failures of every operation whose label starts with `prefix`, as a readable report ('' when none). */
  reportPrefix(prefix: string): string {
    return Findings.format([...this.failures.values()].filter((f) => f.operation.startsWith(prefix)));
  }

  kinds(operation?: string): string[] {
    return [...this.failures.values()].filter((f) => operation === undefined || f.operation === operation).map((f) => `${f.operation}: ${f.kind}`);
  }
}

// ---------------------------------------------------------------- service

export interface HostileService {
  url: string;
  /** What the service logged for a request id (its unexpected errors). */
  log(requestId: string | undefined): string | undefined;
  stop(): Promise<void>;
}

/**
 * A real service in production mode (errors masked, no stack traces) with authentication off, whose
 * logger keeps the unexpected errors per request id, so a masked internal error can be explained.
 */
export async function startHostileService(db: Database, options: { bodyLimitBytes?: number; auth?: AuthConfig } = {}): Promise<HostileService> {
  const logs = new Map<string, string[]>();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        const entry = JSON.parse(chunk.toString('utf8')) as { requestId?: string; msg?: string; err?: { type?: string; message?: string; code?: string; stack?: string } };
        const key = entry.requestId ?? '-';
        const frames = (entry.err?.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l) && !l.includes('node:internal')).slice(0, 3).map((l) => l.trim().replace(/\(.*\/(work\/main\/)?/, '(')).join(' < ');
        const text = `${entry.msg ?? ''}${entry.err ? `: ${entry.err.type ?? ''} ${entry.err.code ?? ''} ${(entry.err.message ?? '').replace(/\s+/g, ' ').slice(0, 500)}${frames ? ` @ ${frames}` : ''}` : ''}`;
        logs.set(key, [...(logs.get(key) ?? []), text]);
      } catch {
        // not a JSON line: ignore
      }
      done();
    },
  });
  const logger = pino({ level: 'warn' }, sink);
  const service = await createServer({
    config: { production: true, graphqlIntrospection: false, graphqlIde: false, auth: options.auth ?? { mode: 'off' }, bodyLimitBytes: options.bodyLimitBytes },
    db,
    logger,
  });
  const port = await service.listen(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    log: (requestId) => (requestId ? logs.get(requestId)?.join(' | ') : undefined) ?? logs.get('-')?.slice(-1)[0],
    stop: () => service.stop(),
  };
}

/** True when /livez answers 200. */
export async function alive(url: string): Promise<boolean> {
  const answer = await get(url, '/livez');
  return answer.status === 200;
}

// ---------------------------------------------------------------- fixture

export interface Fixture {
  nodes: { FUND: string[]; DESK: string[]; BOOK: string[]; STRATEGY: string[] };
  allNodes: string[];
  instruments: string[];
  isins: string[];
  cusips: string[];
  tickers: string[];
  references: { ISSUER: string[]; SECTOR: string[]; GEOGRAPHY: string[]; CURRENCY: string[] };
  allReferences: string[];
  leis: string[];
  positions: string[];
  feeds: string[];
  valuationDates: string[];
}

/** The realistic world (200 positions, 2 funds) and its ids. */
export async function seedFixture(sql: SqlRunner): Promise<Fixture> {
  const world = buildWorld({ ...DEFAULT_SEED_OPTIONS, positions: 200, funds: 2 });
  await loadWorld(sql, world);
  const nodes = await sql.query<{ id: string; node_type: string }>('SELECT id::text AS id, node_type::text AS node_type FROM portfolio_node ORDER BY id');
  const instruments = await sql.query<{ id: string; isin: string | null; cusip: string | null; ticker: string | null }>(
    'SELECT id::text AS id, isin, cusip, ticker FROM instrument ORDER BY id',
  );
  const references = await sql.query<{ id: string; entity_type: string; lei: string | null }>(
    'SELECT id::text AS id, entity_type::text AS entity_type, lei FROM reference_data ORDER BY id',
  );
  const positions = await sql.query<{ id: string }>('SELECT id::text AS id FROM position ORDER BY id LIMIT 400');
  const feeds = await sql.query<{ id: string }>('SELECT id::text AS id FROM market_data_feed ORDER BY id');
  const byType = <K extends string>(rows: { id: string }[], typeOf: (r: never) => string, types: readonly K[]) =>
    Object.fromEntries(types.map((t) => [t, rows.filter((r) => typeOf(r as never) === t).map((r) => r.id)])) as Record<K, string[]>;
  return {
    nodes: byType(nodes, (r: { node_type: string }) => r.node_type, ['FUND', 'DESK', 'BOOK', 'STRATEGY'] as const),
    allNodes: nodes.map((n) => n.id),
    instruments: instruments.map((i) => i.id),
    isins: instruments.flatMap((i) => (i.isin ? [i.isin] : [])),
    cusips: instruments.flatMap((i) => (i.cusip ? [i.cusip] : [])),
    tickers: instruments.flatMap((i) => (i.ticker ? [i.ticker] : [])),
    references: byType(references, (r: { entity_type: string }) => r.entity_type, ['ISSUER', 'SECTOR', 'GEOGRAPHY', 'CURRENCY'] as const),
    allReferences: references.map((r) => r.id),
    leis: references.flatMap((r) => (r.lei ? [r.lei] : [])),
    positions: positions.map((p) => p.id),
    feeds: feeds.map((f) => f.id),
    valuationDates: world.valuationDates,
  };
}

// -------------------------------------------------------------- invariants

const ID_TABLES = [
  'portfolio_node', 'position', 'instrument', 'reference_data', 'rating_history', 'valuation_result', 'market_data_feed', 'data_lineage',
  'ingestion_batch', 'portfolio_snapshot',
] as const;
type IdTable = (typeof ID_TABLES)[number];

export interface TableState {
  ids: Record<IdTable, Set<string>>;
  fx: Set<string>;
}

export async function tableState(sql: SqlRunner): Promise<TableState> {
  const ids = {} as Record<IdTable, Set<string>>;
  for (const table of ID_TABLES) ids[table] = new Set((await sql.query<{ id: string }>(`SELECT id::text AS id FROM "${table}"`)).map((r) => r.id));
  const fx = new Set((await sql.query<{ k: string }>(`SELECT pair || '|' || snapshot_id::text AS k FROM fx_spot`)).map((r) => r.k));
  return { ids, fx };
}

/** What successful mutations said they wrote, to account for every new row. */
export class Ledger {
  readonly nodes = new Set<string>();
  readonly references = new Set<string>();
  readonly instruments = new Set<string>();
  readonly positions = new Set<string>();
  readonly feeds = new Set<string>();
  readonly ratingFeedEntries = new Map<string, number>();
  readonly batches = new Map<string, number>();
  readonly snapshots = new Set<string>();
  valuations = 0;
  ratings = 0;
  successes = 0;
}

const diff = (after: Set<string>, before: Set<string>) => [...after].filter((x) => !before.has(x));

/** Rows that appeared or vanished without a successful mutation to account for them. */
export function growthProblems(before: TableState, after: TableState, ledger: Ledger): string[] {
  const problems: string[] = [];
  for (const table of ID_TABLES) {
    const gone = diff(before.ids[table], after.ids[table]);
    if (gone.length > 0) problems.push(`${table}: ${gone.length} rows vanished (e.g. ${gone[0]})`);
  }
  const accounted: [IdTable, Set<string> | Map<string, number>, string][] = [
    ['portfolio_node', ledger.nodes, 'createPortfolioNode'], ['reference_data', ledger.references, 'upsertReferenceEntity'],
    ['instrument', ledger.instruments, 'upsertInstrument'], ['market_data_feed', ledger.feeds, 'ingestMarketData'],
    ['ingestion_batch', ledger.batches, 'uploadPositions'], ['portfolio_snapshot', ledger.snapshots, 'createPortfolioSnapshot'],
  ];
  for (const [table, returned, mutation] of accounted) {
    const unexplained = diff(after.ids[table], before.ids[table]).filter((id) => !returned.has(id));
    if (unexplained.length > 0) problems.push(`${table}: ${unexplained.length} new rows no successful ${mutation} returned (e.g. ${unexplained[0]})`);
    const missing = [...returned.keys()].filter((id) => !after.ids[table].has(id));
    if (missing.length > 0) problems.push(`${table}: ${missing.length} ids returned by ${mutation} are not stored (e.g. ${missing[0]})`);
  }
  const newNodes = diff(after.ids.portfolio_node, before.ids.portfolio_node).length;
  if (newNodes !== ledger.nodes.size) problems.push(`portfolio_node grew by ${newNodes}, successful createPortfolioNode calls: ${ledger.nodes.size}`);
  const newBatches = [...ledger.batches.entries()].filter(([id]) => !before.ids.ingestion_batch.has(id));
  const uploaded = newBatches.reduce((a, [, accepted]) => a + accepted, 0);
  const newPositions = diff(after.ids.position, before.ids.position);
  const opened = [...ledger.positions].filter((id) => !before.ids.position.has(id)).length;
  if (newPositions.length !== opened + uploaded) {
    problems.push(`position grew by ${newPositions.length}; successful openPosition: ${opened}, rows accepted by new upload batches: ${uploaded}`);
  }
  const newValuations = diff(after.ids.valuation_result, before.ids.valuation_result).length;
  if (newValuations > ledger.valuations + uploaded) problems.push(`valuation_result grew by ${newValuations}, at most ${ledger.valuations + uploaded} written by successful calls`);
  const ratingBound = ledger.ratings + [...ledger.ratingFeedEntries.entries()].filter(([id]) => !before.ids.market_data_feed.has(id)).reduce((a, [, n]) => a + n, 0);
  const newRatings = diff(after.ids.rating_history, before.ids.rating_history).length;
  if (newRatings > ratingBound) problems.push(`rating_history grew by ${newRatings}, at most ${ratingBound} written by successful calls`);
  const newFeeds = new Set(diff(after.ids.market_data_feed, before.ids.market_data_feed));
  const newLineage = diff(after.ids.data_lineage, before.ids.data_lineage).length;
  if (newLineage > newFeeds.size + newBatches.length) problems.push(`data_lineage grew by ${newLineage}, new feeds + new batches: ${newFeeds.size + newBatches.length}`);
  const strayFx = diff(after.fx, before.fx).filter((k) => !newFeeds.has(k.split('|')[1] as string));
  if (strayFx.length > 0) problems.push(`fx_spot: ${strayFx.length} new rates of no new feed (e.g. ${strayFx[0]})`);
  return problems;
}

const LEVEL: Record<string, number> = { FUND: 0, DESK: 1, BOOK: 2, STRATEGY: 3 };
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
export const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function textProblems(where: string, value: string | null, options: { name?: boolean } = {}): string[] {
  if (value === null) return [];
  const out: string[] = [];
  if (value.includes('\u0000')) out.push(`${where} contains NUL: ${describe(value)}`);
  if (LONE_SURROGATE.test(value)) out.push(`${where} contains a lone surrogate: ${describe(value)}`);
  if (options.name) {
    if (CONTROL.test(value)) out.push(`${where} contains control characters: ${describe(value)}`);
    if (value.trim() !== value || value.length === 0) out.push(`${where} is not trimmed or is empty: ${describe(value)}`);
    if (value.length > 200) out.push(`${where} is longer than 200 characters`);
  }
  return out;
}

/** Everything invalid in the stored data: numbers, codes, identifiers, ratings, the tree, text, JSON, batches, hashes. */
export async function storedDataProblems(sql: SqlRunner): Promise<string[]> {
  const problems: string[] = [];
  const q = <T>(text: string) => sql.query<T>(text);

  for (const [table, column] of [['position', 'quantity'], ['valuation_result', 'market_value'], ['fx_spot', 'rate']] as const) {
    const bad = await q<{ v: string }>(`SELECT "${column}"::text AS v FROM "${table}" WHERE "${column}"::text IN ('NaN', 'Infinity', '-Infinity')`);
    if (bad.length > 0) problems.push(`${table}.${column}: ${bad.length} NaN or infinite values`);
  }
  // Two clocks: each position's current versions tile [opened_on, infinity) and its summary is the latest one.
  const untiled = await q<{ id: string }>(`
    SELECT p.id::text AS id FROM position p
    LEFT JOIN LATERAL (
      SELECT min(v.valid_from) AS first, count(*) FILTER (WHERE v.valid_to IS NULL) AS open_ended,
             bool_and(v.valid_to IS NULL OR EXISTS (SELECT 1 FROM position_version n WHERE n.position_id = p.id AND n.superseded_at IS NULL AND n.valid_from = v.valid_to)) AS chained
      FROM position_version v WHERE v.position_id = p.id AND v.superseded_at IS NULL
    ) c ON true
    LEFT JOIN LATERAL (SELECT * FROM position_summary(p.id)) s ON true
    WHERE c.first IS DISTINCT FROM p.opened_on OR c.open_ended <> 1 OR NOT c.chained
       OR (s.quantity, s.status, s.opened_on, s.closed_on, s.state_from) IS DISTINCT FROM (p.quantity, p.status, p.opened_on, p.closed_on, p.state_from)`);
  if (untiled.length > 0) problems.push(`position_version: ${untiled.length} positions whose current versions do not tile from opened_on or disagree with the summary (e.g. ${untiled[0]!.id})`);
  // Nothing about a position is recorded or superseded after its last_recorded_at (pinned reads take
  // the present path for positions whose stamp is not later than the knownAt).
  const unstamped = await q<{ id: string }>(`
    SELECT p.id::text AS id FROM position p
    WHERE EXISTS (SELECT 1 FROM position_version v WHERE v.position_id = p.id AND GREATEST(v.recorded_at, v.superseded_at) > p.last_recorded_at)
       OR EXISTS (SELECT 1 FROM valuation_result v WHERE v.position_id = p.id AND GREATEST(v.recorded_at, v.superseded_at) > p.last_recorded_at)`);
  if (unstamped.length > 0) problems.push(`position.last_recorded_at: ${unstamped.length} positions with versions or valuations recorded after it (e.g. ${unstamped[0]!.id})`);
  const positiveRates = await q<{ n: number }>(`SELECT count(*)::int AS n FROM fx_spot WHERE rate <= 0`);
  if ((positiveRates[0]?.n ?? 0) > 0) problems.push('fx_spot.rate: rates <= 0');

  const currencies = await q<{ t: string; c: string }>(`
    SELECT DISTINCT 'portfolio_node.base_ccy' AS t, base_ccy AS c FROM portfolio_node
    UNION SELECT DISTINCT 'position.base_ccy', base_ccy FROM position
    UNION SELECT DISTINCT 'valuation_result.currency', currency FROM valuation_result
    UNION SELECT DISTINCT 'instrument.currency', currency FROM instrument
    UNION SELECT DISTINCT 'reference_data.code (CURRENCY)', code FROM reference_data WHERE entity_type = 'CURRENCY' AND code IS NOT NULL
    UNION SELECT DISTINCT 'fx_spot.pair (base)', substr(pair, 1, 3) FROM fx_spot
    UNION SELECT DISTINCT 'fx_spot.pair (quote)', substr(pair, 4, 3) FROM fx_spot`);
  for (const { t, c } of currencies) if (!/^[A-Z]{3}$/.test(c) || !isCurrencyCode(c)) problems.push(`${t}: ${JSON.stringify(c)} is not an ISO 4217 code`);

  const identifiers = await q<{ t: string; kind: string; v: string }>(`
    SELECT 'instrument' AS t, 'isin' AS kind, isin AS v FROM instrument WHERE isin IS NOT NULL
    UNION ALL SELECT 'instrument', 'cusip', cusip FROM instrument WHERE cusip IS NOT NULL
    UNION ALL SELECT 'instrument', 'ticker', ticker FROM instrument WHERE ticker IS NOT NULL
    UNION ALL SELECT 'reference_data', 'isin', isin FROM reference_data WHERE isin IS NOT NULL
    UNION ALL SELECT 'reference_data', 'cusip', cusip FROM reference_data WHERE cusip IS NOT NULL
    UNION ALL SELECT 'reference_data', 'lei', lei FROM reference_data WHERE lei IS NOT NULL
    UNION ALL SELECT 'reference_data', 'ticker', ticker FROM reference_data WHERE ticker IS NOT NULL`);
  const validIdentifier: Record<string, (v: string) => boolean> = {
    isin: isValidIsin, cusip: isValidCusip, lei: isValidLei, ticker: (v) => /^[A-Z0-9][A-Z0-9 ./:-]{0,31}$/.test(v),
  };
  for (const { t, kind, v } of identifiers) if (!validIdentifier[kind]!(v)) problems.push(`${t}.${kind}: ${JSON.stringify(v)} fails its format or check digits`);

  const ratings = await q<{ agency: string; rating: string }>(`SELECT DISTINCT agency::text AS agency, rating FROM rating_history`);
  for (const { agency, rating } of ratings) if (ratingScore(agency as Agency, rating) === null) problems.push(`rating_history: ${JSON.stringify(rating)} is not on the ${agency} scale`);

  const nodes = await q<{ id: string; name: string; node_type: string; parent_id: string | null; fund_id: string | null }>(
    `SELECT id::text AS id, name, node_type::text AS node_type, parent_id::text AS parent_id, fund_id::text AS fund_id FROM portfolio_node`,
  );
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const n of nodes) {
    problems.push(...textProblems(`portfolio_node ${n.id} name`, n.name, { name: true }));
    const parent = n.parent_id ? byId.get(n.parent_id) : undefined;
    if (n.node_type === 'FUND' ? n.parent_id !== null : !parent || LEVEL[parent.node_type]! !== LEVEL[n.node_type]! - 1) {
      problems.push(`portfolio_node ${n.id}: a ${n.node_type} under ${parent ? `a ${parent.node_type}` : n.parent_id ?? 'nothing'}`);
    }
    let root: typeof n | undefined = n;
    for (let steps = 0; root?.parent_id && steps < 10; steps++) root = byId.get(root.parent_id);
    if (!root || root.parent_id !== null) problems.push(`portfolio_node ${n.id}: no path to a root (cycle?)`);
    else if (n.fund_id !== root.id) problems.push(`portfolio_node ${n.id}: fund_id ${n.fund_id} but its root is ${root.id}`);
  }

  const texts = await q<{ t: string; v: string | null; name: boolean }>(`
    SELECT 'instrument.name' AS t, name AS v, true AS name FROM instrument
    UNION ALL SELECT 'reference_data.name', name, true FROM reference_data
    UNION ALL SELECT 'reference_data.code', code, false FROM reference_data
    UNION ALL SELECT 'market_data_feed.source', source, true FROM market_data_feed
    UNION ALL SELECT 'data_lineage.source_system', source_system, true FROM data_lineage
    UNION ALL SELECT 'data_lineage.transformation_chain[]', unnest(transformation_chain), false FROM data_lineage
    UNION ALL SELECT 'ingestion_batch.source_system', source_system, true FROM ingestion_batch
    UNION ALL SELECT 'ingestion_batch.idempotency_key', idempotency_key, false FROM ingestion_batch`);
  for (const { t, v, name } of texts) problems.push(...textProblems(t, v, { name }));

  const objects = await q<{ t: string; v: string }>(`
    SELECT 'portfolio_node.tags_json' AS t, tags_json::text AS v FROM portfolio_node
    UNION ALL SELECT 'instrument.attributes_json', attributes_json::text FROM instrument
    UNION ALL SELECT 'reference_data.attributes_json', attributes_json::text FROM reference_data
    UNION ALL SELECT 'data_lineage.metadata_json', metadata_json::text FROM data_lineage`);
  for (const { t, v } of objects) {
    const parsed: unknown = JSON.parse(v);
    if (!isPlainObject(parsed)) problems.push(`${t}: not a JSON object: ${describe(v)}`);
    problems.push(...textProblems(t, v));
  }

  const feeds = await q<{ id: string; payload: string; hash: string }>(`SELECT id::text AS id, payload_json::text AS payload, payload_hash AS hash FROM market_data_feed`);
  for (const f of feeds) {
    problems.push(...textProblems(`market_data_feed ${f.id} payload`, f.payload));
    try {
      if (contentHash(JSON.parse(f.payload)) !== f.hash) problems.push(`market_data_feed ${f.id}: payload_hash is not the hash of the stored payload (${describe(f.payload, 200)})`);
    } catch (error) {
      problems.push(`market_data_feed ${f.id}: stored payload cannot be hashed (${String(error)})`);
    }
  }

  const stuck = await q<{ id: string; status: string }>(`SELECT id::text AS id, status::text AS status FROM ingestion_batch WHERE status IN ('STARTED', 'VALIDATING') OR (status IN ('COMPLETED', 'FAILED') AND completed_at IS NULL)`);
  for (const b of stuck) problems.push(`ingestion_batch ${b.id} left ${b.status} (or without completed_at)`);

  const orphans = await q<{ n: number }>(`SELECT count(*)::int AS n FROM data_lineage WHERE feed_id IS NULL AND ingestion_batch_id IS NULL`);
  if ((orphans[0]?.n ?? 0) > 0) problems.push('data_lineage: rows of neither a feed nor a batch');
  return problems;
}

/** Keys added to Object.prototype (prototype pollution through a hostile `__proto__`/`constructor` key). */
export function prototypePollution(): string[] {
  const probe = {} as Record<string, unknown>;
  const out: string[] = [];
  for (const key of ['polluted', 'a', 'k0', 'prototype']) if (key in probe) out.push(`Object.prototype.${key} = ${describe(probe[key])}`);
  const own = Object.getOwnPropertyNames(Object.prototype).filter((k) => !BASE_PROTOTYPE_KEYS.has(k));
  for (const k of own) out.push(`Object.prototype has a new key ${k}`);
  return out;
}
const BASE_PROTOTYPE_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

// -------------------------------------------------------------- operations

/** Argument and input-field names whose values are enums (bare names in a literal). */
export const ENUM_KEYS: ReadonlySet<string> = new Set([
  'nodeType', 'entityType', 'agency', 'agency2', 'feedType', 'status', 'batchType', 'mode', 'dimension',
]);

/** An operation with variables: their GraphQL types, and a body that places them (`args('a', 'b')` -> `(a: $a, b: $b)`). */
export interface OperationSpec {
  label: string;
  type: 'query' | 'mutation';
  variables: Record<string, string>;
  /** `args('a', 'b')` -> `(a: $a, b: $b)`; `value('a', fallback)` -> `$a` (or the literal, or the fallback when absent). */
  body: (args: (...names: string[]) => string, value: (name: string, fallback: string) => string) => string;
}

/** How the values travel: as JSON variables, as WTF-8 variables (lone surrogates as invalid UTF-8), or inline as literals. */
export type Form = 'variables' | 'wtf8' | 'literal';
export const formArb: fc.Arbitrary<Form> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Form>('variables') },
  { weight: 2, arbitrary: fc.constant<Form>('wtf8') },
  { weight: 2, arbitrary: fc.constant<Form>('literal') },
);

/** The request body for an operation with these values in this form. */
export function operationBody(spec: OperationSpec, values: Record<string, Value>, form: Form): Buffer {
  if (form === 'literal') {
    const args = (...names: string[]) => {
      const given = names.filter((n) => values[n] !== ABSENT && values[n] !== undefined);
      return given.length === 0 ? '' : `(${given.map((n) => `${n}: ${toLiteral(values[n], ENUM_KEYS, n)}`).join(', ')})`;
    };
    const value = (n: string, fallback: string) => (values[n] === ABSENT || values[n] === undefined ? fallback : toLiteral(values[n], ENUM_KEYS, n));
    return encodeJson({ query: `${spec.type} { ${spec.body(args, value)} }` });
  }
  const defs = Object.entries(spec.variables).map(([n, type]) => `$${n}: ${type}`).join(', ');
  const args = (...names: string[]) => `(${names.map((n) => `${n}: $${n}`).join(', ')})`;
  const query = `${spec.type} Hostile${defs ? `(${defs})` : ''} { ${spec.body(args, (n) => `$${n}`)} }`;
  const variables = objectOf(Object.keys(values).filter((k) => values[k] !== ABSENT).map((k) => [k, values[k]] as const));
  return encodeJson(objectOf([['query', query], ['variables', variables]]), { wtf8: form === 'wtf8' });
}

/** An input object from a record of field arbitraries, now and then with an extra hostile key. */
export function inputObject(fields: Record<string, fc.Arbitrary<Value>>): fc.Arbitrary<Value> {
  const extra = fc.oneof(
    { weight: 12, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('__proto__', 'constructor', 'unknownField', 'id ', ''), fc.constantFrom<Value>({ polluted: 'yes' }, 'x', 1, null, [])) },
  );
  return fc.tuple(fc.record(fields), extra).map(([record, more]) => {
    const pairs: [string, unknown][] = Object.entries(record).filter(([, v]) => v !== ABSENT);
    if (more) pairs.push(more);
    return objectOf(pairs);
  });
}

// ------------------------------------------------------- the mutations

/** Every mutation of the contract, with a selection that reads back what it stored. */
export const MUTATIONS = {
  createPortfolioNode: {
    label: 'createPortfolioNode', type: 'mutation', variables: { input: 'CreatePortfolioNodeInput!' },
    body: (a) => `createPortfolioNode${a('input')} { id name nodeType baseCurrency tags depth parent { id nodeType } }`,
  },
  movePortfolioNode: {
    label: 'movePortfolioNode', type: 'mutation', variables: { id: 'ID!', parentId: 'ID!' },
    body: (a) => `movePortfolioNode${a('id', 'parentId')} { id nodeType depth parent { id nodeType } }`,
  },
  upsertReferenceEntity: {
    label: 'upsertReferenceEntity', type: 'mutation', variables: { input: 'ReferenceEntityInput!' },
    body: (a) => `upsertReferenceEntity${a('input')} { id entityType name code ticker cusip isin lei attributes parent { id } }`,
  },
  upsertInstrument: {
    label: 'upsertInstrument', type: 'mutation', variables: { input: 'InstrumentInput!' },
    body: (a) => `upsertInstrument${a('input')} { id name assetClass currency isin cusip ticker maturityDate issuer { id } }`,
  },
  recordRating: {
    label: 'recordRating', type: 'mutation', variables: { input: 'RatingInput!' },
    body: (a) => `recordRating${a('input')} { agency rating score asOfDate entity { id } }`,
  },
  openPosition: {
    label: 'openPosition', type: 'mutation', variables: { input: 'OpenPositionInput!' },
    body: (a) => `openPosition${a('input')} { id quantity baseCurrency status node { id nodeType } instrument { id } }`,
  },
  closePosition: {
    label: 'closePosition', type: 'mutation', variables: { id: 'ID!', effectiveDate: 'Date' },
    body: (a) => `closePosition${a('id', 'effectiveDate')} { id status openedOn closedOn }`,
  },
  adjustPosition: {
    label: 'adjustPosition', type: 'mutation', variables: { input: 'AdjustPositionInput!' },
    body: (a) => `adjustPosition${a('input')} { id status quantity openedOn closedOn history { validFrom validTo quantity status } }`,
  },
  deletePosition: {
    label: 'deletePosition', type: 'mutation', variables: { id: 'ID!' },
    body: (a) => `deletePosition${a('id')} { id status }`,
  },
  recordValuations: {
    label: 'recordValuations', type: 'mutation', variables: { input: '[ValuationInput!]!' },
    body: (a) => `recordValuations${a('input')}`,
  },
  ingestMarketData: {
    label: 'ingestMarketData', type: 'mutation', variables: { input: 'MarketDataInput!' },
    body: (a) => `ingestMarketData${a('input')} { id feedType validationStatus payloadHash payload checks { name status message } lineage { sourceSystem transformationChain metadata } }`,
  },
  uploadPositions: {
    label: 'uploadPositions', type: 'mutation', variables: { input: 'PositionUploadInput!' },
    body: (a) => `uploadPositions${a('input')} { id status batchType sourceSystem rowCount acceptedCount rejectedCount errors { row field code message } }`,
  },
  createPortfolioSnapshot: {
    label: 'createPortfolioSnapshot', type: 'mutation', variables: { nodeId: 'ID!', asOfDate: 'Date!' },
    body: (a) => `createPortfolioSnapshot${a('nodeId', 'asOfDate')} { created snapshot { id asOfDate payloadHash node { id } } }`,
  },
} satisfies Record<string, OperationSpec>;
export type MutationName = keyof typeof MUTATIONS;

/** Messages stored for clients (quality checks, row errors) must not leak either (echoes of the input aside). */
export function storedMessageProblems(what: string, list: { message?: unknown }[] | undefined | null, sentValues: Value = null): Problem[] {
  const out: Problem[] = [];
  const sent = stringsIn(sentValues).sort((a, b) => b.length - a.length);
  for (const item of list ?? []) {
    if (typeof item?.message !== 'string') {
      out.push({ kind: `${what} without a message`, detail: describe(item) });
      continue;
    }
    const cleaned = withoutEchoes(item.message, sent);
    // A batch's WRITE_FAILED message names a SQLSTATE by design (failures.ts); that failure is reported on its own.
    const leak = LEAKS.filter((re) => !re.source.includes('SQLSTATE')).find((re) => re.test(cleaned));
    if (leak) out.push({ kind: `${what} message leaks ${leak}`, detail: item.message.slice(0, 300) });
  }
  return out;
}

const PARENT_LEVEL: Record<string, string | undefined> = { DESK: 'FUND', BOOK: 'DESK', STRATEGY: 'BOOK' };
const BATCH_CODES = new Set(['ROWS_REJECTED', 'ERRORS_TRUNCATED', 'UNREADABLE_INPUT']);

/** Books what a successful mutation wrote, and checks what it answered; the problems found. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function accountFor(name: MutationName, data: Record<string, any>, values: Record<string, Value>, ledger: Ledger): Problem[] {
  ledger.successes++;
  const problems: Problem[] = [];
  switch (name) {
    case 'createPortfolioNode': {
      const n = data.createPortfolioNode;
      ledger.nodes.add(n.id);
      if ((n.parent?.nodeType ?? undefined) !== PARENT_LEVEL[n.nodeType]) problems.push({ kind: 'node created under the wrong level', detail: describe(n) });
      break;
    }
    case 'movePortfolioNode': {
      const n = data.movePortfolioNode;
      if (n.parent?.nodeType !== PARENT_LEVEL[n.nodeType]) problems.push({ kind: 'node moved under the wrong level', detail: describe(n) });
      break;
    }
    case 'upsertReferenceEntity':
      ledger.references.add(data.upsertReferenceEntity.id);
      break;
    case 'upsertInstrument':
      ledger.instruments.add(data.upsertInstrument.id);
      break;
    case 'recordRating':
      ledger.ratings++;
      break;
    case 'openPosition': {
      const p = data.openPosition;
      ledger.positions.add(p.id);
      if (p.node.nodeType !== 'BOOK' && p.node.nodeType !== 'STRATEGY') problems.push({ kind: 'position opened on a FUND or DESK', detail: describe(p) });
      break;
    }
    case 'closePosition':
      if (data.closePosition.status !== 'CLOSED' || !data.closePosition.closedOn) problems.push({ kind: 'closePosition did not close', detail: describe(data.closePosition) });
      else if (data.closePosition.closedOn < data.closePosition.openedOn) problems.push({ kind: 'closed before it was opened', detail: describe(data.closePosition) });
      break;
    case 'adjustPosition': {
      const p = data.adjustPosition;
      // The versions known now tile [openedOn, infinity) in order, without gaps or overlaps.
      const versions = p.history as { validFrom: string; validTo: string | null }[];
      const tiled = versions.length > 0 && versions[0]!.validFrom === p.openedOn && versions.at(-1)!.validTo === null
        && versions.every((v, i) => i === 0 || versions[i - 1]!.validTo === v.validFrom);
      if (!tiled) problems.push({ kind: 'adjustPosition left versions that do not tile', detail: describe(p) });
      break;
    }
    case 'deletePosition':
      if (data.deletePosition.status !== 'DELETED') problems.push({ kind: 'deletePosition did not delete', detail: describe(data.deletePosition) });
      break;
    case 'recordValuations':
      ledger.valuations += Number(data.recordValuations);
      break;
    case 'ingestMarketData': {
      const feed = data.ingestMarketData;
      ledger.feeds.add(feed.id);
      const payload = (values.input as { payload?: { ratings?: unknown } } | undefined)?.payload;
      if (feed.feedType === 'RATING') ledger.ratingFeedEntries.set(feed.id, Array.isArray(payload?.ratings) ? payload.ratings.length : 0);
      problems.push(...storedMessageProblems('quality check', feed.checks, values));
      break;
    }
    case 'uploadPositions': {
      const b = data.uploadPositions;
      ledger.batches.set(b.id, b.acceptedCount);
      if (b.acceptedCount + b.rejectedCount > b.rowCount) problems.push({ kind: 'batch counts exceed its rows', detail: describe(b) });
      if (b.status === 'FAILED' && b.acceptedCount !== 0) problems.push({ kind: 'FAILED batch with accepted rows', detail: describe(b) });
      for (const e of b.errors ?? []) {
        if (e.code === 'WRITE_FAILED') problems.push({ kind: `batch FAILED writing (a database error hidden in the batch): ${e.message.replace(/\d+ rows/, 'N rows')}`, detail: describe(b) });
        else if (!ALLOWED_CODES.has(e.code) && !BATCH_CODES.has(e.code)) problems.push({ kind: `row error code ${e.code}`, detail: describe(e) });
      }
      problems.push(...storedMessageProblems('row error', b.errors, values));
      break;
    }
    case 'createPortfolioSnapshot': {
      const r = data.createPortfolioSnapshot;
      ledger.snapshots.add(r.snapshot.id);
      if (!/^[0-9a-f]{64}$/.test(r.snapshot.payloadHash)) problems.push({ kind: 'snapshot hash is not SHA-256 hex', detail: describe(r) });
      break;
    }
  }
  return problems;
}

/** Sends one operation, judges the answer, books a success; records problems (and harness errors) in `findings`. */
export async function attemptOperation(
  url: string, spec: OperationSpec, values: Record<string, Value>, form: Form, findings: Findings,
  options: { log?: JudgeOptions['log']; ledger?: Ledger; label?: string; headers?: Record<string, string> } = {},
): Promise<Answer | undefined> {
  const label = options.label ?? spec.label;
  findings.count(label);
  try {
    const answer = await post(url, operationBody(spec, values, form), { 'content-type': 'application/json', ...options.headers });
    const problems = judge(answer, { sent: values, log: options.log });
    const ok = problems.length === 0 && succeeded(answer);
    findings.outcome(label, ok ? 'data' : outcomeOf(answer));
    if (ok && options.ledger && spec.type === 'mutation') {
      problems.push(...accountFor(spec.label as MutationName, answer.body!.data as Record<string, unknown>, values, options.ledger));
    }
    findings.record(label, problems, `${form} ${describe(values, 1_400)}`);
    return answer;
  } catch (error) {
    findings.record(label, [{ kind: 'test harness error', detail: String((error as Error)?.stack ?? error).slice(0, 500) }], `${form} ${describe(values, 400)}`);
    return undefined;
  }
}

function outcomeOf(answer: Answer): string {
  if (answer.dropped) return 'dropped';
  // HOSTILE_DEBUG=1 tells the fields apart in the per-operation summary.
  const codes = ((answer.body?.errors ?? []) as { extensions?: { code?: unknown; field?: unknown } }[])
    .map((e) => `${String(e?.extensions?.code)}${process.env.HOSTILE_DEBUG && e?.extensions?.field ? `(${String(e.extensions.field).replace(/\[\d+\]/g, '[]')})` : ''}`);
  return codes.length > 0 ? [...new Set(codes)].join('+') : `HTTP ${answer.status}`;
}
