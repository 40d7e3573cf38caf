// PeekableLoader: a DataLoader whose settled values a resolver can read without a promise.
import { PeekableLoader } from '../../src/loaders/keyed';

function loader() {
  const batches: string[][] = [];
  let version = 1;
  const l = new PeekableLoader<string, string>(async (keys) => {
    batches.push([...keys]);
    const v = version;
    await new Promise((resolve) => setTimeout(resolve, 5));
    return keys.map((k) => (k === 'bad' ? new Error('no bad') : `${k}@${v}`));
  });
  return { l, batches, bump: () => version++ };
}

it('answers loaded and primed values synchronously, and a promise for the rest', async () => {
  const { l, batches } = loader();
  expect(l.peek('a')).toBeUndefined();
  const pending = l.get('a');
  expect(pending).toBeInstanceOf(Promise);
  expect(await pending).toBe('a@1');
  expect(l.get('a')).toBe('a@1');
  l.prime('b', 'primed');
  expect(l.get('b')).toBe('primed');
  // load and loadMany answer a primed key too, without a batch; a second prime does not overwrite.
  l.prime('b', 'other');
  expect(await l.load('b')).toBe('primed');
  expect(await l.loadMany(['b', 'a'])).toEqual(['primed', 'a@1']);
  expect(batches).toEqual([['a']]);
  // An error is not remembered as a value.
  await expect(l.load('bad')).rejects.toThrow('no bad');
  expect(l.peek('bad')).toBeUndefined();
});

it('forgets a cleared key, also when it was cleared while its batch ran', async () => {
  const { l, bump } = loader();
  await l.load('a');
  l.clear('a');
  expect(l.peek('a')).toBeUndefined();
  bump();
  const inFlight = l.load('a');
  await new Promise((resolve) => setImmediate(resolve)); // the batch has started
  l.clear('a').prime('a', 'fresh');
  expect(await inFlight).toBe('a@2');
  expect(l.peek('a')).toBe('fresh'); // not overwritten by the stale batch
  const again = l.load('c');
  await new Promise((resolve) => setImmediate(resolve));
  l.clearAll();
  await again;
  expect(l.peek('c')).toBeUndefined();
  expect(l.peek('a')).toBeUndefined();
  // A key loaded after a clear is remembered again.
  expect(await l.load('c')).toBe('c@2');
  expect(l.peek('c')).toBe('c@2');
});

it('settles many keys in one batch, only those not known, so that get answers them without a promise', async () => {
  const { l, batches, bump } = loader();
  l.prime('known', 'primed');
  await l.settle(['x', 'y', 'x', 'known', 'bad']);
  expect(batches).toEqual([['x', 'y', 'bad']]);
  expect(l.get('x')).toBe('x@1');
  expect(l.get('y')).toBe('y@1');
  expect(l.get('known')).toBe('primed');
  // A key that failed is not kept: its own load reads it again and reports the error there.
  expect(l.peek('bad')).toBeUndefined();
  await expect(l.get('bad')).rejects.toThrow('no bad');
  // Nothing left to read: no batch; a key cleared while a settle ran keeps no stale value.
  await l.settle(['x', 'known']);
  expect(batches).toHaveLength(2);
  bump();
  const running = l.settle(['z']);
  await new Promise((resolve) => setImmediate(resolve));
  l.clear('z');
  await running;
  expect(l.peek('z')).toBeUndefined();
  // A batch that throws leaves every key to its own load.
  const failing = new PeekableLoader<string, string>(async () => { throw new Error('down'); });
  await expect(failing.settle(['a'])).resolves.toBeUndefined();
  expect(failing.peek('a')).toBeUndefined();
});
