import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd, type FetchLike, type Lease, TimeoutError, UnavailableError, type WatchEvent } from 'etcd-fetch';
import { authEnable, roleAdd, userAdd, userGrantRole } from 'etcd-fetch/admin';
import { type EtcdCluster, startCluster } from '../../scripts/cluster.ts';
import { uniquePrefix } from '../helpers/etcd.ts';
import { eventually } from './watch-helpers.ts';

const DEADLINE = 3_000;
// How long past its deadline a call may take to settle: the abort, the answer's error and a busy
// shared machine's event-loop delay (measured: 1-20 ms idle, under 300 ms with both cores busy).
// A client whose deadline is late by a second, or a second attempt started after the deadline,
// exceeds it.
const MARGIN = 600;
const RESTARTS = 10;
const MAX_WRITES = 600;
const WRITE_PAUSE = 40;
const LEASE_TTL = 6;
const ROOT = { username: 'root', password: 'fault-test-root-password' };

let cluster: EtcdCluster;

before(async () => {
  // Short-lived tokens, and each member keeps its own (simple tokens): failover and expiry
  // both make the client authenticate again, under load.
  cluster = await startCluster({ size: 3, args: ['--auth-token-ttl', '3'] });
  const admin = new Etcd({ endpoints: cluster.endpoints });
  await userAdd(admin, ROOT.username, ROOT.password);
  await roleAdd(admin, 'root');
  await userGrantRole(admin, 'root', 'root');
  await authEnable(admin);
});
after(async () => {
  await cluster?.stop();
});

interface Timed<T> {
  value?: T;
  error?: unknown;
  ms: number;
}

