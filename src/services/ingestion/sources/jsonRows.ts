// Position rows from a JSON stream, in bounded memory: the document is either
// an array of row objects or an object with a "rows" array. A small scanner
// finds the array and hands each element to JSON.parse on its own, so only one
// row is held at a time. Numbers are taken exactly as written: the scanner
// quotes bare numbers before parsing, so "quantity": 1000.123456789 never
// passes through a binary float.
import type { IncomingRow, RawPositionRow } from '../types';

const MAX_ELEMENT_CHARS = 1_000_000;
const NUMBER_START = /[-0-9]/;
const NUMBER_PART = /[-+0-9.eE]/;
const SPACE = /\s/;

type Phase = 'before' | 'object' | 'array' | 'after';

export class JsonRowScanner {
  private phase: Phase = 'before';
  private depth = 0;
  /** The depth inside the rows array, where its elements start. */
  private arrayDepth = 0;
  private inString = false;
  private escaped = false;
  private inNumber = false;
  /** Text of the current string token at object depth 1 (a key, when looking for "rows"). */
  private key: string | null = null;
  private lastKey: string | null = null;
  private parts: string[] | null = null;
  private partStart = 0;
  private length = 0;
  private out: IncomingRow[] = [];

  /** The rows completed by this piece of text. */
  feed(text: string): IncomingRow[] {
    this.out = [];
    this.partStart = 0;
    for (let i = 0; i < text.length; i++) this.step(text, i, text[i]!);
    if (this.parts) {
      this.parts.push(text.slice(this.partStart));
      this.length += text.length - this.partStart;
      if (this.length > MAX_ELEMENT_CHARS) throw new Error(`a row is longer than ${MAX_ELEMENT_CHARS} characters`);
    }
    return this.out;
  }

  end(): void {
    if (this.phase === 'before') throw new Error('the file is empty: expected an array of rows or { "rows": [...] }');
    if (this.phase !== 'after') throw new Error('the JSON ends before its rows array is closed');
  }

  private step(text: string, i: number, ch: string): void {
    if (this.inString) return this.stringChar(ch);
    if (this.inNumber && !NUMBER_PART.test(ch)) this.quoteNumber(text, i, false);
    if (this.phase === 'array') return this.arrayChar(text, i, ch);
    if (this.phase === 'after' || SPACE.test(ch)) return;
    if (this.phase === 'before') return this.firstChar(ch);
    this.objectChar(ch);
  }

  private stringChar(ch: string): void {
    if (this.escaped) this.escaped = false;
    else if (ch === '\\') this.escaped = true;
    else if (ch === '"') this.inString = false;
    if (this.key !== null) {
      if (this.inString) this.key += ch;
      else [this.lastKey, this.key] = [this.key, null];
    }
  }

  private firstChar(ch: string): void {
    if (ch === '[') [this.phase, this.depth, this.arrayDepth] = ['array', 1, 1];
    else if (ch === '{') [this.phase, this.depth] = ['object', 1];
    else throw new Error('expected an array of rows or { "rows": [...] }');
  }

  /** Inside the wrapping object: skip every value but the array under "rows". */
  private objectChar(ch: string): void {
    if (ch === '"') {
      this.inString = true;
      if (this.depth === 1) this.key = '';
    } else if (ch === '[' && this.depth === 1 && this.lastKey === 'rows') {
      [this.phase, this.depth, this.arrayDepth] = ['array', 2, 2];
    } else if (ch === '{' || ch === '[') this.depth++;
    else if (ch === '}' || ch === ']') {
      this.depth--;
      if (this.depth === 0) throw new Error('the object has no "rows" array');
    } else if (ch === ',' && this.depth === 1) this.lastKey = null;
  }

  private arrayChar(text: string, i: number, ch: string): void {
    if ((ch === ',' || ch === ']') && this.depth === this.arrayDepth) {
      if (this.parts) this.emit(text, i);
      if (ch === ']') this.phase = 'after';
      return;
    }
    if (SPACE.test(ch)) return;
    if (!this.parts) [this.parts, this.partStart, this.length] = [[], i, 0];
    if (ch === '"') this.inString = true;
    else if (ch === '{' || ch === '[') this.depth++;
    else if (ch === '}' || ch === ']') this.depth--;
    else if (!this.inNumber && NUMBER_START.test(ch)) this.quoteNumber(text, i, true);
  }

  /** Puts a quote before the number starting at i, or after the number ending before i. */
  private quoteNumber(text: string, i: number, starting: boolean): void {
    if (!this.parts) return;
    this.parts.push(text.slice(this.partStart, i), '"');
    this.partStart = i;
    this.inNumber = starting;
  }

  private emit(text: string, i: number): void {
    const element = this.parts!.join('') + text.slice(this.partStart, i);
    this.parts = null;
    this.out.push(parseRow(element));
  }
}

function parseRow(element: string): IncomingRow {
  let value: unknown;
  try {
    value = JSON.parse(element);
  } catch (error) {
    return { unreadable: `the row is not valid JSON (${error instanceof Error ? error.message.slice(0, 120) : 'parse error'})` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { unreadable: 'the row is not a JSON object' };
  return { values: value as RawPositionRow };
}

export async function* jsonRows(input: AsyncIterable<string | Buffer>): AsyncGenerator<IncomingRow> {
  const scanner = new JsonRowScanner();
  for await (const piece of input) yield* scanner.feed(typeof piece === 'string' ? piece : piece.toString('utf8'));
  scanner.end();
}
