// Whether a JSON value can be stored faithfully in a jsonb column and read
// back the same: PostgreSQL refuses NUL characters and lone surrogates,
// JavaScript drops an own "__proto__" key on the way, numbers beyond 2^53
// have lost digits in parsing, and very deep nesting overflows recursive serialisers. The
// walk is iterative, so a hostile depth cannot overflow it either.

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'contains NUL characters';
  if (LONE_SURROGATE.test(text)) return 'contains broken Unicode (a lone surrogate)';
  return null;
}

/** Why the value cannot be stored as JSON faithfully, or null when it can. */
export function jsonValueProblem(value: unknown, maxDepth = 32): string | null {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (typeof node === 'string') {
      const problem = textProblem(node);
      if (problem) return problem;
    } else if (typeof node === 'number') {
      // Beyond 2^53 a JSON number has already lost digits when it was parsed: it must come as a string.
      if (!Number.isFinite(node) || Math.abs(node) > Number.MAX_SAFE_INTEGER) {
        return 'contains a number too large to be exact; send it as a string';
      }
    } else if (node !== null && typeof node === 'object') {
      if (depth >= maxDepth) return `is nested more than ${maxDepth} levels deep`;
      if (Array.isArray(node)) {
        for (const item of node) stack.push([item, depth + 1]);
        continue;
      }
      if (Object.prototype.hasOwnProperty.call(node, '__proto__')) return 'has a "__proto__" key, which cannot be stored';
      for (const [key, item] of Object.entries(node)) {
        const problem = textProblem(key);
        if (problem) return problem;
        stack.push([item, depth + 1]);
      }
    } else if (node !== null && typeof node !== 'boolean') {
      return 'contains a value that is not JSON';
    }
  }
  return null;
}
