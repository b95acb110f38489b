// relayWatchNode never rejects: whatever a request carries (a Host header no URL takes, a path that
// is no URL) and whatever the caller's `authorize` does, the answer is written and the promise
// resolves, so `void relayWatchNode(...)` in a node:http server cannot crash the process.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { WatchOptions } from '../../src/index.ts';
import { relayWatchNode } from '../../src/relay/relay-node.ts';

/** A node:http answer that records what was written. */
function recordedResponse() {
  const written = { status: 0, body: '', destroyed: false };
  const response = {
    writeHead: (status: number) => {
      written.status = status;
    },
    write: (chunk: Uint8Array) => {
      written.body += new TextDecoder().decode(chunk);
      return true;
    },
    end: (chunk?: Uint8Array) => {
      if (chunk) written.body += new TextDecoder().decode(chunk);
    },
    destroy: () => {
      written.destroyed = true;
    },
    on: () => response,
  };
  return { response, written };
}

/** No watch is opened by these requests: each is refused first. */
const etcd = {
  watch(_options: WatchOptions): never {
    throw new Error('no watch should be opened');
  },
};

describe('relayWatchNode never rejects', () => {
  for (const [what, headers, url] of [
    ['a Host header no URL takes', { host: '[' }, '/events'],
    ['a Host header with a space', { host: 'a b' }, '/events?lastEventId=x'],
    ['a path that is an absolute URL no parser takes', { host: 'relay' }, 'http://['],
  ] as const) {
    test(`${what}: the bad selector is answered with a 400`, async () => {
      const { response, written } = recordedResponse();
      await relayWatchNode(etcd as never, { url, method: 'GET', headers }, response, { prefix: 42 } as never);
      assert.equal(written.status, 400);
      assert.match(written.body, /InvalidArgumentError/);
    });
  }

  test('an authorize that throws: a 500 naming the error, and the promise resolves', async () => {
    const { response, written } = recordedResponse();
    await relayWatchNode(
      etcd as never,
      { url: '/events', method: 'GET', headers: { host: 'relay' } },
      response,
      { prefix: 'a/' },
      {
        authorize: () => {
          throw new TypeError('session store down');
        },
      },
    );
    assert.equal(written.status, 500);
    assert.deepEqual(JSON.parse(written.body), { error: { name: 'TypeError', message: 'session store down' } });
  });
});
