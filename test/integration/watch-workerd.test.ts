// A client kept at module scope in workerd, opening a watch in each of several requests: each
// request gets its events, or a typed error within its deadline; none hangs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { freePort } from '../../scripts/etcd.ts';
import { useEtcd } from '../helpers/etcd.ts';

const root = resolve(import.meta.dirname, '../..');
const etcdUnderTest = useEtcd();
/** The worker's client has a 3 s deadline; a request still pending after this hangs. */
const HANG_MS = 15_000;

async function get(url: string): Promise<{ status: number; body: string; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, { signal: AbortSignal.timeout(HANG_MS) });
  return { status: response.status, body: await response.text(), ms: performance.now() - started };
}

describe('workerd, a client at module scope', () => {
  test('a watch opened in each of three requests is created and delivers in each, none hangs', { timeout: 90_000 }, async () => {
    const port = await freePort();
    const child = spawn(resolve(root, 'node_modules/.bin/workerd'), ['serve', 'test/runtimes/module-scope-workerd.capnp', '--socket-addr', `http=127.0.0.1:${port}`], { cwd: root });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    try {
      const base = `http://127.0.0.1:${port}/?etcd=${encodeURIComponent(etcdUnderTest.endpoint)}`;
      for (let attempt = 0; ; attempt++) {
        try {
          await fetch(`http://127.0.0.1:${port}/`).then((r) => r.text());
          break;
        } catch (error) {
          if (attempt === 100) throw new Error(`workerd did not start: ${String(error)}\n${log}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const answers = [];
      for (let n = 1; n <= 3; n++) {
        const answer = await get(`${base}&n=${n}`).catch((error: unknown) => ({ status: 0, body: `request ${n} hung: ${String(error)}`, ms: HANG_MS }));
        answers.push(answer);
      }
      console.log(answers.map((a) => `${a.status} ${a.body}`).join('\n'));
      for (const [i, answer] of answers.entries()) assert.equal(answer.status, 200, `request ${i + 1}: ${answer.body}\n${log.slice(-2000)}`);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