async function timed<T>(call: () => Promise<T>): Promise<Timed<T>> {
  const started = performance.now();
  try {
    const value = await call();
    return { value, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with how long `lease` took to be reported lost, or rejects after `ms`. */
function lostWithin(lease: Lease, ms: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lease ${lease.id} was not reported lost within ${ms} ms`)), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(performance.now() - started);
    };
    if (lease.lost.aborted) done();
    else lease.lost.addEventListener('abort', done, { once: true });
  });
}

describe('a 3-member cluster under faults', () => {
  test('members, the leader included, killed and restarted 10 times: every acknowledged write and a kept-alive lease survive; no call outlives its deadline or fails on auth', {
    timeout: 180_000,
  }, async () => {
    const prefix = uniquePrefix('faults');
    const authentications = { writer: 0, reader: 0, idle: 0 };
    const counting =
      (who: keyof typeof authentications): FetchLike =>
      (request, init) => {
        if (request.url.endsWith('/v3/auth/authenticate')) authentications[who]++;
        return fetch(request, init);
      };
    const writer = new Etcd({ endpoints: cluster.endpoints, timeout: DEADLINE, auth: ROOT, fetch: counting('writer') });
    // The reader knows one member only and learns the others from the member list.
    const reader = new Etcd({
      endpoints: cluster.endpoints[0],
      timeout: DEADLINE,
      discover: true,
      auth: ROOT,
      fetch: counting('reader'),
    });
    // Idle longer than the token TTL between calls: its token has always expired.
    const idle = new Etcd({ endpoints: cluster.endpoints, timeout: DEADLINE, auth: ROOT, fetch: counting('idle') });
    // The watcher's client knows the members and follows them as they come and go.
    const watcher = new Etcd({ endpoints: cluster.endpoints, timeout: DEADLINE, auth: ROOT });
    // Since the CVE-2026-33413 fix (3.5.28+, 3.6.9+, 3.7) a lease grant and keep-alive need a user.
    const keeper = new Etcd({ endpoints: cluster.endpoints, timeout: DEADLINE, auth: ROOT });
    const watch = watcher.watch({ prefix });
    try {
      await watch.ready;
      const events: WatchEvent[] = [];
      let watchError: unknown;
      const watching = (async () => {
        try {
          for await (const event of watch) events.push(event);
        } catch (error) {
          watchError = error;
        }
      })();
      const lease = await keeper.grant(LEASE_TTL);
      let falseLoss: unknown;
      lease.lost.addEventListener('abort', () => (falseLoss = lease.lost.reason), { once: true });

      const figures = {
        writes: 0,
        acknowledged: 0,
        refused: 0,
        ambiguous: 0,
        timedOut: 0,
        otherErrors: 0,
        reads: 0,
        failedReads: 0,
        restarts: 0,
        leaderRestarts: 0,
        losses: 0,
        refusedButApplied: 0,
        ambiguousApplied: 0,
        hungCalls: 0,
        slowestCallMs: 0,
        authentications: { writer: 0, reader: 0, idle: 0 },
        idleCalls: 0,
        idleFailures: 0,
        events: 0,
        watchDuplicates: 0,
        watchMissed: 0,
        watchOutOfOrder: 0,
        watchReconnects: 0,
        leaseFalseLosses: 0,
        leaseLossReportedMs: 0,
      };
      const acknowledged = new Map<string, string>();
      const refused: string[] = [];
      const ambiguous: string[] = [];
      const unexpected: unknown[] = [];
      const readFailures: Record<string, number> = {};
      const readFailureSamples: string[] = [];
      let faultsDone = false;

      const account = (result: Timed<unknown>) => {
        figures.slowestCallMs = Math.max(figures.slowestCallMs, Math.round(result.ms));
        if (result.ms > DEADLINE + MARGIN) figures.hungCalls++;
      };

      const writing = (async () => {
        for (let i = 0; i < MAX_WRITES && !(faultsDone && i >= 200); i++) {
          const key = `${prefix}${String(i).padStart(5, '0')}`;
          const value = `value-${i}`;
          figures.writes++;
          const result = await timed(() => writer.put(key, value));
          account(result);
          if (result.error === undefined) {
            figures.acknowledged++;
            acknowledged.set(key, value);
          } else if (result.error instanceof UnavailableError && !result.error.mayHaveApplied) {
            figures.refused++;
            refused.push(key);
          } else if (result.error instanceof UnavailableError) {
            figures.ambiguous++;
            ambiguous.push(key);
          } else if (result.error instanceof TimeoutError) {
            figures.timedOut++;
            ambiguous.push(key);
          } else {
            figures.otherErrors++;
            ambiguous.push(key);
            unexpected.push(result.error);
          }
          await sleep(WRITE_PAUSE);
        }
      })();

      const reading = (async () => {
        while (!faultsDone) {
          figures.reads++;
          const result = await timed(() => reader.count({ prefix }));
          account(result);
          if (result.error !== undefined) {
            figures.failedReads++;
            const name = (result.error as Error).name;
            readFailures[name] = (readFailures[name] ?? 0) + 1;
            if (readFailureSamples.length < 3)
              readFailureSamples.push(`${name}: ${(result.error as Error).message} (${Math.round(result.ms)} ms)`);
          }
          await sleep(50);
        }
      })();

      const idling = (async () => {
        while (!faultsDone) {
          await sleep(3_500);
          figures.idleCalls++;
          const result = await timed(() => idle.get(`${prefix}00000`));
          account(result);
          if (result.error === undefined) continue;
          figures.idleFailures++;
          if (!(result.error instanceof UnavailableError || result.error instanceof TimeoutError))
            unexpected.push(result.error);
        }
      })();

      try {
        let follower = 0;
        for (let r = 0; r < RESTARTS; r++) {
          const leader = await cluster.leaderIndex();
          let victim: number;
          if (r % 2 === 0 && leader !== undefined) {
            victim = leader;
            figures.leaderRestarts++;
          } else {
            do victim = follower++ % 3;
            while (victim === leader);
          }
          await cluster.kill(victim);
          await sleep(500);
          await cluster.restart(victim);
          figures.restarts++;
          await sleep(700);
        }
      } finally {
        faultsDone = true;
        await Promise.all([writing, reading, idling]);
      }

      // Every member is back: read everything once, linearizably.
      const stored = new Map<string, string>();
      for await (const kv of writer.scan({ prefix })) stored.set(kv.keyText, kv.valueText);
      for (const [key, value] of acknowledged) if (stored.get(key) !== value) figures.losses++;
      for (const key of refused) if (stored.has(key)) figures.refusedButApplied++;
      for (const key of ambiguous) if (stored.has(key)) figures.ambiguousApplied++;

      // Every stored write (acknowledged or not) is seen by the watcher exactly once, in order.
      const lastRevision = Math.max(0, ...[...(await writer.range({ prefix })).kvs].map((kv) => kv.modRevision));
      await eventually(
        () => events.some((e) => e.revision >= lastRevision) || watchError !== undefined,
        'the watcher to catch up',
        30_000,
      );
      watch.close();
      await watching;
      const perKey = new Map<string, number>();
      for (const event of events) perKey.set(event.kv.keyText, (perKey.get(event.kv.keyText) ?? 0) + 1);
      figures.events = events.length;
      for (const [key, value] of stored) {
        const times = perKey.get(key) ?? 0;
        if (times === 0) figures.watchMissed++;
        if (times > 1) figures.watchDuplicates += times - 1;
        if (times === 1 && events.find((e) => e.kv.keyText === key)!.kv.valueText !== value) figures.watchMissed++;
      }
      for (let i = 1; i < events.length; i++)
        if (events[i]!.revision <= events[i - 1]!.revision) figures.watchOutOfOrder++;
      figures.watchReconnects = watch.reconnects;

      figures.authentications = { ...authentications };
      figures.leaseFalseLosses = falseLoss === undefined ? 0 : 1;
      // A real loss (a revoke by another client) is reported within the TTL.
      const lost = lostWithin(lease, LEASE_TTL * 1_000);
      await writer.revoke(lease.id);
      figures.leaseLossReportedMs = Math.round(await lost);

      console.log(`fault-test figures: ${JSON.stringify({ ...figures, readFailures })}`);
      if (readFailureSamples.length > 0) console.log(`failed reads, for instance: ${readFailureSamples.join('; ')}`);
      assert.equal(watchError, undefined, `the watch ended with ${String(watchError)}`);
      assert.equal(figures.events, stored.size, 'one event per stored write');
      assert.equal(figures.watchMissed, 0, 'the watcher saw every write');
      assert.equal(figures.watchDuplicates, 0, 'the watcher saw no write twice');
      assert.equal(figures.watchOutOfOrder, 0, 'the watcher saw writes in revision order');
      assert.equal(figures.leaseFalseLosses, 0, `the lease survived member failures (${String(falseLoss)})`);
      assert.equal(unexpected.length, 0, `unexpected errors: ${unexpected.map(String).join('; ')}`);
      assert.equal(figures.restarts, RESTARTS);
      assert.deepEqual(
        [...reader.transport.endpoints].sort(),
        [...cluster.endpoints].sort(),
        'the reader discovered every member',
      );
      assert.ok(figures.leaderRestarts >= RESTARTS / 2 - 1, 'the leader was among the victims');
      assert.equal(figures.losses, 0, 'every acknowledged write is readable');
      assert.equal(figures.refusedButApplied, 0, 'a write reported as refused was not applied');
      assert.equal(
        figures.hungCalls,
        0,
        `every call settled within its deadline (slowest: ${figures.slowestCallMs} ms)`,
      );
      assert.ok(figures.slowestCallMs <= DEADLINE + MARGIN);
      assert.ok(figures.acknowledged > figures.writes / 2, 'most writes went through');
      // Reads are idempotent: a dead member costs an attempt, and the same call goes on to another.
      // The reader knew one member only; without failover every kill of it fails its reads.
      assert.ok(figures.reads >= 50, `${figures.reads} reads`);
      assert.ok(
        figures.failedReads <= 1,
        `${figures.failedReads} of ${figures.reads} reads failed: ${readFailureSamples.join('; ')}`,
      );
      assert.equal(figures.idleFailures, 0, 'a call whose token expired while idle renews it and succeeds');
      // Idle calls found their token expired (etcd drops it 3 to 4 s after its last use) and
      // authenticated again, at most once per member they tried, without failing.
      assert.ok(
        authentications.idle >= 2 && authentications.idle <= 2 * figures.idleCalls + 1,
        `idle client: ${authentications.idle} authentications for ${figures.idleCalls} calls`,
      );
      // Busy clients authenticate again when they move to a member that does not know their token
      // (simple tokens are per member), not on every call.
      for (const who of ['writer', 'reader'] as const) {
        assert.ok(
          authentications[who] >= 1 && authentications[who] <= 4 * RESTARTS,
          `${who}: ${authentications[who]} authentications`,
        );
      }
    } finally {
      watch.close();
      for (const client of [writer, reader, idle, watcher, keeper]) client.close();
    }
  });

  test('a frozen member (ports open, no answers): the read that meets it fails over within its call, the others skip the member, and calls that can only reach it end at their deadline', {
    timeout: 60_000,
  }, async () => {
    const FROZEN_DEADLINE = 3_000; // the first attempt on the frozen member lasts 1 s; 2 s remain for another member on a busy machine
    const leader = await cluster.leaderIndex();
    const frozen = [0, 1, 2].find((i) => i !== leader)!;
    const others = cluster.endpoints.filter((_, i) => i !== frozen);
    const etcd = new Etcd({ endpoints: [cluster.endpoints[frozen]!, ...others], timeout: FROZEN_DEADLINE, auth: ROOT });
    // Knows the frozen member only: its calls cannot succeed and must end at their deadline.
    const stuck = new Etcd({ endpoints: [cluster.endpoints[frozen]!], timeout: FROZEN_DEADLINE, auth: ROOT });
    const reads: Timed<number>[] = [];
    let stuckPut: Timed<unknown> | undefined;
    let stuckRead: Timed<unknown> | undefined;
    try {
      await etcd.put(`${uniquePrefix('frozen')}k`, 'v');
      cluster.freeze(frozen);
      try {
        for (let i = 0; i < 10; i++) reads.push(await timed(() => etcd.count({ prefix: 'test/' })));
        [stuckPut, stuckRead] = await Promise.all([
          timed(() => stuck.put(`${uniquePrefix('frozen')}stuck`, 'v')),
          timed(() => stuck.count({ prefix: 'test/' })),
        ]);
      } finally {
        cluster.thaw(frozen);
      }
    } finally {
      etcd.close();
      stuck.close();
    }
    const outcome = (r: Timed<unknown>) => (r.error === undefined ? 'ok' : (r.error as Error).name);
    console.log(
      `frozen-member reads: ${reads.map((r) => `${outcome(r)} ${Math.round(r.ms)} ms`).join(', ')}; stuck put ${outcome(stuckPut!)} ${Math.round(stuckPut!.ms)} ms, stuck read ${outcome(stuckRead!)} ${Math.round(stuckRead!.ms)} ms`,
    );
    // The read that meets the frozen member (the first, unless the pool had already moved on to
    // another member) has its attempt there time out (a third of the deadline, at least 1 s) and
    // succeeds on another member within its deadline.
    assert.deepEqual(reads.map(outcome), Array(10).fill('ok'), 'every read succeeds, the one that met it included');
    const met = reads.findIndex((read) => read.ms >= 1_000);
    if (met >= 0) assert.ok(reads[met]!.ms <= FROZEN_DEADLINE + MARGIN);
    // No other read waits for the frozen member (an attempt on it lasts 1 s).
    for (const [i, read] of reads.entries())
      if (i !== met) assert.ok(read.ms < 1_000, `read ${i} took ${Math.round(read.ms)} ms, after read ${met} met it`);
    for (const call of [stuckPut!, stuckRead!]) {
      assert.ok(
        call.error instanceof TimeoutError,
        `a call to the frozen member alone ends with a TimeoutError, not ${String(call.error)}`,
      );
      assert.ok(
        call.ms >= FROZEN_DEADLINE - 50 && call.ms <= FROZEN_DEADLINE + MARGIN,
        `a call with a ${FROZEN_DEADLINE} ms deadline took ${Math.round(call.ms)} ms`,
      );
    }
  });
});
