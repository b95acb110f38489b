import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cmp, Etcd, InvalidArgumentError, op } from 'etcd-fetch';
import { gatewayCampaign, gatewayLeader, gatewayLock, gatewayResign, gatewayUnlock } from 'etcd-fetch/admin';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter(() => new Etcd({ endpoints: [etcdUnderTest.endpoint] }));
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('namespaces against a real etcd', () => {
  test('KV calls of a namespaced client live under the prefix and show keys without it', async () => {
    const etcd = client();
    const root = uniquePrefix('ns');
    const app = etcd.namespace(root);
    await app.put('a', '1');
    await app.put('b', '2');
    await etcd.put(`${root.slice(0, -1)}0`, 'outside'); // the key right after the prefix
    assert.equal((await etcd.get(`${root}a`))?.valueText, '1');
    assert.equal((await app.get('a'))?.keyText, 'a');
    const all = await app.range({ prefix: '' });
    assert.deepEqual(
      all.kvs.map((kv) => kv.keyText),
      ['a', 'b'],
    );
    assert.deepEqual(
      (await app.range({ from: 'b' })).kvs.map((kv) => kv.keyText),
      ['b'],
    );
    assert.equal(await app.count({ prefix: '' }), 2);
    const scanned: string[] = [];
    for await (const kv of app.scan({ prefix: '' }, { pageSize: 1 })) scanned.push(kv.keyText);
    assert.deepEqual(scanned, ['a', 'b']);
    const deleted = await app.del({ prefix: '' }, { prevKv: true });
    assert.deepEqual(
      deleted.prevKvs.map((kv) => kv.keyText),
      ['a', 'b'],
    );
    assert.equal((await etcd.get(`${root.slice(0, -1)}0`))?.valueText, 'outside');
  });

  test('transactions compare and write inside the namespace', async () => {
    const etcd = client();
    const root = uniquePrefix('ns');
    const app = etcd.namespace(root);
    await app.put('counter', '1');
    const result = await app
      .txn()
      .if(cmp.value('counter', '=', '1'))
      .then(op.put('counter', '2', { prevKv: true }), op.get('counter'))
      .commit();
    assert.equal(result.succeeded, true);
    if (result.succeeded) {
      assert.equal(result.results[0].prevKv?.keyText, 'counter');
      assert.equal(result.results[1]?.keyText, 'counter');
    }
    assert.equal((await etcd.get(`${root}counter`))?.valueText, '2');
  });

  test('namespaces nest, share the parent transport, and refuse an empty prefix', async () => {
    const etcd = client();
    const root = uniquePrefix('ns');
    const inner = etcd.namespace(root).namespace('inner/');
    assert.equal(inner.transport, etcd.transport);
    await inner.put('k', 'v');
    assert.equal((await etcd.get(`${root}inner/k`))?.valueText, 'v');
    assert.throws(() => etcd.namespace(''), InvalidArgumentError);
  });

  test('lease-bound keys, locks and elections live under the prefix too', async () => {
    const etcd = client();
    const root = uniquePrefix('ns');
    const app = etcd.namespace(root);
    await using lease = await app.grant(30);
    await app.put('owned', 'v', { lease });
    assert.deepEqual((await lease.timeToLive({ keys: true })).keys.map(text), ['owned']);
    assert.deepEqual((await etcd.timeToLive(lease, { keys: true })).keys.map(text), [`${root}owned`]);

    const held = await gatewayLock(app, 'lock', { lease });
    assert.match(text(held.key), /^lock\/[0-9a-f]+$/);
    assert.equal((await etcd.get(`${root}${text(held.key)}`))?.lease, lease.id);
    await gatewayUnlock(app, held.key);

    const leader = await gatewayCampaign(app, 'election', 'me', { lease });
    assert.equal(text(leader.name), 'election');
    assert.equal((await gatewayLeader(app, 'election'))?.valueText, 'me');
    assert.equal((await gatewayLeader(etcd, `${root}election`))?.valueText, 'me');
    await gatewayResign(app, leader);
  });
});
