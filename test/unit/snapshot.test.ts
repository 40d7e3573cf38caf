// Snapshot payloads and hashes (src/domain/snapshot.ts): the hash depends on
// the content only - not on key order, list order or how a number is written -
// and any change of content changes it; the fast canonical form equals RFC 8785.
import fc from 'fast-check';
import { canonicalJson, contentHash } from '../../src/domain/contentHash';
import {
  hashSnapshotPayload, payloadHashOf, snapshotPayload, type SnapshotContent, type SnapshotPosition,
} from '../../src/domain/snapshot';

const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function content(overrides: Partial<SnapshotContent> = {}): SnapshotContent {
  return {
    node: { id: ID(1), name: 'Fund A', nodeType: 'FUND', baseCurrency: 'USD' },
    positions: [
      { id: ID(20), nodeId: ID(3), instrumentId: ID(9), isin: 'US0378331005', quantity: '1000.0000000000', baseCurrency: 'USD',
        valuation: { asOfDate: '2026-10-30', marketValue: '990.50000000', currency: 'USD' } },
      { id: ID(10), nodeId: ID(4), instrumentId: ID(8), isin: null, quantity: '-25.5', baseCurrency: 'eur', valuation: null },
    ],
    fx: { feedId: ID(7), asOfDate: '2026-10-30', rates: [{ pair: 'GBPUSD', rate: '1.270000000000' }, { pair: 'EURUSD', rate: '1.0850' }] },
    ...overrides,
  };
}

/** The same JSON value with every object's keys in reverse order. */
const reorder = (v: unknown): unknown => Array.isArray(v)
  ? v.map(reorder)
  : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reorder(x)])) : v;

const hashOf = (c: SnapshotContent) => hashSnapshotPayload(snapshotPayload(c)).hash;

describe('snapshotPayload', () => {
  it('writes canonical decimals, sorted lists, normalised codes, and no as-of date of the request', () => {
    expect(snapshotPayload(content())).toEqual({
      version: 1,
      node: { id: ID(1), name: 'Fund A', nodeType: 'FUND', baseCurrency: 'USD' },
      positions: [
        { id: ID(10), nodeId: ID(4), instrumentId: ID(8), isin: null, quantity: '-25.5', baseCurrency: 'EUR', valuation: null },
        { id: ID(20), nodeId: ID(3), instrumentId: ID(9), isin: 'US0378331005', quantity: '1000', baseCurrency: 'USD',
          valuation: { asOfDate: '2026-10-30', marketValue: '990.5', currency: 'USD' } },
      ],
      fx: { feedId: ID(7), asOfDate: '2026-10-30', rates: [{ pair: 'EURUSD', rate: '1.085' }, { pair: 'GBPUSD', rate: '1.27' }] },
    });
    expect(snapshotPayload(content({ fx: null, positions: [] }))).toMatchObject({ positions: [], fx: null });
  });

  it('rejects a number or date the database could not have written', () => {
    const [p] = content().positions as [SnapshotPosition];
    expect(() => snapshotPayload(content({ positions: [{ ...p, quantity: '1e3' }] }))).toThrow(TypeError);
    expect(() => snapshotPayload(content({ positions: [{ ...p, quantity: 'NaN' }] }))).toThrow(TypeError);
    expect(() => snapshotPayload(content({ positions: [{ ...p, valuation: { ...p.valuation!, asOfDate: '30/10/2026' } }] }))).toThrow(TypeError);
  });
});

