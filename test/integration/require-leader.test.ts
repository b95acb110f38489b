// requireLeader against a real 3-member cluster that lost its quorum: the gateway forwards
// `Grpc-Metadata-hasleader: true` as gRPC metadata `hasleader`, and a member without a leader
// refuses such a call at once ("etcdserver: no leader") instead of waiting for a quorum.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd, TimeoutError, UnavailableError } from 'etcd-fetch';
import { status } from 'etcd-fetch/admin';
import { type EtcdCluster, startCluster } from '../../scripts/cluster.ts';
import { closedAfter, uniquePrefix, versionUnderTest } from '../helpers/etcd.ts';

const NO_LEADER = 'etcdserver: no leader';

let cluster: EtcdCluster;
before(async () => {
  cluster = await startCluster({ size: 3 });
});
after(async () => {
  await cluster?.stop();
});

const client = closedAfter((options: ConstructorParameters<typeof Etcd>[0]) => new Etcd(options));
const prefix = uniquePrefix('require-leader');

async function rejection(call: Promise<unknown>): Promise<UnavailableError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof UnavailableError, `expected UnavailableError, got ${String(error)}`);
  return error;
}

describe('requireLeader', () => {
  test('with a leader, calls that require one go through', async () => {
    const etcd = client({ endpoints: [...cluster.endpoints], requireLeader: true });
    await etcd.put(`${prefix}k`, 'v');
    assert.equal((await etcd.get(`${prefix}k`))?.valueText, 'v');
    assert.equal(
      (await client({ endpoints: [...cluster.endpoints] }).get(`${prefix}k`, { requireLeader: true }))?.valueText,
      'v',
    );
  });

  test('with quorum lost, a call that requires a leader fails at once with "no leader"; one that does not waits for etcd to give up', async () => {
    const survivor = 0;
    await cluster.kill(1);
    await cluster.kill(2);
    const endpoint = cluster.endpoints[survivor]!;
    const probe = client({ endpoints: [endpoint] });
    // Until the survivor notices (an election timeout), it still believes in its old leader.
    for (let i = 0; (await status(probe)).leader !== '0'; i++) {
      assert.ok(i < 200, 'the survivor noticed it has no leader');
      await new Promise((r) => setTimeout(r, 50));
    }

    const required = client({ endpoints: [endpoint], requireLeader: true, timeout: 30_000 });
    assert.equal((await rejection(required.put(`${prefix}k`, 'w'))).message, NO_LEADER);
    const read = await rejection(required.get(`${prefix}k`));
    assert.equal(read.message, NO_LEADER);
    assert.equal(read.code, 14);
    assert.equal(read.status, 503);

    // Per call, on a client that does not ask by default; and over every endpoint of a client
    // (two refuse connections, one has no leader): an answer, not the 30 s deadline.
    const plain = client({ endpoints: [endpoint], timeout: 30_000 });
    assert.equal((await rejection(plain.get(`${prefix}k`, { requireLeader: true }))).message, NO_LEADER);
    const everywhere = client({ endpoints: [...cluster.endpoints].reverse(), requireLeader: true, timeout: 30_000 });
    assert.equal((await rejection(everywhere.get(`${prefix}k`))).message, NO_LEADER);

    // Without it, a read keeps getting "request timed out" (each after about 7 s) until its own
    // deadline, and a write fails after about 7 s with etcd's "context deadline exceeded".
    const waited = await client({ endpoints: [endpoint], timeout: 3_000 })
      .get(`${prefix}k`)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(waited instanceof TimeoutError, String(waited));
    const wrote = await plain.put(`${prefix}k`, 'w').then(
      () => undefined,
      (e: unknown) => e,
    );
    if (versionUnderTest() === undefined) {
      assert.ok(
        wrote instanceof UnavailableError && wrote.mayHaveApplied && /context deadline exceeded/.test(wrote.message),
        String(wrote),
      );
    } else {
      // etcd 3.5+ answer DEADLINE_EXCEEDED (code 4, HTTP 504) where 3.4 said UNKNOWN (code 2, 500).
      assert.ok(
        wrote instanceof TimeoutError && wrote.code === 4 && /context deadline exceeded/.test(wrote.message),
        String(wrote),
      );
    }

    await cluster.restart(1);
    await cluster.restart(2);
  });

  test('a watch through a member that lost its leader is ended by etcd and resumes on another member', async () => {
    const key = `${prefix}watched`;
    const etcd = client({ endpoints: [...cluster.endpoints], requireLeader: true });
    const reconnects: string[] = [];
    const watch = etcd.watch({ key, onReconnect: (info) => reconnects.push((info.error as Error).message) });
    await watch.ready;
    const events = watch[Symbol.asyncIterator]();
    await etcd.put(key, 'before');
    assert.equal((await events.next()).value?.kv.valueText, 'before');
    // The watch is on the first endpoint: leave it alone, without a leader.
    await cluster.kill(1);
    await cluster.kill(2);
    for (let i = 0; !reconnects.includes(NO_LEADER); i++) {
      assert.ok(i < 400, `etcd ended the watch for want of a leader (reconnects: ${JSON.stringify(reconnects)})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await cluster.restart(1);
    await cluster.restart(2);
    await etcd.put(key, 'after');
    assert.equal((await events.next()).value?.kv.valueText, 'after');
    watch.close();
  });
});
