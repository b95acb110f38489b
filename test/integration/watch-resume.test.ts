import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd, type FetchLike, type ReconnectInfo, UnavailableError } from 'etcd-fetch';
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

  test('five restarts with writes in between: every event exactly once, in order', async () => {
    const server = etcdUnderTest.server!;
    const etcd = new Etcd({ endpoints: [server.endpoint], timeout: 5_000 });
    const writer = new Etcd({ endpoints: [server.endpoint], timeout: 5_000 });
    const p = uniquePrefix('restart');
    const reconnects: ReconnectInfo[] = [];
    const watch = etcd.watch({ prefix: p, onReconnect: (info) => reconnects.push(info) });
    await watch.ready;
    const written: number[] = [];
    let n = 0;
    const writeSome = async (count: number) => {
      for (let i = 0; i < count; i++, n++) written.push(await putOnce(writer, `${p}${n % 13}`, String(n)));
    };
    const reading = collect(watch, (events) => events.length >= 6 * 150, 120_000);
    await writeSome(150);
    for (let restart = 0; restart < 5; restart++) {
      await server.kill();
      await server.restart();
      await writeSome(150);
    }
    const events = await reading;
    watch.close();
    assert.deepEqual(events.map((e) => e.revision), written);
    assert.deepEqual(events.map((e) => Number(e.kv.valueText)), Array.from({ length: written.length }, (_, i) => i));
    assert.ok(reconnects.length >= 5, `${reconnects.length} reconnects`);
    assert.ok(reconnects.every((r) => r.error instanceof UnavailableError));
  });

  test('a silent connection with progress notifications on is declared stalled and resumed', async () => {
    const server = etcdUnderTest.server!;
    const etcd = new Etcd({ endpoints: [server.endpoint], timeout: 3_000 });
    const p = uniquePrefix('stall');
    const reconnects: ReconnectInfo[] = [];
    // etcd's default progress interval is 10 min, so without bytes for 1.5 s the stream is
    // declared stalled: the server is stopped (SIGSTOP) meanwhile, which no socket notices.
    const watch = etcd.watch({ prefix: p, progressNotify: true, stallTimeout: 1_500, onReconnect: (info) => reconnects.push(info) });
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
    watch.close();
    assert.deepEqual(events.map((e) => e.revision), [before.revision, after.revision]);
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
    const etcd = new Etcd({ endpoints: [server.endpoint], auth: { username: 'root', password: 'pw' }, timeout: 5_000, fetch });
    const p = uniquePrefix('auth');
    const watch = etcd.watch({ prefix: p });
    await watch.ready;
    const first = await etcd.put(`${p}a`, '1');
    // Disabling auth drops every token (enabling it again does not bring them back); a restart
    // then breaks the stream, and the watch's token is refused when it reconnects.
    await etcd.transport.request('/auth/disable', {});
    await root.transport.request('/auth/enable', {});
    await server.kill();
    await server.restart();
    const writer = new Etcd({ endpoints: [server.endpoint], auth: { username: 'root', password: 'pw' } });
    const second = await writer.put(`${p}b`, '2');
    const events = await collect(watch, (e) => e.some((x) => x.revision === second.revision));
    watch.close();
    assert.deepEqual(events.map((e) => e.revision), [first.revision, second.revision]);
    assert.equal(tokens.size, 2, 'the watch was reopened with a renewed token');
  });
});
