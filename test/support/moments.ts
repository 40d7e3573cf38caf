// Moments for knownAt in tests: recorded time is stamped by the database's
// clock (the same machine's), to the microsecond; a knownAt has milliseconds.

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A moment between two writes: after everything recorded so far, before anything recorded next. */
export async function moment(): Promise<string> {
  await sleep(5);
  const at = new Date().toISOString();
  await sleep(5);
  return at;
}
