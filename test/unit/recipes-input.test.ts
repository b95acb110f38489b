// Bad input to the recipes of Go's experimental/recipe package (barrier, doubleBarrier, workQueue,
// priorityQueue, rwMutex) is refused with an InvalidArgumentError before anything is sent.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { barrier } from '../../src/concurrency/barrier.ts';
import { doubleBarrier } from '../../src/concurrency/double-barrier.ts';
import { priorityQueue } from '../../src/concurrency/priority-queue.ts';
import { rwMutex } from '../../src/concurrency/rw-mutex.ts';
import { workQueue } from '../../src/concurrency/work-queue.ts';
import type { FetchLike } from '../../src/core/call-options.ts';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { Etcd } from '../../src/index.ts';

function counting(): { etcd: Etcd; sent: string[] } {
  const sent: string[] = [];
  const fetch: FetchLike = async (request) => {
    sent.push(new URL(request.url).pathname);
    return new Response('{"header":{"revision":"1"}}');
  };
  return { etcd: new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch }), sent };
}

const isInvalid = (pattern: RegExp) => (error: unknown) =>
  error instanceof InvalidArgumentError && pattern.test(error.message);

describe('recipe input, refused before sending', () => {
  for (const [name, make] of [
    ['barrier', (etcd: Etcd, n: unknown) => barrier(etcd, n as string)],
    ['double barrier', (etcd: Etcd, n: unknown) => doubleBarrier(etcd, n as string, 2)],
    ['work queue', (etcd: Etcd, n: unknown) => workQueue(etcd, n as string)],
    ['priority queue', (etcd: Etcd, n: unknown) => priorityQueue(etcd, n as string)],
    ['rw mutex', (etcd: Etcd, n: unknown) => rwMutex(etcd, n as string)],
  ] as const) {
    test(`a ${name} with an empty name, or one that is no string nor bytes, is refused`, () => {
      const { etcd, sent } = counting();
      try {
        assert.throws(() => make(etcd, ''), isInvalid(/must not be empty/));
        assert.throws(() => make(etcd, new Uint8Array()), isInvalid(/must not be empty/));
        assert.throws(() => make(etcd, 5), isInvalid(/name must be a string or a Uint8Array/));
        assert.deepEqual(sent, []);
      } finally {
        etcd.close();
      }
    });
  }

  test('a double barrier for no one is refused', () => {
    const { etcd, sent } = counting();
    try {
      for (const count of [0, -1, 1.5, Number.NaN])
        assert.throws(() => doubleBarrier(etcd, 'b', count), isInvalid(/count must be a positive integer/));
      assert.deepEqual(sent, []);
    } finally {
      etcd.close();
    }
  });

  test('a priority outside 0..65535 sends no request', async () => {
    const { etcd, sent } = counting();
    try {
      for (const priority of [-1, 65536, 0.5, Number.NaN, '1' as unknown as number])
        await assert.rejects(priorityQueue(etcd, 'q').enqueue('v', priority), isInvalid(/priority must be/));
      assert.deepEqual(sent, []);
    } finally {
      etcd.close();
    }
  });
});
