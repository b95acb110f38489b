// Bad input to the concurrency recipes (Go's concurrency package and its experimental/recipe
// package: barrier, doubleBarrier, workQueue, priorityQueue, rwMutex) and to watch is refused with
// an InvalidArgumentError before anything is sent (issue 22, item 12).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { barrier } from '../../src/concurrency/barrier.ts';
import { doubleBarrier } from '../../src/concurrency/double-barrier.ts';
import { election, stm } from '../../src/concurrency/index.ts';
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
    return new Response('{"header":{"revision":"1"},"ID":"7","TTL":"60"}');
  };
  return { etcd: new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch }), sent };
}

const isInvalid = (pattern: RegExp) => (error: unknown) =>
  error instanceof InvalidArgumentError && pattern.test(error.message);

describe('recipe and watch input, refused before sending', () => {
  for (const [name, value] of [
    ['a number', 5],
    ['null', null],
    ['an object', {}],
    ['undefined', undefined],
  ] as const) {
    test(`campaign with ${name} as its value sends no request`, async () => {
      const { etcd, sent } = counting();
      try {
        await assert.rejects(election(etcd, 'e').campaign(value as never), isInvalid(/value/));
        assert.deepEqual(sent, []);
      } finally {
        await etcd.close();
      }
    });
  }

  for (const [name, prefetch] of [
    ['a string', 'a'],
    ['a number', 5],
    ['an array holding a number', ['a', 5]],
    ['null', null],
  ] as const) {
    test(`stm with prefetch ${name} is an InvalidArgumentError, not a TypeError, and sends nothing`, async () => {
      const { etcd, sent } = counting();
      try {
        await assert.rejects(
          stm(etcd, () => undefined, { prefetch: prefetch as never }),
          isInvalid(/prefetch/),
        );
        assert.deepEqual(sent, []);
      } finally {
        await etcd.close();
      }
    });
  }

  for (const [name, filters] of [
    ['a string', 'x'],
    ['an array', ['NOPUT']],
    ['null', null],
    ['noPut a string', { noPut: 'yes' }],
    ['an unknown filter', { noPatch: true }],
  ] as const) {
    test(`watch with filters ${name} is refused`, async () => {
      const { etcd, sent } = counting();
      try {
        assert.throws(() => etcd.watch({ key: 'k', filters: filters as never }), isInvalid(/filters/));
        await new Promise((r) => setTimeout(r, 20));
        assert.deepEqual(sent, []);
      } finally {
        await etcd.close();
      }
    });
  }

  test('valid filters and prefetch are still accepted', async () => {
    const { etcd } = counting();
    try {
      const watch = etcd.watch({ key: 'k', filters: { noPut: true, noDelete: false } });
      watch.close();
      const watch2 = etcd.watch({ key: 'k', filters: {} });
      watch2.close();
    } finally {
      await etcd.close();
    }
  });
});

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
