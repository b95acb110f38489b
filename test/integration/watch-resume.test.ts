import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd, type FetchLike, type ReconnectInfo, TimeoutError, UnavailableError } from 'etcd-fetch';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { collect, eventually } from './watch-helpers.ts';

/** Puts `key`, surviving a connection the client had to the etcd process that was killed. */
async function putOnce(etcd: Etcd, key: string, value: string): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await etcd.put(key, value)).revision;
    } catch (error) {
      if (!(error instanceof UnavailableError) || attempt > 20) throw error;
      // The put may have been applied before the connection broke: keys are unique, so look.
      const kv = await etcd.get(key).catch(() => undefined);
      if (kv?.valueText === value) return kv.modRevision;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('watch resumes after etcd is killed and restarted', () => {
  const etcdUnderTest = useEtcd({ ownServer: true });

  test('five restarts with writes while the watch is disconnected: every write arrives exactly once, in order', async () => {
    const server = etcdUnderTest.server!;
    // While `gate` is pending, the watcher's client cannot reopen its stream: the writes made
    // meanwhile happen while the watch is disconnected, and only a resume from the last
    // delivered revision + 1 (not from "now") brings them.
    let gate: Promise<void> | undefined;
    let openGate = () => {};
    const gated: FetchLike = async (request, init) => {
      if (request.url.endsWith('/v3/watch')) await gate;
      return globalThis.fetch(request, init);
    };
    const etcd = new Etcd({ endpoints: [server.endpoint], timeout: 5_000, fetch: gated });
    const writer = new Etcd({ endpoints: [server.endpoint], timeout: 5_000 });
    const p = uniquePrefix('restart');
    const reconnects: ReconnectInfo[] = [];
    const watch = etcd.watch({ prefix: p, onReconnect: (info) => reconnects.push(info) });
    try {
      await watch.ready;
      const written: number[] = [];
      let n = 0;
      const writeSome = async (count: number) => {
        for (let i = 0; i < count; i++, n++) written.push(await putOnce(writer, `${p}${n % 13}`, String(n)));
      };
      const end = `${p}end`;
      const reading = collect(watch, (events) => events.at(-1)?.kv.keyText === end, 120_000);
      await writeSome(100);
      for (let restart = 0; restart < 5; restart++) {
        gate = new Promise((resolve) => (openGate = resolve));
        await server.kill();
        await server.restart();
        const reconnectsBefore = reconnects.length;
        await writeSome(50);
        // The stream broke when etcd was killed: these writes were made while it was down.
        assert.ok(reconnectsBefore > restart, `the watch noticed restart ${restart + 1} before the writes`);
        openGate();
        await writeSome(50);
      }
      const last = await putOnce(writer, end, 'end');
      const events = await reading;
      assert.deepEqual(
        events.map((e) => e.revision),
        [...written, last],
      );
      assert.deepEqual(
        events.slice(0, -1).map((e) => Number(e.kv.valueText)),
        Array.from({ length: written.length }, (_, i) => i),
      );
      assert.ok(reconnects.length >= 5, `${reconnects.length} reconnects`);
      assert.ok(
        reconnects.every((r) => r.error instanceof UnavailableError || r.error instanceof TimeoutError),
        reconnects.map((r) => String(r.error)).join('; '),
      );
      // Every resume asked for the revision after the last one delivered, never "now" (0).
      assert.ok(reconnects.every((r) => r.resumeRevision > 0));
    } finally {
      openGate();
      watch.close();
      etcd.close();
      writer.close();
    }
  });

  test('a silent connection with progress notifications on is declared stalled and resumed', async () => {
    const server = etcdUnderTest.server!;
    const etcd = new Etcd({ endpoints: [server.endpoint], timeout: 3_000 });
    const p = uniquePrefix('stall');
    const reconnects: ReconnectInfo[] = [];
    // etcd's default progress interval is 10 min, so without bytes for 1.5 s the stream is
    // declared stalled: the server is stopped (SIGSTOP) meanwhile, which no socket notices.
    const watch = etcd.watch({
      prefix: p,
      progressNotify: true,
      stallTimeout: 1_500,
      onReconnect: (info) => reconnects.push(info),
    });
    try {
      await watch.ready;
      const before = await etcd.put(`${p}a`, '1');
      process.kill(server.pid!, 'SIGSTOP');
      try {
        await eventually(() => reconnects.length > 0, 'a stall to be noticed', 20_000);
      } finally {
        process.kill(server.pid!, 'SIGCONT');
      }
      assert.match(String((reconnects[0]!.error as Error).message), /silent/);
      const after = await etcd.put(`${p}b`, '2');
      const events = await collect(watch, (e) => e.some((x) => x.revision === after.revision));
      assert.deepEqual(
        events.map((e) => e.revision),
        [before.revision, after.revision],
      );
    } finally {
      // A failed assertion must not leave the watch reconnecting: the test file would never exit.
      watch.close();
      etcd.close();
    }
  });
});

describe('watch with authentication', () => {
  const etcdUnderTest = useEtcd({ ownServer: true });

  test('an invalid token on reconnect is renewed and the watch resumes', async () => {
    const server = etcdUnderTest.server!;
    const root = new Etcd({ endpoints: [server.endpoint] });
    await root.transport.request('/auth/user/add', { name: 'root', password: 'pw' });
    await root.transport.request('/auth/user/grant', { user: 'root', role: 'root' });
    await root.transport.request('/auth/enable', {});
    const tokens = new Set<string>();
    const fetch: FetchLike = (request, init) => {
      if (request.url.endsWith('/v3/watch')) tokens.add(request.headers.get('authorization') ?? '');
      return globalThis.fetch(request, init);
    };
    const etcd = new Etcd({
      endpoints: [server.endpoint],
      auth: { username: 'root', password: 'pw' },
      timeout: 5_000,
      fetch,
    });
    const writer = new Etcd({ endpoints: [server.endpoint], auth: { username: 'root', password: 'pw' } });
    const p = uniquePrefix('auth');
    const watch = etcd.watch({ prefix: p });
    try {
      await watch.ready;
      const first = await etcd.put(`${p}a`, '1');
      // Disabling auth drops every token (enabling it again does not bring them back); a restart
      // then breaks the stream, and the watch's token is refused when it reconnects.
      await etcd.transport.request('/auth/disable', {});
      await root.transport.request('/auth/enable', {});
      await server.kill();
      await server.restart();
      const second = await writer.put(`${p}b`, '2');
      const events = await collect(watch, (e) => e.some((x) => x.revision === second.revision));
      assert.deepEqual(
        events.map((e) => e.revision),
        [first.revision, second.revision],
      );
      assert.equal(tokens.size, 2, 'the watch was reopened with a renewed token');
    } finally {
      watch.close();
      etcd.close();
      writer.close();
      root.close();
    }
  });
});
