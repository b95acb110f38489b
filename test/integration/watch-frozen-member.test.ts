// A watch whose member hangs (SIGSTOP: its ports stay open, nothing answers) while the other two
// members serve: with default options and no server flag, the watch must notice within 30 s and
// resume on another member, losing and repeating nothing.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { type EtcdCluster, startCluster } from '../../scripts/cluster.ts';
import { uniquePrefix } from '../helpers/etcd.ts';
import { collect } from './watch-helpers.ts';

/** The bound: a default watch notices a frozen member within 30 s. */
const NOTICE_MS = 30_000;

let cluster: EtcdCluster;

before(async () => {
  cluster = await startCluster({ size: 3 });
});
after(async () => {
  await cluster?.stop();
});

describe('a watch on a frozen member', () => {
  test('a default watch moves off a frozen member within 30 s and delivers every event once, in order', {
    timeout: 120_000,
  }, async () => {
    const leader = await cluster.leaderIndex();
    const frozen = [0, 1, 2].find((i) => i !== leader)!;
    const others = cluster.endpoints.filter((_, i) => i !== frozen);
    // The watch's client starts on the member about to freeze; the writer uses the other two.
    const etcd = new Etcd({ endpoints: [cluster.endpoints[frozen]!, ...others] });
    const writer = new Etcd({ endpoints: others });
    const p = uniquePrefix('frozen-watch');
    const watch = etcd.watch({ prefix: p });
    let thawed = false;
    try {
      await watch.ready;
      const before = [];
      for (let i = 0; i < 3; i++) before.push((await writer.put(`${p}before/${i}`, String(i))).revision);
      assert.deepEqual(
        (await collect(watch, (e) => e.length === 3)).map((e) => e.revision),
        before,
      );
      cluster.freeze(frozen);
      const written: number[] = [];
      for (let i = 0; i < 10; i++) written.push((await writer.put(`${p}during/${i}`, String(i))).revision);
      const started = performance.now();
      const events = await collect(watch, (e) => e.length >= written.length, NOTICE_MS);
      const ms = performance.now() - started;
      console.log(
        `frozen member: the watch delivered ${events.length} events after ${Math.round(ms)} ms, ${watch.reconnects} reconnect(s)`,
      );
      assert.deepEqual(
        events.map((e) => e.revision),
        written,
      );
      assert.ok(watch.reconnects >= 1);
      cluster.thaw(frozen);
      thawed = true;
      // Nothing repeated later either: the next event is the next write.
      const next = (await writer.put(`${p}after`, 'x')).revision;
      assert.deepEqual(
        (await collect(watch, (e) => e.length === 1)).map((e) => e.revision),
        [next],
      );
    } finally {
      if (!thawed) cluster.thaw(frozen);
      watch.close();
      etcd.close();
      writer.close();
    }
  });
});
