// A stream of values pushed by event handlers and pulled by a subscription
// (graphql-js iterates it, graphql-ws sends each result).
//
// Not an async generator, on purpose: a generator waiting at an `await` for
// its next event runs its `finally` (the unsubscribe) only once that await
// settles, so a client that leaves while no event comes would keep its
// listener for ever. Here return() - called by graphql-ws when the client
// completes the operation or the socket closes - settles a pending next() at
// once and runs the cleanups.
//
// The queue is bounded: when a client reads slower than events come, the
// oldest queued value is dropped (every stream here is "the latest state" or
// "refetch now", where a newer value makes an older one moot), or, with a
// `merge` function, folded into the next one (so a "refetch" event keeps
// every kind of change it stands for).

export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiter: { resolve: (result: IteratorResult<T>) => void; reject: (error: unknown) => void } | null = null;
  private ending = false;
  private failure: { error: unknown } | null = null;
  private finished = false;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly maxQueued = 100,
    /** Folds a value about to be dropped from a full queue into the value queued after it. */
    private readonly merge?: (older: T, newer: T) => T,
  ) {}

  /** True once the stream is over for its reader (ended, failed or returned): pushes are ignored. */
  get closed(): boolean {
    return this.finished || this.ending || this.failure !== null;
  }

  /** Runs `cleanup` once when the stream is over (at once if it already is). */
  onClose(cleanup: () => void): void {
    if (this.closed) cleanup();
    else this.cleanups.push(cleanup);
  }

  push(value: T): void {
    if (this.closed) return;
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = null;
      resolve({ value, done: false });
      return;
    }
    this.queue.push(value);
    if (this.queue.length > this.maxQueued) {
      const dropped = this.queue.shift() as T;
      if (this.merge) this.queue[0] = this.merge(dropped, this.queue[0] as T);
    }
  }

  /** Ends the stream after the values already queued. */
  end(): void {
    if (this.closed) return;
    this.ending = true;
    this.release();
    if (this.waiter && this.queue.length === 0) this.finish();
  }

  /** Ends the stream with an error, after the values already queued. */
  fail(error: unknown): void {
    if (this.closed) return;
    this.failure = { error };
    this.release();
    if (this.waiter && this.queue.length === 0) {
      const { reject } = this.waiter;
      this.waiter = null;
      this.finished = true;
      reject(error);
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift() as T, done: false });
    if (this.finished || this.ending) {
      this.finished = true;
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.failure) {
      this.finished = true;
      return Promise.reject(this.failure.error);
    }
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** The reader leaves: drop what is queued, settle a pending next(), clean up. */
  return(): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.finish();
    this.release();
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error: unknown): Promise<IteratorResult<T>> {
    this.queue.length = 0;
    this.finish();
    this.release();
    return Promise.reject(error);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finish(): void {
    this.finished = true;
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = null;
      resolve({ value: undefined, done: true });
    }
  }

  private release(): void {
    for (const cleanup of this.cleanups.splice(0)) {
      try {
        cleanup();
      } catch {
        // a failing cleanup must not keep the others from running
      }
    }
  }
}
