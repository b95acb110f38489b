// Three relay processes (relayWatchNode, one resumeSecret) behind a round-robin proxy, against a
// real etcd. One relay is killed mid-stream: its subscribers reconnect through the proxy to the
// others, one of which still holds their last event in its ring (a resume from the ring), the
// other of which keeps only the newest event (a resume from etcd by revision, then a hand-over to
// its shared watch). Every subscriber sees every put exactly once, in order.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, test } from 'node:test';
import { Etcd } from 'etcd-fetch';
import { subscribe } from 'etcd-fetch/relay';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { type RoundRobinProxy, startRoundRobinProxy } from '../helpers/round-robin-proxy.ts';

const etcdUnderTest = useEtcd();
const server = resolve(import.meta.dirname, 'relay-scale-server.ts');
const children: ChildProcess[] = [];
let proxy: RoundRobinProxy | undefined;
const abort = new AbortController();
after(async () => {
  abort.abort();
  for (const child of children) child.kill('SIGKILL');
  await proxy?.close();
});

/** A relay process keeping `ringEvents` events for resumes; resolves with its port. */
async function startRelay(ringEvents: number): Promise<number> {
  const child = spawn(process.execPath, [server, etcdUnderTest.endpoint, String(ringEvents)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  const line = await new Promise<string>((done, fail) => {
    createInterface({ input: child.stdout! }).once('line', done);
    child.once('exit', (code) => fail(new Error(`a relay exited with ${code}`)));
  });
  return Number(line.split(' ')[1]);
}

const stats = async (port: number) =>
  (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { streams: number; served: number };

const SUBSCRIBERS = 12;
const PUTS = 60;
const KILL_AFTER = 20;

test('subscribers of a killed relay resume on the others (from the ring, and from etcd), losing and repeating nothing', async () => {
  // A and B keep 10 000 events; C only the newest one, so what a resumer missed is not in its ring.
  const [a, b, c] = await Promise.all([startRelay(10_000), startRelay(10_000), startRelay(1)]);
  proxy = await startRoundRobinProxy([a!, b!, c!]);
  const prefix = uniquePrefix('relay-scale-out');
  const url = `http://127.0.0.1:${proxy.port}/events?prefix=${encodeURIComponent(prefix)}`;

  const seen: string[][] = [];
  let reconnects = 0;
  const readers: Promise<void>[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const keys: string[] = [];
    seen.push(keys);
    // One at a time, so the proxy deals them out A, B, C, A, ...: four per relay.
    let onReady!: () => void;
    const ready = new Promise<void>((done) => (onReady = done));
    readers.push(
      (async () => {
        const events = subscribe(url, {
          signal: abort.signal,
          onReady: () => onReady(),
          onReconnect: () => reconnects++,
        });
        for await (const event of events) {
          keys.push(event.kv.keyText.slice(prefix.length));
          if (keys.length === PUTS) return;
        }
      })(),
    );
    await ready;
  }

  const writer = new Etcd({ endpoints: etcdUnderTest.endpoint });
  try {
    for (let i = 0; i < PUTS; i++) {
      if (i === KILL_AFTER) {
        // New connections wait 300 ms (puts go on meanwhile, past what C's ring holds), then A dies.
        proxy.delayMs = 300;
        children[0]!.kill('SIGKILL');
      }
      await writer.put(`${prefix}k${String(i).padStart(2, '0')}`, 'v');
      await new Promise((done) => setTimeout(done, 20));
    }
    const deadline = AbortSignal.timeout(20_000);
    await Promise.race([
      Promise.all(readers),
      new Promise((_, fail) => deadline.addEventListener('abort', () => fail(new Error('subscribers still behind')))),
    ]).catch((error: Error) => {
      throw new Error(`${error.message}: ${seen.map((keys) => keys.length).join(', ')} events of ${PUTS}`);
    });
  } finally {
    await writer.close();
  }

  const expected = Array.from({ length: PUTS }, (_, i) => `k${String(i).padStart(2, '0')}`);
  for (const keys of seen) assert.deepEqual(keys, expected, 'every put once, in order');
  assert.ok(reconnects >= SUBSCRIBERS / 3, `A's subscribers reconnected (${reconnects} reconnects)`);
  const [onB, onC] = await Promise.all([stats(b!), stats(c!)]);
  // Each of B and C took some of A's four subscribers.
  assert.ok(onB.served > SUBSCRIBERS / 3 && onC.served > SUBSCRIBERS / 3, JSON.stringify({ onB, onC }));
  // B served its resumers from its ring: still its one shared watch. C could not: a watch of
  // their own from the revision after their last event, then the hand-over to its shared watch.
  assert.equal(onB.streams, 1, 'B resumed from its ring');
  assert.ok(onC.streams > 1, `C resumed from etcd by revision (${onC.streams} watch streams)`);
});
