import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Etcd, type FetchLike, type ReconnectInfo } from '../../src/index.ts';

const encoder = new TextEncoder();
const header = '"header":{"cluster_id":"1","member_id":"2","revision":"5","raft_term":"2"}';
// etcd 3.4.23's created line, then the stream error it sends when the server stops mid-watch.
const broken = [
  `{"result":{${header},"watch_id":"1","created":true}}\n`,
  '{"error":{"grpc_code":14,"http_code":503,"message":"transport is closing","http_status":"Service Unavailable"}}',
].join('');

/** A fetch whose every watch stream is created and then breaks at once. */
const breaking: FetchLike = async (input) => {
  await input.text();
  return new Response(encoder.encode(broken), { status: 200 });
};

describe('watch onReconnect info', () => {
  test('ReconnectInfo.delay is a whole number of milliseconds on every attempt', async (t) => {
    const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch: breaking });
    t.after(() => etcd.close());
    const infos: ReconnectInfo[] = [];
    let enough!: () => void;
    const reached = new Promise<void>((resolve) => (enough = resolve));
    const watch = etcd.watch({ key: 'k', onReconnect: (info) => infos.push(info) === 5 && enough() });
    const timer = setTimeout(enough, 5_000);
    await reached;
    clearTimeout(timer);
    watch.close();
    assert.equal(infos.length >= 5, true, `only ${infos.length} reconnects within 5 s`);
    for (const info of infos) {
      assert.equal(
        Number.isInteger(info.delay),
        true,
        `attempt ${info.attempt}: delay ${info.delay} is not whole milliseconds`,
      );
      assert.equal(info.delay > 0, true);
    }
  });
});
