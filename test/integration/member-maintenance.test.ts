// Maintenance aimed at one member of a real 3-member cluster: status and hashes per member,
// defragment of one member, leadership moved to a named member, and a cluster-wide status
// that reports a stopped member without failing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd, InvalidArgumentError, NotFoundError, UnavailableError, UnimplementedError } from 'etcd-fetch';
import {
  alarmList,
  clusterStatus,
  defragment,
  hash,
  hashKV,
  memberList,
  moveLeader,
  snapshot,
  status,
} from 'etcd-fetch/admin';
import { type EtcdCluster, startCluster } from '../../scripts/cluster.ts';
import { closedAfter, gatewayVersion, versionUnderTest } from '../helpers/etcd.ts';
import { startVersionGateway } from '../helpers/version-gateway.ts';

let cluster: EtcdCluster;
const client = closedAfter(
  (endpoints: readonly string[] = cluster.endpoints) => new Etcd({ endpoints: [...endpoints], timeout: 5_000 }),
);

before(async () => {
  cluster = await startCluster({ size: 3 });
});
after(async () => {
  await cluster?.stop();
});

/** Member IDs in endpoint order, each read from that member's own status. */
async function memberIds(etcd: Etcd): Promise<string[]> {
  return Promise.all(
    cluster.endpoints.map(async (endpoint) => (await status(etcd, { member: endpoint })).header.memberId),
  );
}

