// Label values that a client chooses (operation names) or that come from
// many places (error codes), kept to a bounded set so that a metric's number
// of series cannot grow without limit: every distinct label value is a series
// Prometheus stores for as long as it retains data.

/** The label of every value past the bound. */
export const OTHER = 'other';

/** Longer values are never labels of their own (a GraphQL name has no length limit). */
const MAX_LABEL_LENGTH = 100;

/**
 * The first `max` distinct values seen keep their own label, later ones become OTHER; values declared
 * trusted (a persisted-operation manifest's operation names) always keep theirs. A client sending
 * 1,000 distinct operation names adds at most `max` series.
 */
export class BoundedLabels {
  private readonly seen = new Set<string>();
  private readonly trusted = new Set<string>();

  constructor(private readonly max: number) {}

  /** Values that always get a label of their own, beyond the bound (their number is the caller's to bound). */
  trust(values: Iterable<string>): void {
    for (const value of values) this.trusted.add(value);
  }

  label(value: string): string {
    if (this.seen.has(value) || this.trusted.has(value)) return value;
    if (this.seen.size >= this.max || value.length > MAX_LABEL_LENGTH) return OTHER;
    this.seen.add(value);
    return value;
  }
}
