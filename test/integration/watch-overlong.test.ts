// An answer longer than a client's line limit (its maxResponseBytes) ends only the watcher it
// belongs to: the other watchers of the shared watch stream keep streaming. Against a real etcd.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Etcd, MalformedResponseError } from 'etcd-fetch';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd();
const clients: Etcd[] = [];
after(async () => {
  for (const etcd of clients) await etcd.close();
});
function client(options: ConstructorParameters<typeof Etcd>[0] = {}): Etcd {
  const etcd = new Etcd({ endpoints: etcdUnderTest.endpoint, ...options });
  clients.push(etcd);
  return etcd;
}

test('a value longer than the line limit ends the watcher of its key; a watcher of another key on the same stream keeps receiving', async () => {
  const prefix = uniquePrefix('watch-overlong');
  const limited = client({ maxResponseBytes: 64 * 1024 });
  const writer = client();
  const big = limited.watch({ key: `${prefix}big` });
  const small = limited.watch({ prefix: `${prefix}small/` });
  try {
    await Promise.all([big.ready, small.ready]);
    const events = small[Symbol.asyncIterator]();
    await writer.put(`${prefix}small/1`, 'before');
    assert.equal((await events.next()).value?.kv.valueText, 'before');
    await writer.put(`${prefix}big`, 'x'.repeat(200 * 1024));
    await assert.rejects(
      async () => {
        for await (const _ of big);
      },
      (error: unknown) => error instanceof MalformedResponseError && /exceeded 65536 characters/.test(error.message),
    );
    for (let i = 2; i <= 4; i++) {
      await writer.put(`${prefix}small/${i}`, `after ${i}`);
      // Another long answer for the ended watcher is skipped too.
      if (i === 3) await writer.put(`${prefix}big`, 'y'.repeat(200 * 1024));
      assert.equal((await events.next()).value?.kv.valueText, `after ${i}`);
    }
    assert.equal(small.reconnects, 0, 'the stream was not broken');
  } finally {
    big.close();
    small.close();
  }
});
