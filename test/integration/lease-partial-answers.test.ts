// etcd 3.4's gateway sometimes answers only the first part of a keep-alive request (it discards
// the part of the body it had not read when it flushed its first answer). Here every keep-alive
// answer of the real etcd is cut mid-line after a few complete lines, the way that gateway or a
// proxy in between can leave it: the client must keep the answers it got, ask again for the
// rest at once, and never call a lease lost that etcd did not say is gone.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd, type Lease, LeaseLostError } from 'etcd-fetch';
import { closedAfter, useEtcd } from '../helpers/etcd.ts';
import { type Fault, startFaultProxy } from '../helpers/fault-proxy.ts';

const etcdUnderTest = useEtcd();
const client = closedAfter(
  (fetch?: typeof globalThis.fetch) => new Etcd({ endpoints: [etcdUnderTest.endpoint], ...(fetch ? { fetch } : {}) }),
);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface CutOptions {
  /** Complete answer lines let through before the cut. */
  lines: number;
  /** After the half line: end the body cleanly (as the gateway does) or break it off with an error. */
  ending: 'end' | 'error';
}

/**
 * A `fetch` that passes everything to the real etcd, but lets through only `lines` complete lines
 * of each keep-alive answer and half of the next one. Notes the lease IDs of each keep-alive request.
 */
function cuttingFetch(cut: CutOptions, requests: string[][]): typeof fetch {
  return (async (input: Request, init?: RequestInit) => {
    if (!input.url.endsWith('/v3/lease/keepalive')) return fetch(input, init);
    const sent = await input.clone().text();
    requests.push(
      sent
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => (JSON.parse(line) as { ID: string }).ID),
    );
    const response = await fetch(input, init);
    const text = await response.text();
    const all = text.split('\n');
    const kept = all
      .slice(0, cut.lines)
      .map((line) => `${line}\n`)
      .join('');
    const next = all[cut.lines] ?? '';
    const half = next.slice(0, Math.floor(next.length / 2));
    // The error comes on the read after the data (erroring a stream drops what it still queues).
    let pulls = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(new TextEncoder().encode(kept + half));
        else if (cut.ending === 'end') controller.close();
        else controller.error(new TypeError('terminated: other side closed'));
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  }) as typeof fetch;
}

function falseLosses(leases: Lease[]): string[] {
  return leases.filter((lease) => lease.isLost).map((lease) => `${lease.id}: ${(lease.lost.reason as Error).message}`);
}

describe('keep-alive answers cut short', () => {
  for (const ending of ['end', 'error'] as const) {
    test(`an answer cut mid-line (then ${ending === 'end' ? 'ended cleanly' : 'broken off'}) keeps the answers received, re-asks only the rest, and loses no lease`, async (t) => {
      const requests: string[][] = [];
      const etcd = client(cuttingFetch({ lines: 3, ending }, requests));
      const leases = await Promise.all(Array.from({ length: 20 }, () => etcd.grant(2)));
      try {
        // Three TTLs: without keeping partial answers, every lease is lost after the first.
        for (let waited = 0; waited < 6_000; waited += 250) {
          await sleep(250);
          assert.deepEqual(falseLosses(leases), [], `after ${waited + 250} ms`);
        }
        const checked = await client().timeToLive(leases[19]!);
        assert.ok(checked.ttl > 0, `the last lease is alive in etcd (TTL ${checked.ttl})`);
        // Some request asked again for exactly what an earlier one left unanswered.
        const reasked = requests.some(
          (ids, i) =>
            i > 0 &&
            requests[i - 1]!.length === ids.length + 3 &&
            ids.every((id) => requests[i - 1]!.slice(3).includes(id)),
        );
        t.diagnostic(
          `${requests.length} keep-alive requests carried ${requests.map((r) => r.length).join(', ')} leases`,
        );
        assert.ok(reasked, 'a request re-asked for the leases the cut answer left out, and only those');
      } finally {
        await Promise.all(leases.map((lease) => lease.revoke().catch(() => {})));
      }
    });
  }

  test('a lease etcd answers for without a TTL is lost; the others in the same cut answer live on', async () => {
    const requests: string[][] = [];
    const etcd = client(cuttingFetch({ lines: 2, ending: 'end' }, requests));
    const leases = await Promise.all(Array.from({ length: 6 }, () => etcd.grant(2)));
    const [gone, ...others] = leases;
    try {
      await client().revoke(gone!.id);
      for (let waited = 0; waited < 5_000 && !gone!.isLost; waited += 100) await sleep(100);
      assert.ok(gone!.lost.reason instanceof LeaseLostError, 'the revoked lease is reported lost');
      await sleep(4_000);
      assert.deepEqual(falseLosses(others), []);
    } finally {
      await Promise.all(others.map((lease) => lease.revoke().catch(() => {})));
    }
  });
});

describe('keep-alive answers cut short by a proxy in front of the real etcd', () => {
  const cuts: [string, Fault][] = [
    ['truncated mid-line, then ended cleanly', { kind: 'truncate', bytes: 700, end: 'clean' }],
    ['cut mid-line by a dropped connection', { kind: 'cutStream', afterBytes: 700 }],
  ];
  for (const [name, fault] of cuts) {
    test(`keep-alive answers ${name}: the answers received are kept, the rest re-asked, no lease lost`, async (t) => {
      const proxy = await startFaultProxy({
        upstream: etcdUnderTest.endpoint,
        fault: (request) => (request.path === '/v3/lease/keepalive' ? fault : undefined),
      });
      const etcd = new Etcd({ endpoints: [proxy.endpoint] });
      const leases = await Promise.all(Array.from({ length: 20 }, () => etcd.grant(2)));
      try {
        for (let waited = 0; waited < 6_000; waited += 250) {
          await sleep(250);
          assert.deepEqual(falseLosses(leases), [], `after ${waited + 250} ms`);
        }
        const sent = proxy.requests
          .filter((r) => r.path === '/v3/lease/keepalive')
          .map((r) =>
            r.body
              .split('\n')
              .filter((line) => line.trim() !== '')
              .map((line) => (JSON.parse(line) as { ID: string }).ID),
          );
        t.diagnostic(`${sent.length} keep-alive requests carried ${sent.map((ids) => ids.length).join(', ')} leases`);
        assert.ok(
          sent.some(
            (ids, i) => i > 0 && ids.length < sent[i - 1]!.length && ids.every((id) => sent[i - 1]!.includes(id)),
          ),
          'a request re-asked for part of the one before',
        );
        for (const lease of [leases[0]!, leases[19]!]) assert.ok((await client().timeToLive(lease)).ttl > 0);
      } finally {
        proxy.fault = undefined;
        await Promise.all(leases.map((lease) => lease.revoke().catch(() => {})));
        etcd.close();
        await proxy.close();
      }
    });
  }
});
