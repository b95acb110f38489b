// Bad input to the concurrency recipes and to watch is refused with an InvalidArgumentError
// before anything is sent (issue 22, item 12).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { election, stm } from '../../src/concurrency/index.ts';
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
