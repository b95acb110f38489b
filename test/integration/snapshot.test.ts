import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, describe, test } from 'node:test';
import { AbortedError, Etcd } from 'etcd-fetch';
import { type SnapshotProgress, snapshot } from 'etcd-fetch/admin';
import { freePort, lookPath, startEtcd } from '../../scripts/etcd.ts';
import { closedAfter, uniquePrefix, useEtcd, versionUnderTest } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd({ ownServer: true });
const client = closedAfter(() => new Etcd({ endpoints: [etcdUnderTest.endpoint] }));
const scratch = mkdtempSync(join(tmpdir(), 'etcd-fetch-snapshot-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

const etcdctl = (...args: string[]) =>
  execFileSync(process.env.ETCDCTL_BIN ?? 'etcdctl', args, {
    env: { ...process.env, ETCDCTL_API: '3' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Started and finished Snapshot calls, as the real etcd counts them in its metrics. */
async function snapshotCalls(): Promise<{ started: number; handled: number }> {
  const text = await (await fetch(`${etcdUnderTest.upstream}/metrics`)).text();
  const sum = (metric: string) =>
    text
      .split('\n')
      .filter((line) => line.startsWith(metric) && line.includes('grpc_method="Snapshot"'))
      .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
  return { started: sum('grpc_server_started_total'), handled: sum('grpc_server_handled_total') };
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await condition()) return;
    await sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('snapshot (a streamed copy of the database)', () => {
  test('the file it writes passes etcdctl snapshot status, and restores into an etcd holding the same keys', async () => {
    const etcd = client();
    const prefix = uniquePrefix('snap');
    for (let i = 0; i < 40; i++) await etcd.put(`${prefix}${i}`, `value ${i} `.repeat(200));
    await etcd.del(`${prefix}0`);
    const progress: SnapshotProgress[] = [];
    const stream = await snapshot(etcd, { onProgress: (p) => progress.push({ ...p }) });
    const file = join(scratch, 'backup.db');
    await pipeline(Readable.fromWeb(stream as never), createWriteStream(file));

    assert.ok(progress.length > 1, 'the database came in several chunks');
    assert.equal(progress.at(-1)!.remainingBytes, 0);
    assert.equal(progress.at(-1)!.receivedBytes, statSync(file).size);
    // etcd counts the database file; the stream adds its 32-byte SHA-256.
    assert.equal(progress[0]!.remainingBytes + progress[0]!.receivedBytes + 32, statSync(file).size);

    const status = JSON.parse(etcdctl('snapshot', 'status', file, '-w', 'json')) as {
      revision: number;
      totalKey: number;
    };
    const { revision } = await etcd.range({ prefix }, { countOnly: true });
    assert.equal(status.revision, revision);
    assert.ok(status.totalKey >= 39);

    const peerPort = await freePort();
    const peer = `http://127.0.0.1:${peerPort}`;
    const dataDir = join(scratch, 'restored');
    etcdctl(
      'snapshot',
      'restore',
      file,
      '--data-dir',
      dataDir,
      '--name',
      'restored',
      '--initial-cluster',
      `restored=${peer}`,
      '--initial-advertise-peer-urls',
      peer,
    );
    // etcdctl 3.4 restores the v2 membership only; etcd 3.5+ read members from the database, where
    // the snapshot still names the original member: the restored copy runs on Debian's 3.4.23.
    const restored = await startEtcd({
      dataDir,
      name: 'restored',
      peerPort,
      ...(versionUnderTest() === undefined ? {} : { binary: lookPath('etcd') }),
    });
    try {
      const copy = new Etcd({ endpoints: [restored.endpoint] });
      const original = await etcd.range({ prefix });
      const restoredKeys = await copy.range({ prefix });
      copy.close();
      assert.equal(restoredKeys.kvs.length, 39);
      assert.deepEqual(
        restoredKeys.kvs.map((kv) => [kv.keyText, kv.valueText, kv.modRevision]),
        original.kvs.map((kv) => [kv.keyText, kv.valueText, kv.modRevision]),
      );
    } finally {
      await restored.stop();
    }
  });

  test('reads no further ahead than its consumer, and an abort mid-stream ends the call on the server', async () => {
    const etcd = client();
    const prefix = uniquePrefix('snap-big');
    // Larger than every buffer between etcd and the client, so etcd blocks until the stream is read.
    const big = 'x'.repeat(512 * 1024);
    for (let i = 0; i < 48; i++) await etcd.put(`${prefix}${i}`, big);
    const before = await snapshotCalls();

    const controller = new AbortController();
    let pulled = 0;
    const stream = await snapshot(etcd, { signal: controller.signal, onProgress: () => pulled++ });
    const reader = stream.getReader();
    await reader.read();
    await reader.read();
    await sleep(100);
    assert.equal(pulled, 2, 'two chunks asked for, two read');
    const during = await snapshotCalls();
    assert.deepEqual(during, { started: before.started + 1, handled: before.handled }, 'etcd is still sending');

    controller.abort();
    await assert.rejects(reader.read(), AbortedError);
    await until(
      async () => (await snapshotCalls()).handled === before.handled + 1,
      'etcd to end the aborted Snapshot call',
    );

    // Cancelling the stream releases it the same way.
    const second = (await snapshot(etcd)).getReader();
    await second.read();
    await second.cancel();
    await until(
      async () => (await snapshotCalls()).handled === before.handled + 2,
      'etcd to end the cancelled Snapshot call',
    );
  });
});
