// A TCP proxy that hands each new connection to the next live backend in turn, as a load balancer
// in front of several relay processes does. A backend that refuses a connection is dead from then
// on; a backend that goes away takes its connections with it (their clients see a broken stream).
// `delayMs` holds each new connection that long before it is handed on.
import { connect, createServer, type Socket } from 'node:net';

export interface RoundRobinProxy {
  readonly port: number;
  /** Milliseconds each new connection waits before it reaches a backend. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(backends: number[]): Promise<RoundRobinProxy> {
  const dead = new Set<number>();
  const sockets = new Set<Socket>();
  let cursor = 0;
  const next = (): number | undefined => {
    for (let tried = 0; tried < backends.length; tried++) {
      const port = backends[cursor++ % backends.length]!;
      if (!dead.has(port)) return port;
    }
    return undefined;
  };
  const hand = (client: Socket, attempts: number) => {
    const port = next();
    if (port === undefined || attempts > backends.length || client.destroyed) return void client.destroy();
    const upstream = connect(port, '127.0.0.1');
    sockets.add(upstream);
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    // 'close' follows every error.
    upstream.on('error', () => {});
    upstream.once('close', () => {
      sockets.delete(upstream);
      if (connected) return void client.destroy();
      dead.add(port);
      hand(client, attempts + 1);
    });
    client.once('close', () => upstream.destroy());
  };
  const proxy: { delayMs: number } = { delayMs: 0 };
  const server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => {});
    client.pause();
    setTimeout(() => hand(client, 0), proxy.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(proxy, {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  });
}
