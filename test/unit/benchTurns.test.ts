// The bench's measurement in turns (bench/lib/measure.ts measureInTurns): systems compared on the
// same question are warmed and timed one run of each after another, so that drift of a busy machine
// falls on all of them alike.
import { measureInTurns, type MeasureOptions, type Stats } from '../../bench/lib/measure';

const options = (over: Partial<MeasureOptions> = {}): MeasureOptions => ({ warmup: 2, warmupMs: 0, runs: 5, budgetMs: 60_000, minRuns: 5, ...over });

describe('measureInTurns', () => {
  it('warms up and times the systems one run of each after another', async () => {
    const calls: string[] = [];
    const result = await measureInTurns([async () => calls.push('a'), async () => calls.push('b'), async () => calls.push('c')], options());
    // 2 warm-up rounds and 5 timed rounds, each round a, b, c in that order.
    expect(calls).toEqual(Array.from({ length: 7 }, () => ['a', 'b', 'c']).flat());
    expect(result.map((r) => (r as Stats).n)).toEqual([5, 5, 5]);
  });

  it('times each system by its own runs', async () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const [fast, slow] = (await measureInTurns([async () => undefined, () => sleep(30)], options({ warmup: 0, runs: 3, minRuns: 3 }))) as Stats[];
    // A timer may fire a little early by the high-resolution clock; never 5 ms early.
    expect(slow!.min).toBeGreaterThanOrEqual(25);
    expect(fast!.median).toBeLessThan(slow!.median);
  });

  it('drops a system whose run throws, returns its error, and goes on with the others', async () => {
    let bRuns = 0;
    const calls: string[] = [];
    const result = await measureInTurns([
      async () => calls.push('a'),
      async () => {
        calls.push('b');
        if (++bRuns === 3) throw new Error('PostGraphile timed out');
      },
    ], options());
    expect(result[0]).toMatchObject({ n: 5 });
    expect(result[1]).toBeInstanceOf(Error);
    expect((result[1] as Error).message).toBe('PostGraphile timed out');
    // b's third call (the first timed round) threw: it is not called again.
    expect(calls.filter((c) => c === 'b')).toHaveLength(3);
    expect(calls.filter((c) => c === 'a')).toHaveLength(7);
  });

  it('stops after the budget once every system has its minimum runs', async () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const result = (await measureInTurns([() => sleep(5), () => sleep(5)], options({ warmup: 0, runs: 1_000, minRuns: 2, budgetMs: 10 }))) as Stats[];
    // A budget of 10 ms per system: 20 ms in all, a round taking at least 10 ms.
    expect(result[0]!.n).toBeGreaterThanOrEqual(2);
    expect(result[0]!.n).toBeLessThan(10);
    expect(result[1]!.n).toBe(result[0]!.n);
  });
});
