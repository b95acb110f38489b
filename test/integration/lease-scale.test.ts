// 10,000 leases kept alive by one client through five TTLs (issue 22, item 3). etcd 3.4's gateway
// sometimes answers a long keep-alive body only in part; before the fix, 1,000 leases of TTL 5 s
// on one client were all lost in 3 runs of 4.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd, type Lease } from 'etcd-fetch';
import { closedAfter, useEtcd } from '../helpers/etcd.ts';

// In memory: granting 10,000 leases is 10,000 raft writes, and on a busy 2-core machine their
// fsyncs alone slowed etcd's renewals below what 10,000 leases of TTL 5 s need.
const etcdUnderTest = useEtcd({ ownServer: true, inMemory: true });
const client = closedAfter(
  (fetch?: typeof globalThis.fetch) => new Etcd({ endpoints: [etcdUnderTest.endpoint], ...(fetch ? { fetch } : {}) }),
);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const LEASES = 10_000;
const TTL = 5;
const KEEP_MS = 26_000;
const CONCURRENCY = 32;

/** Runs `work` for 0..count-1, at most `limit` at a time. */
async function bounded<T>(count: number, limit: number, work: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await work(i);
      }
    }),
  );
  return results;
}

describe('leases at scale', () => {
  test(`${LEASES} leases of TTL ${TTL} s on one client live through five TTLs with no false lost`, {
    timeout: 300_000,
  }, async (t) => {
    let requests = 0;
    let refreshed = 0;
    const counting = (async (input: Request, init?: RequestInit) => {
      if (input.url.endsWith('/v3/lease/keepalive')) {
        requests++;
        refreshed += ((await input.clone().text()).match(/"ID"/g) ?? []).length;
      }
      return fetch(input, init);
    }) as typeof fetch;
    const etcd = client(counting);
    const firstLost: string[] = [];
    const grantStart = performance.now();
    const leases: Lease[] = await bounded(LEASES, CONCURRENCY, async () => {
      const lease = await etcd.grant(TTL);
      lease.lost.addEventListener(
        'abort',
        () => firstLost.push(`${lease.id}: ${(lease.lost.reason as Error).message}`),
        { once: true },
      );
      return lease;
    });
    t.diagnostic(`granted ${LEASES} leases in ${Math.round(performance.now() - grantStart)} ms`);
    try {
      assert.deepEqual(firstLost.slice(0, 3), [], `${firstLost.length} leases lost while granting`);
      const cpuBefore = process.cpuUsage();
      const [requestsBefore, refreshedBefore] = [requests, refreshed];
      const keepStart = performance.now();
      while (performance.now() - keepStart < KEEP_MS) {
        await sleep(500);
        assert.equal(
          firstLost.length,
          0,
          `${firstLost.length} leases lost after ${Math.round(performance.now() - keepStart)} ms, first: ${firstLost[0]}`,
        );
      }
      const cpu = process.cpuUsage(cpuBefore);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      const rounds = (refreshed - refreshedBefore) / LEASES;
      t.diagnostic(
        `kept for ${KEEP_MS} ms: ${requests - requestsBefore} keep-alive requests carried ${refreshed - refreshedBefore} refreshes (${rounds.toFixed(1)} per lease); ` +
          `process CPU ${Math.round(cpuMs)} ms, ${Math.round(cpuMs / rounds)} ms per round of ${LEASES} leases (test's counting fetch included)`,
      );
      const other = client();
      for (const lease of leases.filter((_, i) => i % 500 === 0)) {
        const { ttl } = await other.timeToLive(lease.id);
        assert.ok(ttl > 0, `lease ${lease.id} alive in etcd (TTL ${ttl})`);
      }
      assert.equal(leases.filter((lease) => lease.isLost).length, 0);
    } finally {
      // The suite's own etcd is stopped after it: revoking 10,000 leases one by one would only add a minute.
      etcd.close();
    }
  });
});
