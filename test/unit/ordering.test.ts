// The ordering check's logic, with answers shaped as etcd 3.4.23's gateway writes them: which
// answers are stale, where a stale read is asked again, when it fails, and when the floor goes down.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FetchLike } from '../../src/core/call-options.ts';
import { StaleReadError } from '../../src/core/errors.ts';
import { Etcd, op } from '../../src/index.ts';

const ENDPOINTS = ['http://10.0.0.1:2379', 'http://10.0.0.2:2379', 'http://10.0.0.3:2379'];

/** Each endpoint answers every call at the revision `revisions[endpoint]` says (a member's applied revision). */
function members(revisions: Record<string, number>) {
  const asked: string[] = [];
  const fetch: FetchLike = async (request) => {
    const endpoint = new URL(request.url).origin;
    asked.push(`${endpoint}${new URL(request.url).pathname}`);
    const header = {
      cluster_id: '1',
      member_id: String(ENDPOINTS.indexOf(endpoint) + 1),
      revision: String(revisions[endpoint]),
      raft_term: '2',
    };
    return new Response(JSON.stringify({ header }), { headers: { 'content-type': 'application/json' } });
  };
  return { fetch, asked };
}

function client(fetch: FetchLike, ordering?: boolean): Etcd {
  return new Etcd({ endpoints: ENDPOINTS, fetch, batch: false, timeout: 2_000, ordering });
}

describe('ordering', () => {
  test('a serializable read older than a seen write is asked of the other endpoints, and the first recent answer wins', async () => {
    const revisions = { [ENDPOINTS[0]!]: 10, [ENDPOINTS[1]!]: 10, [ENDPOINTS[2]!]: 10 };
    const { fetch, asked } = members(revisions);
    const etcd = client(fetch);
    await etcd.put('k', 'v');
    assert.equal(etcd.core.revisions?.revision, 10);
    revisions[ENDPOINTS[0]!] = 7; // the member behind the current endpoint lags
    revisions[ENDPOINTS[1]!] = 8;
    revisions[ENDPOINTS[2]!] = 11;
    asked.length = 0;
    const result = await etcd.range({ key: 'k' }, { serializable: true });
    assert.equal(result.revision, 11);
    assert.deepEqual(
      asked,
      [ENDPOINTS[0], ENDPOINTS[0], ENDPOINTS[1], ENDPOINTS[2]].map((e) => `${e}/v3/kv/range`),
    );
    assert.equal(etcd.core.revisions?.revision, 11);
    // The stale members were moved away from: the next call goes to the third endpoint.
    asked.length = 0;
    await etcd.get('k', { serializable: true });
    assert.deepEqual(asked, [`${ENDPOINTS[2]}/v3/kv/range`]);
  });

  test('when every endpoint is behind, StaleReadError says which revisions', async () => {
    const revisions = { [ENDPOINTS[0]!]: 20, [ENDPOINTS[1]!]: 20, [ENDPOINTS[2]!]: 20 };
    const etcd = client(members(revisions).fetch);
    await etcd.put('k', 'v');
    for (const e of ENDPOINTS) revisions[e] = 15;
    const error = await etcd.get('k', { serializable: true }).catch((e: unknown) => e);
    assert.ok(error instanceof StaleReadError, String(error));
    assert.equal(error.seenRevision, 20);
    assert.equal(error.revision, 15);
    assert.equal(error.path, '/v3/kv/range');
    // So does a read-only txn of serializable reads, which etcd also answers locally.
    const txnError = await etcd
      .txn()
      .then(op.get('k', { serializable: true }))
      .commit()
      .catch((e: unknown) => e);
    assert.ok(txnError instanceof StaleReadError, String(txnError));
  });

  test('a linearizable read cannot be stale: an older answer means the cluster was restored, and the floor follows it down', async () => {
    const revisions = { [ENDPOINTS[0]!]: 30, [ENDPOINTS[1]!]: 30, [ENDPOINTS[2]!]: 30 };
    const etcd = client(members(revisions).fetch);
    await etcd.put('k', 'v');
    for (const e of ENDPOINTS) revisions[e] = 3;
    assert.equal((await etcd.range({ key: 'k' })).revision, 3);
    assert.equal(etcd.core.revisions?.revision, 3);
    assert.equal((await etcd.range({ key: 'k' }, { serializable: true })).revision, 3);
  });

  test('with ordering: false nothing is checked or kept', async () => {
    const revisions = { [ENDPOINTS[0]!]: 40, [ENDPOINTS[1]!]: 40, [ENDPOINTS[2]!]: 40 };
    const etcd = client(members(revisions).fetch, false);
    await etcd.put('k', 'v');
    revisions[ENDPOINTS[0]!] = 35;
    assert.equal((await etcd.range({ key: 'k' }, { serializable: true })).revision, 35);
    assert.equal(etcd.core.revisions, undefined);
  });
});
