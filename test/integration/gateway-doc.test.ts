// The examples of etcd's gateway documentation (../shared/docs/etcd-gateway-doc.txt), done through the client and
// read back with a plain fetch of the gateway, so the client and the documented wire agree.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cmp, Etcd, op } from 'etcd-fetch';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd();

async function gateway(path: string, body: object): Promise<Record<string, any>> {
  const response = await fetch(`${etcdUnderTest.endpoint}/v3${path}`, { method: 'POST', body: JSON.stringify(body) });
  assert.equal(response.status, 200);
  return (await response.json()) as Record<string, any>;
}
const b64 = (s: string) => btoa(s);

describe('the gateway doc examples, through the client', () => {
  test("put foo=bar, then range it (the doc's first example)", async () => {
    const etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
    const foo = `${uniquePrefix('doc')}foo`;
    const put = await etcd.put(foo, 'bar');
    const raw = await gateway('/kv/range', { key: b64(foo) });
    assert.equal(raw.kvs[0].value, 'YmFy');
    assert.equal(raw.kvs[0].mod_revision, String(put.revision));
    assert.equal(raw.count, '1');
    const kv = await etcd.get(foo);
    assert.equal(kv?.valueText, 'bar');
    assert.equal(kv?.version, Number(raw.kvs[0].version));
  });

  test('get all keys prefixed with foo (range_end = prefix + 1)', async () => {
    const etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
    const p = `${uniquePrefix('doc')}foo`;
    await etcd.put(p, 'bar');
    await etcd.put(`${p}2`, 'baz');
    await etcd.put(`${p.slice(0, -1)}p`, 'outside'); // "fop" sorts after every "foo..." key
    const raw = await gateway('/kv/range', { key: b64(p), range_end: b64(`${p.slice(0, -1)}p`) });
    const mine = await etcd.range({ prefix: p });
    assert.deepEqual(
      mine.kvs.map((kv) => kv.keyText),
      raw.kvs.map((kv: { key: string }) => atob(kv.key)),
    );
    assert.equal(mine.count, 2);
  });

  test('txn with a CREATE compare, then with a VERSION compare', async () => {
    const etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
    const foo = `${uniquePrefix('doc')}foo`;
    const created = await etcd.put(foo, 'bar');
    const first = await etcd
      .txn()
      .if(cmp.createRevision(foo, '=', created.revision))
      .then(op.put(foo, 'bar'))
      .commit();
    assert.equal(first.succeeded, true);
    await etcd.put(foo, 'bar');
    await etcd.put(foo, 'baz');
    const second = await etcd
      .txn()
      .if(cmp.version(foo, '=', 4))
      .then(op.get(foo))
      .commit();
    assert.equal(second.succeeded, true);
    if (!second.succeeded) return;
    assert.equal(second.results[0]?.valueText, 'baz');
    assert.equal(second.results[0]?.version, 4);
    // The same compare sent raw, as the doc writes it, agrees.
    const raw = await gateway('/kv/txn', {
      compare: [{ version: '4', result: 'EQUAL', target: 'VERSION', key: b64(foo) }],
      success: [{ requestRange: { key: b64(foo) } }],
    });
    assert.equal(raw.succeeded, true);
    assert.equal(raw.responses[0].response_range.kvs[0].value, 'YmF6');
  });
});
