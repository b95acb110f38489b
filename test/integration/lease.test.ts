import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AbortedError,
  Etcd,
  FailedPreconditionError,
  keptLeases,
  type Lease,
  LeaseLostError,
  NotFoundError,
  TimeoutError,
} from 'etcd-fetch';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';

// Its own etcd: the last test kills and restarts it.
const etcdUnderTest = useEtcd({ ownServer: true });
const client = closedAfter(
  (fetch?: typeof globalThis.fetch) => new Etcd({ endpoints: [etcdUnderTest.endpoint], ...(fetch ? { fetch } : {}) }),
);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the time `lease` took to be lost, or rejects after `ms`. */
function lostWithin(lease: Lease, ms: number): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`lease ${lease.id} was not reported lost within ${ms} ms`)), ms);
    const done = () => {
      clearTimeout(timer);
      resolve(performance.now() - start);
    };
    if (lease.lost.aborted) done();
    else lease.lost.addEventListener('abort', done, { once: true });
  });
}

describe('leases against a real etcd', () => {
  test('grant gives a 64-bit decimal ID and the TTL; a key put with the lease shows in timeToLive', async () => {
    const etcd = client();
    const lease = await etcd.grant(10);
    try {
      assert.match(lease.id, /^\d+$/);
      assert.equal(lease.ttl, 10);
      const key = `${uniquePrefix('lease')}k`;
      await etcd.put(key, 'v', { lease });
      assert.equal((await etcd.get(key))?.lease, lease.id);
      const ttl = await lease.timeToLive({ keys: true });
      assert.equal(ttl.id, lease.id);
      assert.equal(ttl.grantedTtl, 10);
      assert.ok(ttl.ttl > 0 && ttl.ttl <= 10);
      assert.deepEqual(
        ttl.keys.map((k) => new TextDecoder().decode(k)),
        [key],
      );
      assert.ok((await etcd.leases()).includes(lease.id));
    } finally {
      await lease.revoke();
    }
  });

  test('the keep-alive loop keeps a 2 s lease and its key alive well past its TTL', async () => {
    const etcd = client();
    const lease = await etcd.grant(2);
    const key = `${uniquePrefix('lease')}kept`;
    await etcd.put(key, 'v', { lease });
    await sleep(5_000);
    assert.equal(lease.isLost, false);
    assert.ok((await lease.timeToLive()).ttl > 0);
    assert.equal((await etcd.get(key))?.valueText, 'v');
    await lease.revoke();
  });

  test('many leases are refreshed together: one keep-alive request carries them all', async (t) => {
    const bodies: string[] = [];
    const counting = (async (input: Request, init?: RequestInit) => {
      if (input.url.endsWith('/v3/lease/keepalive')) bodies.push(await input.clone().text());
      return fetch(input, init);
    }) as typeof fetch;
    const etcd = client(counting);
    const leases = await Promise.all(Array.from({ length: 20 }, () => etcd.grant(3)));
    await sleep(3_500);
    for (const lease of leases) assert.equal(lease.isLost, false);
    assert.ok(bodies.length >= 1, 'at least one refresh was sent');
    assert.ok(bodies.length < leases.length, `${bodies.length} keep-alive requests for ${leases.length} leases`);
    const lines = bodies.map((b) => b.trim().split('\n').length);
    t.diagnostic(`${bodies.length} keep-alive requests in 3.5 s carried ${lines.join(', ')} leases`);
    assert.equal(Math.max(...lines), leases.length);
    await Promise.all(leases.map((l) => l.revoke()));
  });

  test('a lease revoked by another client is reported lost within its TTL', async () => {
    const etcd = client();
    const lease = await etcd.grant(5);
    const lost = lostWithin(lease, 5_000);
    await client().revoke(lease.id);
    await lost;
    assert.ok(lease.lost.reason instanceof LeaseLostError);
    assert.equal((lease.lost.reason as LeaseLostError).leaseId, lease.id);
  });

  test('revoke deletes the keys and fires lost; revoking again is NotFoundError', async () => {
    const etcd = client();
    const lease = await etcd.grant(30);
    const key = `${uniquePrefix('lease')}gone`;
    await etcd.put(key, 'v', { lease: lease.id });
    await lease.revoke();
    assert.equal(lease.isLost, true);
    assert.equal(await etcd.get(key), undefined);
    assert.equal((await etcd.timeToLive(lease)).ttl, -1);
    await assert.rejects(etcd.revoke(lease), NotFoundError);
    await assert.rejects(etcd.keepAliveOnce(lease), LeaseLostError);
    await assert.rejects(etcd.put(key, 'v', { lease }), NotFoundError);
  });

  test('await using revokes the lease at the end of the scope', async () => {
    const etcd = client();
    let id = '';
    {
      await using lease = await etcd.grant(30);
      id = lease.id;
      assert.ok((await etcd.leases()).includes(id));
    }
    assert.ok(!(await etcd.leases()).includes(id));
  });

  test('grant with a chosen ID, a taken ID, keepAliveOnce and keepAlive: false', async () => {
    const etcd = client();
    const id = String(0x7000_0000_0000_0000n + BigInt(process.pid));
    const lease = await etcd.grant(30, { id, keepAlive: false });
    assert.equal(lease.id, id);
    assert.equal(keptLeases(etcd).includes(lease), false);
    await assert.rejects(etcd.grant(30, { id }), FailedPreconditionError);
    assert.equal(await lease.keepAliveOnce(), 30);
    await lease.revoke();
  });

  test('keep-alives keep their deadline and signal, and close() aborts the one in flight', async () => {
    // Every keep-alive hangs until its request is aborted; the rest goes to etcd.
    const aborted: number[] = [];
    const hanging = (async (input: Request, init?: RequestInit) => {
      if (!input.url.endsWith('/v3/lease/keepalive')) return fetch(input, init);
      const started = performance.now();
      return new Promise<Response>((_, reject) => {
        input.signal.addEventListener(
          'abort',
          () => {
            aborted.push(performance.now() - started);
            reject(input.signal.reason);
          },
          { once: true },
        );
      });
    }) as typeof fetch;
    const etcd = new Etcd({ endpoints: [etcdUnderTest.endpoint], fetch: hanging });
    // TTL 6: the loop's refresh goes at 2 s and its own deadline would end it only at 6 s.
    const lease = await etcd.grant(6);
    try {
      const started = performance.now();
      await assert.rejects(lease.keepAliveOnce({ timeout: 300 }), TimeoutError);
      assert.ok(performance.now() - started < 1_300, `timed out after ${Math.round(performance.now() - started)} ms`);
      await assert.rejects(lease.keepAliveOnce({ signal: AbortSignal.timeout(100) }), AbortedError);
      const seen = aborted.length;
      await sleep(2_500);
      etcd.close();
      for (let waited = 0; aborted.length === seen && waited < 1_000; waited += 50) await sleep(50);
      assert.ok(aborted.length > seen, 'close() aborted the keep-alive request in flight');
      assert.ok(lease.lost.reason instanceof LeaseLostError);
      assert.match((lease.lost.reason as Error).message, /client was closed/);
    } finally {
      etcd.close();
      await client()
        .revoke(lease.id)
        .catch(() => {});
    }
  });

  test('a lease whose keep-alives fail (etcd down) is reported lost within its TTL', async () => {
    const server = etcdUnderTest.server;
    assert.ok(server, 'needs its own etcd');
    const etcd = client();
    const lease = await etcd.grant(3);
    const lost = lostWithin(lease, 3_000);
    await server.kill();
    try {
      await lost;
      assert.match((lease.lost.reason as Error).message, /within its TTL/);
    } finally {
      await server.restart();
    }
  });
});
