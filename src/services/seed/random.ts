// A small deterministic random source for the seed generator (pure-rand's
// xoroshiro128+). The same seed always yields the same world. Floats here only
// choose things; amounts are built from integers with decimal.js.
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

const ALNUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export class Rng {
  private readonly gen;

  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed | 0);
  }

  /** A generator for an independent stream, e.g. one per portfolio node. */
  static derive(seed: number, stream: number): Rng {
    return new Rng(Math.imul(seed ^ 0x5bd1e995, 0x01000193) ^ Math.imul(stream + 1, 0x9e3779b1));
  }

  int(min: number, max: number): number {
    return uniformInt(this.gen, min, max);
  }

  /** Uniform in [0, 1). */
  unit(): number {
    return this.int(0, 0x3fffffff) / 0x40000000;
  }

  chance(p: number): boolean {
    return this.unit() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length - 1)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** An index in [0, n) skewed towards 0: a few large holdings, a long tail. */
  skewedIndex(n: number, power = 2): number {
    return Math.min(n - 1, Math.floor(n * this.unit() ** power));
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  alnum(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += ALNUM[this.int(0, 35)];
    return out;
  }

  /** A version-4-shaped UUID drawn from this stream. */
  uuid(): string {
    const hex = Array.from({ length: 4 }, () => (this.int(0, 0xffff) * 0x10000 + this.int(0, 0xffff)).toString(16).padStart(8, '0')).join('');
    const variant = ((parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}

/**
 * A version-7-shaped UUID whose first 48 bits are `order` (an integer below 2^48), the rest taken from
 * `id` (a UUID drawn from a stream): ids given in ascending order are appended to the indexes keyed by
 * them instead of being written all over them, as the importer's UUIDv7 ids are (the seed's order
 * stands for their time field). The stream is not drawn from again, so the rest of a world is the same.
 */
export function orderedUuid(order: number, id: string): string {
  const prefix = Math.floor(order).toString(16).padStart(12, '0').slice(-12);
  return `${prefix.slice(0, 8)}-${prefix.slice(8, 12)}-7${id.slice(15)}`;
}

/** Base-36 upper-case rendering of a non-negative integer, left-padded. */
export function base36(n: number, width: number): string {
  return n.toString(36).toUpperCase().padStart(width, '0');
}

/** Splits total into parts proportional to weights, summing exactly to total (largest remainder). */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const raw = weights.map((w) => (total * w) / sum);
  const parts = raw.map(Math.floor);
  let rest = total - parts.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (rest-- <= 0) break;
    parts[i] = (parts[i] as number) + 1;
  }
  return parts;
}
