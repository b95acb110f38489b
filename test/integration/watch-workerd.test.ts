// A client kept at module scope in workerd, opening a watch in each of several requests: each
// request gets its events, or a typed error within its deadline; none hangs. In workerd a
// connection (and its stream reader) belongs to the request that opened it.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { freePort } from '../../scripts/etcd.ts';
import { closedAfter, uniquePrefix, useEtcd } from '../helpers/etcd.ts';

const root = resolve(import.meta.dirname, '../..');
const etcdUnderTest = useEtcd();
const client = closedAfter(() => new Etcd({ endpoints: etcdUnderTest.endpoint }));
/** The worker's client has a 3 s deadline; a request still pending after this hangs. */
const HANG_MS = 15_000;

async function get(url: string, hangMs = HANG_MS): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, { signal: AbortSignal.timeout(hangMs) });
  return { status: response.status, body: await response.text(), ms: performance.now() - started };
}

/** Starts workerd serving the module-scope worker; resolves once it answers. */
async function startWorkerd(): Promise<{ port: number; child: ChildProcess; log: () => string }> {
  const port = await freePort();
  const child = spawn(
    resolve(root, 'node_modules/.bin/workerd'),
    ['serve', 'test/runtimes/module-scope-workerd.capnp', '--socket-addr', `http=127.0.0.1:${port}`],
    { cwd: root },
  );
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  for (let attempt = 0; ; attempt++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
      return { port, child, log: () => log };
    } catch (error) {
      if (attempt === 100) {
        child.kill('SIGKILL');
        throw new Error(`workerd did not start: ${String(error)}\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('workerd, a client at module scope', () => {
  test('a watch opened in each of three requests is created and delivers in each, none hangs', {
    timeout: 90_000,
  }, async () => {
    const { port, child, log } = await startWorkerd();
    try {
      const base = `http://127.0.0.1:${port}/?etcd=${encodeURIComponent(etcdUnderTest.endpoint)}`;
      const answers = [];
      for (let n = 1; n <= 3; n++) {
        const answer = await get(`${base}&n=${n}`).catch((error: unknown) => ({
          status: 0,
          body: `request ${n} hung: ${String(error)}`,
          ms: HANG_MS,
        }));
        answers.push(answer);
      }
      console.log(answers.map((a) => `${a.status} ${a.body}`).join('\n'));
      for (const [i, answer] of answers.entries())
        assert.equal(answer.status, 200, `request ${i + 1}: ${answer.body}\n${log().slice(-2000)}`);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('three overlapping requests: the one whose watch opened the connection last leaves, the other two receive every event for 10 s after', {
    timeout: 90_000,
  }, async () => {
    const { port, child, log } = await startWorkerd();
    const etcd = client();
    const prefix = uniquePrefix('workerd-overlap');
    const url = (n: number, ms: number) =>
      `http://127.0.0.1:${port}/?etcd=${encodeURIComponent(etcdUnderTest.endpoint)}&n=${n}&prefix=${encodeURIComponent(prefix)}&collect=${ms}`;
    type Answer = { status: number; body: string };
    const ask = (n: number, ms: number): Promise<Answer> =>
      get(url(n, ms), ms + 10_000).catch((error: unknown) => ({
        status: 0,
        body: `request ${n} failed: ${String(error)}`,
      }));
    try {
      // Two long requests, then a third that joins last (its change opens the shared connection
      // in today's client) and leaves after 2 s.
      const long = [ask(1, 25_000)];
      await sleep(300);
      long.push(ask(2, 25_000));
      await sleep(300);
      const short = ask(3, 2_000);
      const written: number[] = [];
      let i = 0;
      const write = async () => written.push((await etcd.put(`${prefix}k${i++}`, 'v')).revision);
      let shortAnswer: Answer | undefined;
      void short.then((answer) => (shortAnswer = answer));
      while (shortAnswer === undefined) {
        await write();
        await sleep(100);
      }
      // The third request has ended: write for 10 s more, then tell the others to stop.
      const until = Date.now() + 10_000;
      while (Date.now() < until) {
        await write();
        await sleep(100);
      }
      await etcd.put(`${prefix}stop`, '');
      const answers = await Promise.all(long);
      assert.equal(shortAnswer.status, 200, `request 3: ${shortAnswer.body}\n${log().slice(-2000)}`);
      for (const [index, answer] of answers.entries()) {
        assert.equal(answer.status, 200, `request ${index + 1}: ${answer.body}\n${log().slice(-2000)}`);
        const { ready, revisions, stopped } = JSON.parse(answer.body) as {
          ready: number;
          revisions: number[];
          stopped: boolean;
        };
        const expected = written.filter((revision) => revision > ready);
        const seen = new Set(revisions);
        const missing = expected.filter((revision) => !seen.has(revision));
        assert.ok(
          expected.length >= 50,
          `request ${index + 1} should have had 50+ events to see (a write every 100 ms for 10 s, fewer on a busy machine), had ${expected.length}`,
        );
        assert.deepEqual(
          missing.length,
          0,
          `request ${index + 1} missed ${missing.length} of ${expected.length} events (first missing: ${missing[0]}, last seen: ${revisions.at(-1)}, stopped: ${stopped})`,
        );
        assert.equal(stopped, true, `request ${index + 1} did not see the stop key`);
        assert.deepEqual(
          revisions,
          [...revisions].sort((a, b) => a - b),
          'in revision order',
        );
        assert.equal(new Set(revisions).size, revisions.length, 'no event twice');
      }
    } finally {
      child.kill('SIGKILL');
    }
  });
});
