// A composite or streamed admin call keeps its deadline: every step of it (resolving a member
// through the member list, then asking it; listing the members, then asking each; opening a
// snapshot, then waiting for its first chunk) shares ONE deadline, so the call settles within
// its timeout plus a margin, with a TimeoutError, whatever step stalls or is slow. The member
// stalls for real (the etcd process is stopped with SIGSTOP: its port accepts, nothing answers),
// or a proxy in front of the real etcd is slow (each answer 700 ms late: every step alone is
// within the deadline, two are not), or answers a snapshot's headers and then sends nothing.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Etcd, TimeoutError } from 'etcd-fetch';
import {
  alarmDisarm,
  alarmList,
  authStatus,
  clusterStatus,
  defragment,
  hash,
  memberList,
  moveLeader,
  snapshot,
  status,
} from 'etcd-fetch/admin';
import { useEtcd, versionUnderTest } from '../helpers/etcd.ts';

const etcdUnderTest = useEtcd({ ownServer: true });
const TIMEOUT = 1_000;
/** Generous for a busy 2-core machine; the breaks this catches took 2x the timeout, or forever. */
const MARGIN = 400;
/** How long a test waits for a call before calling it unbounded (far past any honest bound). */
const GIVE_UP = 6_000;

let memberId = '';
let proxy: Server;
let proxyEndpoint = '';
/**
 * What the proxy does: forward; `slow`: forward each call 700 ms late, with the member list's
 * client URLs pointing at the proxy (so calls aimed at a member come back through it);
 * `silent snapshot`: a snapshot gets its headers and then nothing.
 */
let mode: 'forward' | 'slow' | 'silent snapshot' = 'forward';
const SLOW_MS = 700;

