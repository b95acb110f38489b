// Issue 22, item 4: an answer compressed with gzip is bounded by its DECODED size, whatever its
// Content-Length says. The fault proxy answers a real etcd's range with a small gzip body that
// inflates to 64 MiB; the client, bounded at 1 MiB, refuses it after reading little of it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd, type FetchLike, MalformedResponseError } from 'etcd-fetch';
import { useEtcd } from '../helpers/etcd.ts';
import { type FaultProxy, faultOnce, startFaultProxy } from '../helpers/fault-proxy.ts';

const etcd = useEtcd();
const BOUND = 1024 * 1024;
const INFLATED = 64 * 1024 * 1024;
let proxy: FaultProxy;
const clients: Etcd[] = [];

/** A fetch that counts the decoded body bytes the client pulls from each answer. */
function countingFetch(counts: number[]): FetchLike {
  return async (request, init) => {
    const response = await fetch(request, init);
    if (!response.body) return response;
    const index = counts.push(0) - 1;
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          counts[index]! += chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

function client(fetch?: FetchLike): Etcd {
  const made = new Etcd({ endpoints: proxy.endpoint, maxResponseBytes: BOUND, timeout: 20_000, fetch });
  clients.push(made);
  return made;
}

describe('a gzip bomb is bounded by decoded bytes', () => {
  before(async () => {
    proxy = await startFaultProxy({ upstream: etcd.upstream });
  });
  after(async () => {
    for (const made of clients) made.close();
    await proxy?.close();
  });

  for (const contentLength of [true, false]) {
    const withLength = contentLength ? 'with' : 'without';
    test(`a 64 MiB gzip bomb ${withLength} Content-Length is refused by a 1 MiB maxResponseBytes after reading at most 2 MiB of it`, async (t) => {
      const counts: number[] = [];
      proxy.fault = faultOnce((r) => r.path.startsWith('/v3/kv/'), {
        kind: 'gzipBomb',
        inflatedBytes: INFLATED,
        contentLength,
      });
      const error = await client(countingFetch(counts))
        .get('bomb')
        .then(
          () => undefined,
          (caught: unknown) => caught,
        );
      assert.equal(proxy.requests.at(-1)?.fault, 'gzipBomb');
      assert.ok(error instanceof MalformedResponseError, `a MalformedResponseError, got ${String(error)}`);
      assert.match(error.message, /maxResponseBytes/);
      const read = counts.at(-1)!;
      t.diagnostic(`read ${read} decoded bytes of ${INFLATED}`);
      assert.ok(read <= 2 * BOUND, `read ${read} decoded bytes of ${INFLATED}`);
    });

    test(`a write answered by a gzip bomb ${withLength} Content-Length fails typed, with the runtime's own fetch`, async (t) => {
      proxy.fault = faultOnce((r) => r.path.startsWith('/v3/kv/'), {
        kind: 'gzipBomb',
        inflatedBytes: INFLATED,
        contentLength,
      });
      const before = process.memoryUsage();
      await assert.rejects(
        client().put('bomb', 'v'),
        (error: unknown) => error instanceof MalformedResponseError && /maxResponseBytes/.test(error.message),
      );
      const grown = process.memoryUsage().arrayBuffers - before.arrayBuffers;
      t.diagnostic(`array buffers grew by ${grown} bytes`);
      assert.ok(grown < 32 * 1024 * 1024, `array buffers grew by ${grown} bytes`);
    });
  }
});
