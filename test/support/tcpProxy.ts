// A loopback TCP proxy between the service's pool and a PostgreSQL server,
// with switchable faults:
//   pass            forward as is
//   { delayMs }     forward every chunk, in order, delayMs later (a slow network)
//   stall           accept, never forward: new connections never reach the
//                   server, open ones stop moving (a hung server or a dead
//                   route); held bytes flow again, in order, when the mode
//                   changes back
//   refuse          reset every open connection and every new one (the server is gone)
// The mode applies to open connections as well as new ones.
import { createServer, connect, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'stall' | 'refuse' | { delayMs: number };

export interface TcpProxy {
  port: number;
  mode(): ProxyMode;
  setMode(mode: ProxyMode): void;
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

/** One direction of a connection: chunks leave in order, each no earlier than its due time. */
class Pipe {
  private queue: { data: Buffer; due: number }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly to: () => Socket | null,
    private readonly proxy: { current: ProxyMode },
  ) {}

  push(data: Buffer): void {
    const mode = this.proxy.current;
    this.queue.push({ data, due: Date.now() + (typeof mode === 'object' ? mode.delayMs : 0) });
    this.pump();
  }

  pump(): void {
    if (this.timer) return;
    const target = this.to();
    if (!target || this.proxy.current === 'stall') return;
    while (this.queue.length > 0) {
      const wait = this.queue[0]!.due - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = null;
          this.pump();
        }, wait);
        return;
      }
      target.write(this.queue.shift()!.data);
    }
  }

  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
  }
}

interface Link {
  client: Socket;
  upstream: Socket | null;
  toServer: Pipe;
  toClient: Pipe;
}

export async function startTcpProxy(target: { host?: string; port: number }, initial: ProxyMode = 'pass'): Promise<TcpProxy> {
  const state = { current: initial };
  const links = new Set<Link>();
  let accepted = 0;

  const drop = (link: Link) => {
    link.toServer.clear();
    link.toClient.clear();
    link.client.resetAndDestroy();
    link.upstream?.destroy();
    links.delete(link);
  };

  const openUpstream = (link: Link) => {
    const upstream = connect(target.port, target.host ?? '127.0.0.1');
    link.upstream = upstream;
    upstream.on('data', (data) => link.toClient.push(data));
    upstream.on('connect', () => link.toServer.pump());
    upstream.on('error', () => drop(link));
    upstream.on('close', () => drop(link));
  };

  const server: Server = createServer((client) => {
    accepted++;
    if (state.current === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, upstream: null, toServer: null as never, toClient: null as never };
    link.toServer = new Pipe(() => (link.upstream && !link.upstream.connecting ? link.upstream : null), state);
    link.toClient = new Pipe(() => link.client, state);
    links.add(link);
    client.on('data', (data) => link.toServer.push(data));
    client.on('error', () => drop(link));
    client.on('close', () => drop(link));
    // A stalled proxy accepts but does not even dial the server.
    if (state.current !== 'stall') openUpstream(link);
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));

  return {
    port: (server.address() as { port: number }).port,
    mode: () => state.current,
    setMode(mode) {
      state.current = mode;
      for (const link of [...links]) {
        if (mode === 'refuse') drop(link);
        else if (mode !== 'stall') {
          if (!link.upstream) openUpstream(link);
          link.toServer.pump();
          link.toClient.pump();
        }
      }
    },
    accepted: () => accepted,
    close: async () => {
      for (const link of [...links]) drop(link);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
