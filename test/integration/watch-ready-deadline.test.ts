// `watch.ready` has a deadline: a watcher etcd never creates ends with TimeoutError, never hangs.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Etcd, TimeoutError } from 'etcd-fetch';

let server: Server;
let endpoint = '';

before(async () => {
  // Reads the request and never answers (a hung member, or a stream another request owns).
  server = createServer((request) => request.resume());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('the deadline of watch.ready', () => {
  test('a watcher never created ends with TimeoutError at readyTimeout: ready rejects and iteration throws', async () => {
    const etcd = new Etcd({ endpoints: endpoint });
    const watch = etcd.watch({ key: 'k', readyTimeout: 1_000 });
    const started = performance.now();
    try {
      const outcome = await Promise.race([
        watch.ready.then(
          () => 'ready',
          (error: unknown) => error,
        ),
        new Promise((r) => setTimeout(() => r('hung'), 15_000)),
      ]);
      assert.ok(outcome instanceof TimeoutError, `TimeoutError, got ${String(outcome)}`);
      // Advice about edge workers only in one (issue 22, item 14): this is Node.
      assert.match(outcome.message, /did not create the watcher within 1000 ms/);
      assert.doesNotMatch(outcome.message, /edge worker|create the client in the request/);
      assert.ok(performance.now() - started < 10_000);
      await assert.rejects(watch[Symbol.asyncIterator]().next(), TimeoutError);
    } finally {
      watch.close();
      etcd.close();
    }
  });

  test("by default ready's deadline is the client's timeout", async () => {
    const etcd = new Etcd({ endpoints: endpoint, timeout: 800 });
    const watch = etcd.watch({ key: 'k' });
    try {
      const outcome = await Promise.race([
        watch.ready.then(
          () => 'ready',
          (error: unknown) => error,
        ),
        new Promise((r) => setTimeout(() => r('hung'), 15_000)),
      ]);
      assert.ok(outcome instanceof TimeoutError, `TimeoutError, got ${String(outcome)}`);
    } finally {
      watch.close();
      etcd.close();
    }
  });
});
