// relayWatchNode (the lean node:http path) keeps relayWatch's bounds: a client that stops reading
// holds at most maxBufferedBytes (2 MiB) in the relay (what the socket and its kernel buffers hold beside),
// the relay parks and resumes it, and it then gets every event once, in order. Against a real etcd.
import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage } from 'node:http';
import { after, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { RelayPool, relayWatchNode } from 'etcd-fetch/relay';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { liveArrayBuffers, sleep } from './relay-helpers.ts';

const etcdUnderTest = useEtcd();
const VALUE = 'x'.repeat(30 * 1024);
const MiB = 1024 * 1024;
const COUNT = 600; // 18 MiB of values, several times what the socket's buffers hold
const BOUND = 2 * MiB;
const clients: Etcd[] = [];
after(async () => {
  for (const etcd of clients) await etcd.close();
});

test('relayWatchNode: a client that stops reading holds at most maxBufferedBytes (2 MiB), then gets every event once, in order', async () => {
  const etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
  const writer = new Etcd({ endpoints: etcdUnderTest.endpoint });
  clients.push(etcd, writer);
  const prefix = uniquePrefix('relay-node-slow');
  const pool = new RelayPool();
  const server = createServer(
    (request, response) => void relayWatchNode(etcd, request, response, { prefix }, { pool, maxBufferedBytes: BOUND }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const response = await new Promise<IncomingMessage>((resolve) => get(`http://127.0.0.1:${port}/events`, resolve));
  try {
    assert.equal(response.headers['content-type'], 'text/event-stream; charset=utf-8');
    response.setEncoding('utf8');
    // Only the keys are kept, read as the messages arrive.
    let tail = '';
    let ready = false;
    const keys: string[] = [];
    response.on('data', (chunk: string) => {
      const messages = (tail + chunk).split('\n\n');
      tail = messages.pop()!;
      for (const message of messages) {
        if (message.includes('event: ready')) ready = true;
        const key = /"key":"([^"]+)"/.exec(message)?.[1];
        if (key !== undefined) keys.push(key);
      }
    });
    while (!ready) await sleep(20);
    response.pause();
    const before = liveArrayBuffers();
    let most = 0;
    const writing = (async () => {
      for (let i = 0; i < COUNT; i += 16) {
        const batch = [];
        for (let j = i; j < Math.min(COUNT, i + 16); j++)
          batch.push(writer.put(`${prefix}${String(j).padStart(5, '0')}`, VALUE));
        await Promise.all(batch);
        most = Math.max(most, pool.bufferedBytes);
      }
    })();
    await writing;
    await sleep(500);
    most = Math.max(most, pool.bufferedBytes);
    const grown = liveArrayBuffers() - before;
    assert.ok(most <= BOUND + 64 * 1024, `the client held ${most} bytes in the relay`);
    // It did fill up (the socket's buffers took the rest): the bound, not the kernel, stopped it.
    assert.ok(most > BOUND / 2, `the client held only ${most} bytes: the test wrote too little to reach the bound`);
    assert.ok(
      grown < 30 * MiB,
      `array buffers grew by ${(grown / MiB).toFixed(1)} MiB for a client that reads nothing`,
    );

    // The client reads again: every event once, in order, though the relay parked and resumed it.
    response.resume();
    for (const deadline = Date.now() + 30_000; keys.length < COUNT && Date.now() < deadline; ) await sleep(50);
    // Puts of one tick may share a revision (write batching): compared as a set, whose size says none repeated.
    assert.deepEqual(
      keys.sort(),
      Array.from({ length: COUNT }, (_, j) => `${prefix}${String(j).padStart(5, '0')}`),
    );
    assert.ok(pool.bufferedBytes <= BOUND + 64 * 1024);
  } finally {
    response.destroy();
    server.closeAllConnections();
    server.close();
  }
});
