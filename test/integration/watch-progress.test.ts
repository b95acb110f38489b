import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, Etcd, TimeoutError, type WatchResponse } from 'etcd-fetch';
import { closedAfter, gatewayVersion, uniquePrefix, useEtcd, versionUnderTest } from '../helpers/etcd.ts';

// Progress notifications every 300 ms, so a watch that waits for one waits briefly. etcd 3.6 took
// the flag out of `--experimental-` (3.7 knows only the new name; 3.4 and 3.5 only the old one).
const renamed = gatewayVersion() === undefined && (versionUnderTest() === '3.6' || versionUnderTest() === '3.7');
const etcdUnderTest = useEtcd({
  ownServer: true,
  args: [renamed ? '--watch-progress-notify-interval' : '--experimental-watch-progress-notify-interval', '300ms'],
});
const client = closedAfter(() => new Etcd({ endpoints: [etcdUnderTest.endpoint] }));

describe('watch.requestProgress (learning that a watch is current up to a revision)', () => {
  test('a watch that has seen the latest revision answers with it at once', async () => {
    const etcd = client();
    const p = uniquePrefix('progress-now');
    await etcd.put(`${p}other`, 'x');
    const watch = etcd.watch({ prefix: `${p}w/` });
    await watch.ready;
    const { revision } = await etcd.range({ prefix: p }, { countOnly: true });
    assert.equal(await watch.requestProgress(), revision);
    watch.close();
  });

  test('after changes elsewhere, a progressNotify watch answers once etcd vouches for a revision at least as new', async () => {
    const etcd = client();
    const p = uniquePrefix('progress-elsewhere');
    const watch = etcd.watch({ prefix: `${p}w/`, progressNotify: true });
    await watch.ready;
    for (let i = 0; i < 5; i++) await etcd.put(`${p}other`, String(i));
    const { revision: latest } = await etcd.range({ prefix: p }, { countOnly: true });
    const current = await watch.requestProgress({ timeout: 20_000 });
    assert.ok(current >= latest, `current ${current} >= latest ${latest}`);
    assert.ok(watch.revision >= latest);
    watch.close();
  });

  test('a watch catching up on a replay answers only once every change up to the revision is delivered, in order', async () => {
    const etcd = client();
    const p = uniquePrefix('progress-replay');
    const { revision: before } = await etcd.range({ prefix: p }, { countOnly: true });
    for (let i = 0; i < 200; i++) await etcd.put(`${p}w/k`, String(i));
    await etcd.put(`${p}other`, 'last');
    const watch = etcd.watch({ prefix: `${p}w/`, startRevision: before + 1, progressNotify: true });
    const current = await watch.requestProgress({ timeout: 20_000 });
    const { revision: latest } = await etcd.range({ prefix: p }, { countOnly: true });
    assert.ok(current >= latest, `current ${current} >= latest ${latest}`);
    // Everything up to `current` is already queued: reading it needs nothing more from etcd.
    const responses: WatchResponse[] = [];
    for await (const response of watch.responses()) {
      responses.push(response);
      if (response.revision >= current) break;
    }
    const values = responses.flatMap((r) => r.events.map((e) => e.kv.valueText));
    assert.deepEqual(
      values,
      Array.from({ length: 200 }, (_, i) => String(i)),
    );
  });

  test('a change under the watch is enough, without progress notifications', async () => {
    const etcd = client();
    const p = uniquePrefix('progress-event');
    const watch = etcd.watch({ prefix: `${p}w/` });
    await watch.ready;
    await etcd.put(`${p}other`, 'x');
    await etcd.put(`${p}w/k`, 'v');
    const { revision } = await etcd.range({ prefix: p }, { countOnly: true });
    assert.equal(await watch.requestProgress({ timeout: 20_000 }), revision);
    watch.close();
  });

  test('with nothing to vouch for a newer revision it ends with TimeoutError; abort and close end it too', async () => {
    const etcd = client();
    const p = uniquePrefix('progress-none');
    const watch = etcd.watch({ prefix: `${p}w/` });
    await watch.ready;
    await etcd.put(`${p}other`, 'x');
    await assert.rejects(watch.requestProgress({ timeout: 200 }), TimeoutError);
    const controller = new AbortController();
    const aborted = watch.requestProgress({ signal: controller.signal, timeout: 20_000 });
    controller.abort();
    await assert.rejects(aborted, AbortedError);
    const closed = watch.requestProgress({ timeout: 20_000 });
    setTimeout(() => watch.close(), 50);
    await assert.rejects(closed, AbortedError);
  });
});
