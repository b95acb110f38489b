// Issue 22, item 14: a wrong endpoint. A call that runs out of time after failed attempts says
// which endpoints it tried and what the last attempt hit; a watch gives advice about edge workers
// only in one; `failFast` makes a call fail at once when nothing listens at any endpoint, while by
// default a call still rides out an endpoint that starts listening before its deadline.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { Etcd, type FetchLike, TimeoutError, UnavailableError } from 'etcd-fetch';
import { useEtcd } from '../helpers/etcd.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';

const etcd = useEtcd();
const clients: Etcd[] = [];
const proxies: FaultProxy[] = [];
after(async () => {
  for (const client of clients) client.close();
  for (const proxy of proxies) await proxy.close();
});

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A fetch that counts its calls (attempts), and the client that uses it. */
function counted(options: { endpoints: string[]; timeout: number; failFast?: boolean }): {
  client: Etcd;
  attempts: () => number;
} {
  let attempts = 0;
  const fetch: FetchLike = (request, init) => {
    attempts++;
    return globalThis.fetch(request, init);
  };
  const client = new Etcd({ ...options, fetch });
  clients.push(client);
  return { client, attempts: () => attempts };
}

async function failure(call: Promise<unknown>, within: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise((resolve) => (timer = setTimeout(() => resolve('still pending'), within)));
  try {
    const outcome = await Promise.race([
      call.then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      hang,
    ]);
    assert.notEqual(outcome, 'still pending', `the call was still pending after ${within} ms`);
    assert.notEqual(outcome, 'resolved', 'the call succeeded');
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

describe('a wrong endpoint', () => {
  test('a read that times out against closed ports names the endpoints it tried and "connection refused at" the last one', async () => {
    const endpoints = [`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`];
    const client = new Etcd({ endpoints, timeout: 1_500 });
    clients.push(client);
    const error = await failure(client.get('k'), 6_000);
    assert.ok(error instanceof TimeoutError, `a TimeoutError, got ${String(error)}`);
    assert.ok(
      error.endpoint !== undefined && endpoints.includes(error.endpoint),
      `error.endpoint names one that was tried, got ${error.endpoint}`,
    );
    for (const endpoint of endpoints)
      assert.ok(error.message.includes(endpoint), `the message names ${endpoint}: ${error.message}`);
    assert.match(error.message, /connection refused.* at http:\/\/127\.0\.0\.1:\d+/);
    assert.doesNotMatch(error.message, /undefined/);
  });

  test('watch.ready against a closed port says what the last attempt hit, with no edge-worker advice outside a worker', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const client = new Etcd({ endpoints: endpoint, timeout: 1_500 });
    clients.push(client);
    const watch = client.watch({ key: 'k' });
    try {
      const error = await failure(watch.ready, 6_000);
      assert.ok(error instanceof TimeoutError, `a TimeoutError, got ${String(error)}`);
      assert.doesNotMatch(error.message, /edge worker/);
      assert.match(error.message, /connection refused/);
      assert.ok(error.message.includes(endpoint), `the message names ${endpoint}: ${error.message}`);
      assert.equal(error.endpoint, endpoint);
    } finally {
      watch.close();
    }
  });

  test('failFast: a read fails at once with an UnavailableError when every endpoint refuses the connection, one attempt each', async () => {
    const endpoints = [`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`];
    const { client, attempts } = counted({ endpoints, timeout: 60_000, failFast: true });
    const error = await failure(client.get('k'), 10_000);
    assert.ok(error instanceof UnavailableError, `an UnavailableError, got ${String(error)}`);
    assert.equal(error.mayHaveApplied, false);
    for (const endpoint of endpoints)
      assert.ok(error.message.includes(endpoint), `the message names ${endpoint}: ${error.message}`);
    assert.match(error.message, /failFast/);
    assert.equal(attempts(), 2);
  });

  test('by default a read rides out an endpoint that starts listening during the call', async () => {
    const port = await closedPort();
    const { client, attempts } = counted({ endpoints: [`http://127.0.0.1:${port}`], timeout: 20_000 });
    await client.put('k', 'v').catch(() => {});
    const reading = client.get('ride-out');
    for (let i = 0; i < 500 && attempts() < 3; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(attempts() >= 3, `the read was retried against the closed port (${attempts()} attempts)`);
    proxies.push(await startFaultProxy({ upstream: etcd.upstream, port }));
    const settled = await Promise.race([
      reading.then(
        (kv) => ({ kv }),
        (error: unknown) => ({ error }),
      ),
      new Promise((resolve) => setTimeout(() => resolve('pending'), 15_000)),
    ]);
    assert.deepEqual(settled, { kv: undefined }, 'the read succeeded once the port listened');
  });

  test('failFast still reaches an endpoint that listens: a refused one is skipped for the next', async () => {
    const proxy = await startFaultProxy({ upstream: etcd.upstream });
    proxies.push(proxy);
    const { client } = counted({
      endpoints: [`http://127.0.0.1:${await closedPort()}`, proxy.endpoint],
      timeout: 10_000,
      failFast: true,
    });
    assert.equal(await client.get('k-fail-fast'), undefined);
  });
});
