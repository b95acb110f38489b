// The Durable Object relay example (examples/cloudflare-durable-relay) run in workerd against a
// real etcd: 200 subscribers of one topic, routed to that topic's Durable Object, share ONE
// upstream watch, and each gets every event once, in order. The watch streams are counted by a
// proxy in front of etcd that passes everything through.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { freePort } from '../../scripts/etcd.ts';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { exampleCopy } from '../helpers/example.ts';
import { type SseMessage, SseReader, sleep } from './relay-helpers.ts';

const root = resolve(import.meta.dirname, '../..');
const etcdUnderTest = useEtcd();
const SUBSCRIBERS = 200;

/** A pass-through proxy to etcd that records the body of every watch stream opened through it. */
async function observingProxy(
  upstream: string,
): Promise<{ endpoint: string; watchBodies: string[]; close(): Promise<void> }> {
  const target = new URL(upstream);
  const watchBodies: string[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      if (incoming.url === '/v3/watch') watchBodies.push(body.toString());
      const forward = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: incoming.method,
          path: incoming.url,
          headers: incoming.headers,
        },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forward.on('error', () => outgoing.destroy());
      outgoing.on('close', () => forward.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    watchBodies,
    close: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}

async function startExample(
  port: number,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; log: () => string }> {
  // As a user runs it: a copy of the example with the packed package in its node_modules.
  const child = spawn(
    resolve(root, 'node_modules/.bin/workerd'),
    ['serve', 'workerd.capnp', '--socket-addr', `http=127.0.0.1:${port}`],
    {
      cwd: exampleCopy('cloudflare-durable-relay'),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  child.stderr!.on('data', (data) => (log += data));
  for (let attempt = 0; attempt < 100; attempt++) {
    const up = await fetch(`http://127.0.0.1:${port}/nothing`).then(
      (r) => r.status === 404,
      () => false,
    );
    if (up) return { child, log: () => log };
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`workerd did not start:\n${log}`);
}

const creates = (body: string) => body.split('\n').filter((line) => line.includes('"create_request"')).length;

describe('Durable Object relay example in workerd', () => {
  let writerClient: Etcd | undefined;
  const writer = () => (writerClient ??= new Etcd({ endpoints: etcdUnderTest.endpoint }));
  after(() => writerClient?.close());

  test(`${SUBSCRIBERS} subscribers of a topic share one upstream watch; each gets every event once, in order; another topic has its own`, {
    timeout: 180_000,
  }, async () => {
    const proxy = await observingProxy(etcdUnderTest.endpoint);
    const prefix = uniquePrefix('relay-do');
    const port = await freePort();
    const readers: SseReader[] = [];
    let relay: Awaited<ReturnType<typeof startExample>> | undefined;
    try {
      relay = await startExample(port, {
        ETCD_ENDPOINT: proxy.endpoint,
        WATCH_PREFIX: prefix,
        ALLOW_ORIGIN: 'https://app.example',
        RELAY_SECRET: 'a secret of at least thirty-two characters',
      });
      const { log } = relay;
      const open = async (topic: string) => {
        const response = await fetch(`http://127.0.0.1:${port}/events/${topic}`);
        assert.equal(response.status, 200);
        assert.equal(response.headers.get('access-control-allow-origin'), 'https://app.example');
        const sse = new SseReader(response.body);
        readers.push(sse);
        return sse;
      };
      const news = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => open('news')));
      const sports = await Promise.all([open('sports'), open('sports')]);
      for (const sse of [...news, ...sports])
        assert.equal((await sse.until('ready', 30_000)).at(-1)?.event, 'ready', log());

      const keys = Array.from({ length: 20 }, (_, i) => `${prefix}news/k${String(i).padStart(2, '0')}`);
      for (const key of keys) await writer().put(key, 'v');
      await writer().put(`${prefix}sports/goal`, '1');
      const puts = async (sse: SseReader, count: number) => {
        const seen: SseMessage[] = [];
        while (seen.length < count) {
          const message = await sse.next(30_000);
          assert.ok(message, `a stream ended early\n${log()}`);
          assert.notEqual(message.event, 'error', message.data);
          if (message.event === 'put') seen.push(message);
        }
        return seen;
      };
      const expectedIds = (await puts(news[0]!, keys.length)).map((m) => m.id);
      for (const sse of news) {
        const seen = sse === news[0] ? undefined : await puts(sse, keys.length);
        if (seen) {
          assert.deepEqual(
            seen.map((m) => JSON.parse(m.data).kv.key),
            keys,
          );
          assert.deepEqual(
            seen.map((m) => m.id),
            expectedIds,
          );
        }
      }
      for (const sse of sports)
        assert.deepEqual(
          (await puts(sse, 1)).map((m) => JSON.parse(m.data).kv.key),
          [`${prefix}sports/goal`],
        );
      // A duplicate would have arrived by now.
      await writer().put(`${prefix}news/last`, 'v');
      for (const sse of news)
        assert.deepEqual(
          (await puts(sse, 1)).map((m) => JSON.parse(m.data).kv.key),
          [`${prefix}news/last`],
        );

      // One watch stream per topic (each Durable Object has its own client), each with one watcher.
      assert.deepEqual(proxy.watchBodies.map(creates), [1, 1], `${proxy.watchBodies.length} watch streams opened`);
    } finally {
      // Also when workerd did not start: the proxy must not keep the file's process alive.
      for (const sse of readers) await sse.reader.cancel().catch(() => {});
      relay?.child.kill('SIGKILL');
      await proxy.close();
    }
  });
});
