// Channel (src/live/channel.ts): the stream every subscription reads. Its edge
// cases: a reader that leaves while waiting, ends and failures after queued
// values, cleanups run exactly once, the bound on queued values.
import { Channel } from '../../src/live/channel';
import { mergeChanges, type PortfolioChangeEvent } from '../../src/live/portfolioChanges';

const take = async <T>(channel: Channel<T>, n: number): Promise<T[]> => {
  const values: T[] = [];
  for (let i = 0; i < n; i++) {
    const result = await channel.next();
    if (result.done) break;
    values.push(result.value);
  }
  return values;
};

it('hands pushed values to a waiting reader, then queued ones in order', async () => {
  const channel = new Channel<number>();
  const waiting = channel.next();
  channel.push(1);
  expect(await waiting).toEqual({ value: 1, done: false });
  channel.push(2);
  channel.push(3);
  expect(await take(channel, 2)).toEqual([2, 3]);
});

it('return() settles a pending next() at once and runs the cleanups exactly once', async () => {
  const channel = new Channel<number>();
  let cleanups = 0;
  channel.onClose(() => cleanups++);
  const waiting = channel.next();
  await channel.return();
  expect(await waiting).toEqual({ value: undefined, done: true });
  await channel.return();
  channel.end();
  expect(cleanups).toBe(1);
  channel.push(1);
  expect(await channel.next()).toEqual({ value: undefined, done: true });
});

it('end() delivers what is queued first, then done; the cleanup runs at the end', async () => {
  const channel = new Channel<string>();
  let cleaned = false;
  channel.onClose(() => (cleaned = true));
  channel.push('a');
  channel.end();
  expect(cleaned).toBe(true);
  expect(await channel.next()).toEqual({ value: 'a', done: false });
  expect(await channel.next()).toEqual({ value: undefined, done: true });
});

it('fail() rejects after the queued values, and a waiting reader at once', async () => {
  const queued = new Channel<string>();
  queued.push('a');
  queued.fail(new Error('gone'));
  expect(await queued.next()).toEqual({ value: 'a', done: false });
  await expect(queued.next()).rejects.toThrow('gone');
  expect(await queued.next()).toEqual({ value: undefined, done: true });

  const waiting = new Channel<string>();
  const next = waiting.next();
  waiting.fail(new Error('now'));
  await expect(next).rejects.toThrow('now');
});

it('keeps at most maxQueued values, dropping the oldest', async () => {
  const channel = new Channel<number>(2);
  for (const n of [1, 2, 3, 4]) channel.push(n);
  channel.end();
  expect(await take(channel, 5)).toEqual([3, 4]);
});

it('runs a cleanup registered after the end at once', () => {
  const channel = new Channel<number>();
  channel.end();
  let ran = false;
  channel.onClose(() => (ran = true));
  expect(ran).toBe(true);
});

it('folds the value a full queue drops into the next one when given a merge (portfolioChanged keeps every kind)', async () => {
  const channel = new Channel<PortfolioChangeEvent>(2, mergeChanges);
  const at = (s: number) => new Date(Date.UTC(2026, 11, 5, 12, 0, s));
  channel.push({ nodeId: 'n', kinds: ['STRUCTURE'], committedAt: at(1) });
  channel.push({ nodeId: 'n', kinds: ['POSITIONS'], committedAt: at(2) });
  channel.push({ nodeId: 'n', kinds: ['VALUATIONS', 'POSITIONS'], committedAt: at(3) });
  expect(await take(channel, 2)).toEqual([
    { nodeId: 'n', kinds: ['POSITIONS', 'STRUCTURE'], committedAt: at(2) },
    { nodeId: 'n', kinds: ['VALUATIONS', 'POSITIONS'], committedAt: at(3) },
  ]);
});
