// Handing one event to thousands of subscribers: each push resumes a
// subscription (graphql-js resolves the event, graphql-ws serialises and sends
// it) in the microtasks that follow, so one loop over every subscriber would
// hold the event loop for all of them at once, delaying the database listener,
// HTTP requests and other groups' events. Here the loop yields to the event
// loop (setImmediate) after every `chunk` subscribers.

/** Calls `fn` on each item, letting the event loop run between chunks of `chunk` items. */
export async function fanOut<T>(items: readonly T[], fn: (item: T) => void, chunk = 64): Promise<void> {
  for (let i = 0; i < items.length; i++) {
    fn(items[i] as T);
    if ((i + 1) % chunk === 0 && i + 1 < items.length) await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** At most `limit` tasks at once; the others wait their turn, first come first served. */
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next(); // the slot passes to the next task
      else this.active--;
    }
  }
}