/** Snapshot calls a member has finished, as its own metrics count them. */
async function snapshotsServed(endpoint: string): Promise<number> {
  const text = await (await fetch(`${endpoint}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('grpc_server_handled_total{') &&
        l.includes('grpc_method="Snapshot"') &&
        l.includes('grpc_code="OK"'),
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('maintenance aimed at one member', () => {
  test('status by client URL and by member ID answers from that member', async () => {
    const etcd = client([cluster.endpoints[0]!]);
    const ids = await memberIds(etcd);
    assert.equal(new Set(ids).size, 3, 'three different members answered');
    const { members } = await memberList(etcd);
    for (const [i, id] of ids.entries()) {
      const member = members.find((m) => m.id === id);
      assert.deepEqual(member?.clientUrls, [cluster.endpoints[i]]);
      assert.equal((await status(etcd, { member: id })).header.memberId, id);
      assert.equal((await status(etcd, { member: BigInt(id) })).header.memberId, id);
    }
    await assert.rejects(status(etcd, { member: '12345' }), NotFoundError);
    await assert.rejects(status(etcd, { member: 'not a member' }), InvalidArgumentError);
  });

  test('snapshot streams the database of the member named, by member ID, from a client of another member', async () => {
    const etcd = client([cluster.endpoints[0]!]);
    await etcd.put('member-snapshot/k', 'v');
    const ids = await memberIds(etcd);
    const before = await Promise.all(cluster.endpoints.map(snapshotsServed));
    const file = new Uint8Array(await new Response(await snapshot(etcd, { member: ids[2]! })).arrayBuffer());
    const afterwards = await Promise.all(cluster.endpoints.map(snapshotsServed));
    assert.deepEqual(
      afterwards.map((n, i) => n - before[i]!),
      [0, 0, 1],
      'only the member named served a Snapshot call',
    );
    assert.ok(file.length > 32, `a database file and its hash (${file.length} bytes)`);
    await assert.rejects(snapshot(etcd, { member: '12345' }), NotFoundError);
  });

  test('hash answers from the member asked', async () => {
    const etcd = client([cluster.endpoints[0]!]);
    const ids = await memberIds(etcd);
    for (const [i, member] of cluster.endpoints.entries()) {
      const answer = await hash(etcd, { member });
      assert.equal(answer.header.memberId, ids[i]);
      assert.ok(Number.isSafeInteger(answer.hash) && answer.hash >= 0);
    }
  });

  test('defragment one member shrinks its file and leaves the others as they were', async () => {
    const etcd = client();
    const value = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 40; i++) await etcd.put(`defrag/${i}`, value);
    const { revision } = await etcd.del({ prefix: 'defrag/' });
    await etcd.compact(revision, { physical: true });
    const ids = await memberIds(etcd);
    const sizes = async () => Promise.all(ids.map(async (member) => (await status(etcd, { member })).dbSize));
    const before = await sizes();
    await defragment(etcd, { member: ids[1]! });
    const afterwards = await sizes();
    assert.ok(afterwards[1]! < before[1]!, `member 1 shrank: ${before[1]} -> ${afterwards[1]}`);
    assert.equal(afterwards[0], before[0]);
    assert.equal(afterwards[2], before[2]);
  });

  test('alarms of one member: none raised, and an unknown member is NotFound', async () => {
    const etcd = client();
    const [id] = await memberIds(etcd);
    assert.deepEqual(await alarmList(etcd, { member: id! }), []);
    assert.deepEqual(await alarmList(etcd, { member: cluster.endpoints[2]! }), []);
    await assert.rejects(alarmList(etcd, { member: '99' }), NotFoundError);
  });

  test('moveLeader hands leadership to the member named, by ID or by URL, from any endpoint', async () => {
    const leader = (await cluster.leaderIndex())!;
    const follower = [0, 1, 2].find((i) => i !== leader)!;
    // The client talks to a follower only: the request must find its way to the leader.
    const etcd = client([cluster.endpoints[follower]!]);
    const ids = await memberIds(etcd);
    await moveLeader(etcd, ids[follower]!);
    assert.equal(await cluster.leaderIndex(), follower);
    assert.equal((await status(etcd)).leader, ids[follower]);

    const next = [0, 1, 2].find((i) => i !== follower)!;
    await moveLeader(etcd, cluster.endpoints[next]!);
    assert.equal(await cluster.leaderIndex(), next);
  });

  test('hashKV on 3.5+ (the real server, or the 3.5 imitation in front of 3.4): each member hashes the same data alike; 3.4 answers UnimplementedError', async () => {
    // A real 3.5+ cluster (ETCD_SERVER_VERSION) serves it itself; Debian's 3.4.23 through the imitation.
    const real = versionUnderTest() !== undefined && gatewayVersion() === undefined;
    const etcd = client();
    await etcd.put('member-hashkv/k', 'v');
    const { revision } = await etcd.put('member-hashkv/k', 'w');
    for (const endpoint of cluster.endpoints) await client([endpoint]).get('member-hashkv/k');
    const gateways = real
      ? []
      : await Promise.all(cluster.endpoints.map((upstream) => startVersionGateway({ upstream, version: '3.5' })));
    const members = real ? [...cluster.endpoints] : gateways.map((g) => g.endpoint);
    try {
      const viaGateway = client(members);
      const answers = await Promise.all(members.map((member) => hashKV(viaGateway, { member, revision })));
      assert.equal(new Set(answers.map((a) => a.header.memberId)).size, 3, 'each member answered');
      assert.equal(new Set(answers.map((a) => a.hash)).size, 1, 'same data, same hash');
      for (const a of answers) {
        assert.equal(a.hashRevision, revision);
        assert.ok(a.header.revision >= revision);
        assert.equal(a.compactRevision, answers[0]!.compactRevision);
        assert.ok(a.compactRevision < revision);
      }
      const earlier = await hashKV(viaGateway, { member: members[0]!, revision: revision - 1 });
      assert.notEqual(earlier.hash, answers[0]!.hash, 'a write changes the hash');
      const latest = await hashKV(viaGateway, { member: members[0]! });
      assert.ok(latest.hashRevision >= revision);
    } finally {
      await Promise.all(gateways.map((g) => g.close()));
    }
    if (!real) await assert.rejects(hashKV(etcd, { member: cluster.endpoints[0]! }), UnimplementedError);
  });
});

describe('cluster-wide status', () => {
  test('every member answers; a stopped member is reported with its error, the others still answer', async () => {
    const etcd = client();
    const all = await clusterStatus(etcd);
    assert.equal(all.length, 3);
    assert.ok(all.every((r) => r.status !== undefined && r.status.header.memberId === r.id));
    assert.deepEqual(all.map((r) => r.endpoint).sort(), [...cluster.endpoints].sort());

    const stopped = 2;
    await cluster.kill(stopped);
    try {
      const reports = await clusterStatus(etcd);
      assert.equal(reports.length, 3, 'the stopped member is still listed');
      const down = reports.find((r) => r.endpoint === cluster.endpoints[stopped]);
      assert.ok(down?.error instanceof UnavailableError, String(down?.error));
      assert.equal(down.status, undefined);
      assert.match(down.id, /^\d+$/);
      const up = reports.filter((r) => r !== down);
      assert.equal(up.length, 2);
      assert.ok(up.every((r) => r.status !== undefined && r.error === undefined));
    } finally {
      await cluster.restart(stopped);
    }
  });
});