/** Settles `promise` or reports it still pending after `GIVE_UP` ms: no test relies on the runner's timeout. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; outcome: unknown }> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    promise.then(
      (value) => ({ value }),
      (error: unknown) => error,
    ),
    new Promise((resolve) => (timer = setTimeout(() => resolve('still pending'), GIVE_UP))),
  ]);
  clearTimeout(timer);
  return { ms: Math.round(performance.now() - started), outcome };
}

function assertTimedOut({ ms, outcome }: { ms: number; outcome: unknown }, what: string): void {
  if (process.env.SHOW_MS) console.log(`MS ${what} ${ms}`);
  assert.ok(
    outcome instanceof TimeoutError,
    `${what}: expected a TimeoutError after ${ms} ms, got ${outcome instanceof Error ? `${outcome.name}: ${outcome.message}` : JSON.stringify(outcome)}`,
  );
  assert.ok(ms < TIMEOUT + MARGIN, `${what}: settled after ${ms} ms, past its ${TIMEOUT} ms deadline + ${MARGIN} ms`);
}

/** Runs `body` while the etcd process is stopped (its port accepts, nothing answers). */
async function whileStopped<T>(body: () => Promise<T>): Promise<T> {
  const pid = etcdUnderTest.server!.pid!;
  process.kill(pid, 'SIGSTOP');
  try {
    return await body();
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}

describe('composite and streamed admin calls keep their deadline', () => {
  before(async () => {
    const etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
    memberId = (await memberList(etcd)).members[0]!.id;
    etcd.close();
    proxy = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      if (mode === 'silent snapshot' && request.url === '/v3/maintenance/snapshot') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.flushHeaders();
        return;
      }
      if (mode === 'slow') await new Promise((resolve) => setTimeout(resolve, SLOW_MS));
      const answer = await fetch(`${etcdUnderTest.endpoint}${request.url}`, {
        method: 'POST',
        body: Buffer.concat(chunks),
      }).catch(() => undefined);
      if (answer === undefined || response.destroyed) return void response.destroy();
      let body = Buffer.from(await answer.arrayBuffer());
      if (mode === 'slow' && request.url === '/v3/cluster/member/list' && answer.ok) {
        const list = JSON.parse(body.toString()) as { members: Array<{ clientURLs: string[] }> };
        for (const member of list.members) member.clientURLs = [proxyEndpoint];
        body = Buffer.from(JSON.stringify(list));
      }
      response.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
      response.end(body);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyEndpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  after(async () => {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
  });

  test('a snapshot whose member sends headers and then no chunk ends at its deadline', async () => {
    const etcd = new Etcd({ endpoints: proxyEndpoint });
    mode = 'silent snapshot';
    try {
      assertTimedOut(await timed(snapshot(etcd, { timeout: TIMEOUT })), 'snapshot through a silent proxy');
      // The client's own timeout is the default deadline.
      const byDefault = new Etcd({ endpoints: proxyEndpoint, timeout: TIMEOUT });
      assertTimedOut(await timed(snapshot(byDefault)), 'snapshot with the client timeout');
      byDefault.close();
    } finally {
      mode = 'forward';
      etcd.close();
    }
  });

  test('a snapshot of a stopped member, named by its URL or ID, ends at its deadline', async () => {
    const etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
    try {
      await whileStopped(async () => {
        assertTimedOut(await timed(snapshot(etcd, { timeout: TIMEOUT })), 'snapshot of the current endpoint');
        assertTimedOut(await timed(snapshot(etcd, { timeout: TIMEOUT, member: memberId })), 'snapshot of a member ID');
      });
    } finally {
      etcd.close();
    }
  });

  test('calls aimed at a member (member list, then the call) end at their deadline when each step alone is in time', async () => {
    const etcd = new Etcd({ endpoints: proxyEndpoint });
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['status({ member: id })', () => status(etcd, { member: memberId, timeout: TIMEOUT })],
      ['alarmList({ member: id })', () => alarmList(etcd, { member: memberId, timeout: TIMEOUT })],
      ['alarmList({ member: url })', () => alarmList(etcd, { member: proxyEndpoint, timeout: TIMEOUT })],
      ['hash({ member: id })', () => hash(etcd, { member: memberId, timeout: TIMEOUT })],
      ['defragment({ member: id })', () => defragment(etcd, { member: memberId, timeout: TIMEOUT })],
      ['moveLeader(url)', () => moveLeader(etcd, proxyEndpoint, { timeout: TIMEOUT })],
      [
        'clusterStatus()',
        () => clusterStatus(etcd, { timeout: TIMEOUT }).then((reports) => Promise.reject(reports[0]?.error ?? reports)),
      ],
      ['snapshot({ member: id })', () => snapshot(etcd, { member: memberId, timeout: TIMEOUT })],
    ];
    // Composite only on 3.4, which has no /v3/auth/status (the user list, then a check); 3.5+ answer it in one step.
    const version = versionUnderTest();
    if (version === undefined || version.startsWith('3.4'))
      calls.push(['authStatus()', () => authStatus(etcd, { timeout: TIMEOUT })]);
    mode = 'slow';
    try {
      const failures: string[] = [];
      for (const [what, call] of calls) {
        try {
          assertTimedOut(await timed(call()), `${what} through a slow proxy`);
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
      assert.deepEqual(failures, []);
    } finally {
      mode = 'forward';
      etcd.close();
    }
  });

  test('calls aimed at a stopped member end at their deadline', async () => {
    const etcd = new Etcd({ endpoints: etcdUnderTest.endpoint });
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['status({ member: id })', () => status(etcd, { member: memberId, timeout: TIMEOUT })],
      ['alarmList({ member: id })', () => alarmList(etcd, { member: memberId, timeout: TIMEOUT })],
      ['alarmDisarm()', () => alarmDisarm(etcd, undefined, { timeout: TIMEOUT })],
      ['moveLeader(url)', () => moveLeader(etcd, etcdUnderTest.endpoint, { timeout: TIMEOUT })],
      ['authStatus()', () => authStatus(etcd, { timeout: TIMEOUT })],
    ];
    try {
      await whileStopped(async () => {
        for (const [what, call] of calls) assertTimedOut(await timed(call()), what);
      });
    } finally {
      etcd.close();
    }
  });

  test('clusterStatus of a stopped cluster settles at its deadline, each report a TimeoutError', async () => {
    for (const [what, etcd, options] of [
      ['a call timeout', new Etcd({ endpoints: etcdUnderTest.endpoint }), { timeout: TIMEOUT }],
      ['the client timeout', new Etcd({ endpoints: etcdUnderTest.endpoint, timeout: TIMEOUT }), {}],
    ] as const) {
      try {
        await whileStopped(async () => {
          const { ms, outcome } = await timed(clusterStatus(etcd, options));
          const reports = (outcome as { value?: Array<{ error?: unknown }> }).value;
          assert.ok(Array.isArray(reports) && reports.length > 0, `clusterStatus with ${what}: ${String(outcome)}`);
          for (const report of reports) assertTimedOut({ ms, outcome: report.error }, `clusterStatus with ${what}`);
        });
      } finally {
        etcd.close();
      }
    }
  });
});
