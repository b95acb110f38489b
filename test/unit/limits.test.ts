// Durations beyond what a timer can wait (2^31 - 1 ms) are clamped in one place
// (src/core/timers.ts): a huge deadline does not fire at once, a huge lease TTL does not spin the
// keep-alive loop, an endless stall timeout does not make a watch reopen.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FetchLike } from '../../src/core/call-options.ts';
import { Etcd } from '../../src/index.ts';

const HEADER = '{"cluster_id":"1","member_id":"2","revision":"7","raft_term":"2"}';

function counting(answer: (path: string) => Response | Promise<Response>) {
  const paths: string[] = [];
  const fetch: FetchLike = async (request) => {
    const path = new URL(request.url).pathname;
    paths.push(path);
    return answer(path);
  };
  return { paths, fetch };
}

describe('durations past 2^31 - 1 ms', () => {
  test('a call with a timeout of 3e9 ms waits for its answer instead of timing out at once', async () => {
    const { fetch } = counting(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      return new Response(`{"header":${HEADER}}`);
    });
    const etcd = new Etcd({ endpoints: 'http://127.0.0.1:1', fetch, timeout: 3e9 });
    const put = await etcd.put('k', 'v', { timeout: 3e9 });
    assert.equal(put.revision, 7);
    assert.equal((await etcd.get('k')) ?? 'none', 'none');
  });

  test('a lease with a TTL of 9,000,000 s is granted and not refreshed in a loop', async (t) => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    t.after(() => process.off('warning', onWarning));
    const { paths, fetch } = counting((path) =>
      path === '/v3/lease/grant'
        ? new Response(`{"header":${HEADER},"ID":"99","TTL":"9000000"}`)
        : new Response(`{"header":${HEADER}}`),
    );
    await using etcd = new Etcd({ endpoints: 'http://127.0.0.1:1', fetch });
    const lease = await etcd.grant(9_000_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(lease.isLost, false);
    assert.deepEqual(paths, ['/v3/lease/grant'], 'no keep-alive is due for weeks');
    assert.deepEqual(
      warnings.filter((w) => w === 'TimeoutOverflowWarning'),
      [],
    );
  });

  test('a watch with stallTimeout Infinity or 3e9 opens its stream once', async () => {
    for (const stallTimeout of [Number.POSITIVE_INFINITY, 3e9]) {
      let opened = 0;
      const fetch: FetchLike = async (request) => {
        opened++;
        // Each create request's client-chosen watch_id is echoed in its `created` answer.
        const ids = [...(await request.text()).matchAll(/"watch_id":"?(\d+)/g)].map((m) => m[1]);
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            for (const id of ids)
              controller.enqueue(
                new TextEncoder().encode(`{"result":{"header":${HEADER},"watch_id":"${id}","created":true}}\n`),
              );
            request.signal.addEventListener('abort', () => controller.error(request.signal.reason), { once: true });
          },
        });
        return new Response(body);
      };
      await using etcd = new Etcd({ endpoints: 'http://127.0.0.1:1', fetch });
      const controller = new AbortController();
      const watch = etcd.watch({ prefix: 'a/', progressNotify: true, stallTimeout, signal: controller.signal });
      await watch.ready;
      await new Promise((resolve) => setTimeout(resolve, 300));
      controller.abort();
      assert.equal(opened, 1, `stallTimeout ${stallTimeout}: opened ${opened} streams`);
    }
  });
});
