import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Etcd, type FetchLike, type WatchResponse } from '../../src/index.ts';

const header = `"header":{"cluster_id":"8776488279246478523","member_id":"17959261741802454526","revision":"51","raft_term":"2"}`;

// What etcd 3.4.23 answered to a body of `create_request` (key "k1", start_revision 2, watch_id 1)
// and `progress_request`, every time: the stream-wide progress answer (`watch_id` -1, revision
// 51) comes BEFORE the replay of revision 2. It cannot vouch that the watcher is current.
const recorded = [
  `{"result":{${header},"watch_id":"1","created":true}}\n`,
  `{"result":{${header},"watch_id":"-1"}}\n`,
  `{"result":{${header},"watch_id":"1","events":[{"kv":{"key":"azE=","create_revision":"2","mod_revision":"2","version":"1","value":"djE="}}]}}\n`,
].join('');

test('the answer to a progress request, which etcd 3.4 sends ahead of a replay, is not taken as the watcher’s progress', async () => {
  const fetch: FetchLike = async (input) => {
    const signal = input.signal;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(recorded));
        signal.addEventListener('abort', () => controller.error(signal.reason), { once: true });
      },
    });
    return new Response(body, { status: 200 });
  };
  const etcd = new Etcd({ endpoints: ['http://127.0.0.1:1'], fetch });
  const watch = etcd.watch({ key: 'k1', startRevision: 2 });
  const responses: WatchResponse[] = [];
  for await (const response of watch.responses()) {
    responses.push(response);
    break;
  }
  assert.deepEqual(
    responses.map((r) => ({
      revision: r.revision,
      progress: r.progress,
      events: r.events.map((e) => `${e.kv.keyText}=${e.kv.valueText}`),
    })),
    [{ revision: 2, progress: false, events: ['k1=v1'] }],
  );
  etcd.close();
});
