import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AbortedError, Etcd, LeaseLostError } from 'etcd-fetch';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd();

describe('closing a client', () => {
  test('ends its watches, stops keeping its leases alive, and refuses later calls, namespaces included', async () => {
    const p = uniquePrefix('close');
    const etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
    const app = etcd.namespace(p);
    const watch = app.watch({ prefix: '' });
    await watch.ready;
    const lease = await app.grant(30);
    const pending = (async () => {
      for await (const _ of watch);
    })();
    etcd.close();
    await assert.rejects(pending, AbortedError);
    assert.equal(lease.lost.aborted, true);
    assert.ok(lease.lost.reason instanceof LeaseLostError);
    await assert.rejects(etcd.get('x'), AbortedError);
    await assert.rejects(app.put('x', 'y'), AbortedError);
    // etcd still has the lease: closing stops the keep-alive, it does not revoke.
    const other = new Etcd({ endpoints: etcdUnderTest.endpoint });
    assert.ok((await other.timeToLive(lease.id)).ttl > 0);
    await other.revoke(lease.id);
  });

  test('await using closes it at the end of the scope', async () => {
    let kept: Etcd;
    {
      await using etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
      kept = etcd;
      await etcd.put(`${uniquePrefix('using')}k`, 'v');
    }
    await assert.rejects(kept.get('k'), AbortedError);
  });
});