describe('snapshot hash', () => {
  it('does not change with key order, list order or number formatting (1.0 vs 1)', () => {
    const base = hashOf(content());
    const [a, b] = content().positions as [SnapshotPosition, SnapshotPosition];
    // The same content with every object's keys reversed, lists reversed and numbers written differently.
    const reversedKeys = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;
    const reformatted: SnapshotContent = {
      fx: { rates: [{ rate: '1.27', pair: 'gbpusd' }, { rate: '1.085000', pair: 'EURUSD' }], asOfDate: '2026-10-30', feedId: ID(7).toUpperCase() },
      positions: [
        reversedKeys({ ...b, quantity: '-25.50', baseCurrency: 'EUR' }),
        reversedKeys({ ...a, quantity: '1000', valuation: reversedKeys({ ...a.valuation!, marketValue: '+990.5' }) }),
      ],
      node: reversedKeys(content().node),
    };
    expect(hashOf(reformatted)).toBe(base);
    expect(hashOf(content({ positions: [{ ...a, quantity: '1.0' }, b] }))).toBe(hashOf(content({ positions: [{ ...a, quantity: '1' }, b] })));
  });

  it('changes when one quantity, valuation, rate or the node changes', () => {
    const base = hashOf(content());
    const [a, b] = content().positions as [SnapshotPosition, SnapshotPosition];
    const fx = content().fx!;
    const variants: SnapshotContent[] = [
      content({ positions: [{ ...a, quantity: '1000.0000000001' }, b] }),
      content({ positions: [{ ...a, valuation: { ...a.valuation!, marketValue: '990.51' } }, b] }),
      content({ positions: [{ ...a, valuation: { ...a.valuation!, asOfDate: '2026-09-30' } }, b] }),
      content({ positions: [a] }),
      content({ fx: { ...fx, rates: [{ pair: 'EURUSD', rate: '1.0851' }, fx.rates[0]!] } }),
      content({ fx: null }),
      content({ node: { ...content().node, name: 'Fund B' } }),
    ];
    const hashes = variants.map(hashOf);
    expect(new Set([base, ...hashes]).size).toBe(variants.length + 1);
  });

  it('is SHA-256 of the RFC 8785 form, byte for byte (known answer)', () => {
    const payload = snapshotPayload(content({ positions: [], fx: null, node: { id: ID(1), name: 'Fonds « été » \u2028 "q"', nodeType: 'FUND', baseCurrency: 'EUR' } }));
    const { canonical, hash } = hashSnapshotPayload(payload);
    expect(canonical).toBe(`{"fx":null,"node":{"baseCurrency":"EUR","id":"${ID(1)}","name":"Fonds « été » \u2028 \\"q\\"","nodeType":"FUND"},"positions":[],"version":1}`);
    expect(hash).toBe(contentHash(JSON.parse(canonical)));
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
  });

  const text = fc.string({ unit: 'binary', maxLength: 12 });
  const decimal = fc.tuple(fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }), fc.nat({ max: 10 }), fc.nat({ max: 3 }))
    .map(([units, scale, zeros]) => {
      const digits = (units < 0n ? -units : units).toString().padStart(scale + 1, '0');
      const body = scale ? `${digits.slice(0, -scale)}.${digits.slice(-scale)}${'0'.repeat(zeros)}` : digits;
      return `${units < 0n ? '-' : ''}${body}`;
    });
  const position = fc.record({
    id: fc.uuid(), nodeId: fc.uuid(), instrumentId: fc.uuid(), isin: fc.option(text), quantity: decimal, baseCurrency: fc.constantFrom('USD', 'EUR'),
    valuation: fc.option(fc.record({ asOfDate: fc.constantFrom('2026-01-30', '2026-10-30'), marketValue: decimal, currency: fc.constantFrom('USD', 'JPY') })),
  });
  const contents = fc.record({
    node: fc.record({ id: fc.uuid(), name: text, nodeType: fc.constantFrom('FUND', 'BOOK'), baseCurrency: fc.constantFrom('USD', 'GBP') }),
    positions: fc.array(position, { maxLength: 8 }),
    fx: fc.option(fc.record({ feedId: fc.uuid(), asOfDate: fc.constant('2026-10-30'), rates: fc.array(fc.record({ pair: fc.constantFrom('EURUSD', 'USDJPY', 'GBPUSD'), rate: decimal }), { maxLength: 4 }) })),
  });

  it('writes exactly what a generic RFC 8785 canonicaliser writes, on generated payloads', () => {
    fc.assert(
      fc.property(contents, (c) => {
        const payload = snapshotPayload(c);
        const { canonical, hash } = hashSnapshotPayload(payload);
        expect(canonical).toBe(canonicalJson(payload));
        expect(hash).toBe(payloadHashOf(payload));
        // A payload read back from jsonb (keys in another order) hashes the same.
        expect(payloadHashOf(reorder(JSON.parse(canonical)))).toBe(hash);
      }),
      { numRuns: 300 },
    );
  });
});
