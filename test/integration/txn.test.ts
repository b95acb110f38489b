import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cmp, Etcd, InvalidArgumentError, op } from 'etcd-fetch';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter(() => new Etcd({ endpoints: [etcdUnderTest.endpoint] }));

async function grantLease(endpoint: string): Promise<string> {
  const response = await fetch(`${endpoint}/v3/lease/grant`, { method: 'POST', body: '{"TTL": 60}' });
  return ((await response.json()) as { ID: string }).ID;
}

describe('transactions against a real etcd', () => {
  test('a value compare picks then or else, and each result is typed per operation', async () => {
    const etcd = client();
    const p = uniquePrefix('txn');
    await etcd.put(`${p}k`, 'v1');
    const hit = await etcd
      .txn()
      .if(cmp.value(`${p}k`, '=', 'v1'))
      .then(op.put(`${p}k`, 'v2', { prevKv: true }), op.get(`${p}k`), op.range({ prefix: p }), op.del(`${p}none`))
      .else(op.get(`${p}k`))
      .commit();
    assert.equal(hit.succeeded, true);
    if (!hit.succeeded) return;
    const [put, get, range, del] = hit.results;
    assert.equal(put.prevKv?.valueText, 'v1');
    assert.equal(get?.valueText, 'v2');
    assert.equal(range.count, 1);
    assert.equal(del.deleted, 0);
    assert.equal(hit.revision, put.revision);

    const miss = await etcd
      .txn()
      .if(cmp.value(`${p}k`, '=', 'v1'))
      .then(op.put(`${p}k`, 'v3'))
      .else(op.get(`${p}k`))
      .commit();
    assert.equal(miss.succeeded, false);
    if (miss.succeeded) return;
    assert.equal(miss.results[0]?.valueText, 'v2');
  });

  test('every compare target and operator', async () => {
    const etcd = client();
    const p = uniquePrefix('cmp');
    const lease = await grantLease(etcdUnderTest.endpoint);
    const created = await etcd.put(`${p}k`, 'b', { lease });
    const modified = await etcd.put(`${p}k`, 'b', { ignoreLease: true });
    const check = async (c: ReturnType<typeof cmp.value>) => (await etcd.txn().if(c).commit()).succeeded;
    const k = `${p}k`;
    assert.equal(await check(cmp.value(k, '=', 'b')), true);
    assert.equal(await check(cmp.value(k, '!=', 'b')), false);
    assert.equal(await check(cmp.value(k, '>', 'a')), true);
    assert.equal(await check(cmp.value(k, '<', 'a')), false);
    assert.equal(await check(cmp.version(k, '=', 2)), true);
    assert.equal(await check(cmp.version(k, '>', 2)), false);
    assert.equal(await check(cmp.version(`${p}missing`, '=', 0)), true);
    assert.equal(await check(cmp.createRevision(k, '=', created.revision)), true);
    assert.equal(await check(cmp.createRevision(k, '<', created.revision)), false);
    assert.equal(await check(cmp.modRevision(k, '=', modified.revision)), true);
    assert.equal(await check(cmp.modRevision(k, '!=', modified.revision)), false);
    assert.equal(await check(cmp.lease(k, '=', lease)), true);
    assert.equal(await check(cmp.lease(k, '=', '0')), false);
    assert.equal(await check(cmp.lease(`${p}missing`, '=', 0)), true);
    await fetch(`${etcdUnderTest.endpoint}/v3/lease/revoke`, { method: 'POST', body: JSON.stringify({ ID: lease }) });
  });

  test('a compare over a prefix holds only if it holds for every key', async () => {
    const etcd = client();
    const p = uniquePrefix('cmprange');
    await etcd.put(`${p}a`, '1');
    await etcd.put(`${p}b`, '1');
    assert.equal(
      (
        await etcd
          .txn()
          .if(cmp.value({ prefix: p }, '=', '1'))
          .commit()
      ).succeeded,
      true,
    );
    await etcd.put(`${p}b`, '2');
    assert.equal(
      (
        await etcd
          .txn()
          .if(cmp.value({ prefix: p }, '=', '1'))
          .commit()
      ).succeeded,
      false,
    );
  });

  test('several compares must all hold; an empty if() always succeeds', async () => {
    const etcd = client();
    const p = uniquePrefix('and');
    await etcd.put(`${p}a`, 'x');
    assert.equal(
      (
        await etcd
          .txn()
          .if(cmp.value(`${p}a`, '=', 'x'), cmp.version(`${p}b`, '=', 0))
          .commit()
      ).succeeded,
      true,
    );
    assert.equal(
      (
        await etcd
          .txn()
          .if(cmp.value(`${p}a`, '=', 'x'), cmp.version(`${p}a`, '=', 0))
          .commit()
      ).succeeded,
      false,
    );
    const none = await etcd
      .txn()
      .then(op.put(`${p}c`, '1'))
      .commit();
    assert.equal(none.succeeded, true);
  });

  test('create-if-absent: only one of several concurrent creators wins', async () => {
    const p = uniquePrefix('race');
    const attempts = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        client()
          .txn()
          .if(cmp.createRevision(`${p}leader`, '=', 0))
          .then(op.put(`${p}leader`, `n${i}`))
          .commit(),
      ),
    );
    assert.equal(attempts.filter((a) => a.succeeded).length, 1);
  });

  test('nested transactions run and report their own branch and results', async () => {
    const etcd = client();
    const p = uniquePrefix('nested');
    await etcd.put(`${p}flag`, 'on');
    const inner = op
      .txn()
      .if(cmp.value(`${p}flag`, '=', 'on'))
      .then(op.put(`${p}inner`, 'ran'), op.get(`${p}flag`))
      .else(op.put(`${p}inner`, 'else'));
    const result = await etcd
      .txn()
      .if(cmp.version(`${p}flag`, '>', 0))
      .then(inner, op.get(`${p}flag`))
      .commit();
    assert.equal(result.succeeded, true);
    if (!result.succeeded) return;
    const [nested, flag] = result.results;
    assert.equal(nested.succeeded, true);
    if (nested.succeeded) assert.equal(nested.results[1]?.valueText, 'on');
    assert.equal(flag?.valueText, 'on');
    assert.equal((await etcd.get(`${p}inner`))?.valueText, 'ran');
  });

  test('etcd refuses a txn that writes one key twice, as a typed error', async () => {
    const etcd = client();
    const p = uniquePrefix('dup');
    await assert.rejects(
      etcd
        .txn()
        .then(op.put(`${p}k`, '1'), op.put(`${p}k`, '2'))
        .commit(),
      InvalidArgumentError,
    );
    assert.equal(await etcd.get(`${p}k`), undefined);
  });

  test('bad comparisons and operations are typed errors where they are written', () => {
    assert.throws(() => cmp.value('k', '==' as '=', 'v'), InvalidArgumentError);
    assert.throws(() => cmp.version('k', '=', -1), InvalidArgumentError);
    assert.throws(() => cmp.lease('k', '=', 'not-a-number'), InvalidArgumentError);
    assert.throws(() => op.put('k', undefined), InvalidArgumentError);
    assert.throws(
      () =>
        client()
          .txn()
          .if({} as never),
      InvalidArgumentError,
    );
    assert.throws(
      () =>
        client()
          .txn()
          .then({} as never),
      InvalidArgumentError,
    );
  });
});
