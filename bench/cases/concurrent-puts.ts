import {
  BARE,
  BareFetch,
  type BenchCase,
  base64,
  concurrently,
  ETCD_FETCH,
  ETCD3,
  etcd3,
  etcdFetch,
  median,
  nextKey,
  throughput,
  VALUE,
  verdict,
} from '../lib.ts';

const HAND_MADE = `${BARE}, hand-made put txns`;
const WRITES_UNBATCHED = 'etcd-fetch (batch.writes: false)';

/**
 * 64 puts at once, again and again. Figures are puts per second. "Hand-made put txns" sends the
 * 64 puts as one txn with bare fetch: the limit of write batching.
 */
const concurrentPuts: BenchCase = {
  name: 'concurrent-puts-64',
  async run(context) {
    const width = 64;
    const bare = new BareFetch(context.endpoint);
    const client = etcdFetch(context);
    const unbatched = etcdFetch(context, { batch: { writes: false } });
    const grpc = etcd3(context);
    const value = base64(VALUE);
    try {
      const figures = await throughput(context, {
        [BARE]: () => concurrently(width, () => bare.put(nextKey(context), VALUE)),
        [HAND_MADE]: async () => {
          // Distinct keys: a txn may not write one key twice.
          const keys = new Set<string>();
          while (keys.size < width) keys.add(nextKey(context));
          await bare.call('/kv/txn', {
            success: [...keys].map((key) => ({ request_put: { key: base64(key), value } })),
          });
          return width;
        },
        [ETCD_FETCH]: () => concurrently(width, () => client.put(nextKey(context), VALUE)),
        [WRITES_UNBATCHED]: () => concurrently(width, () => unbatched.put(nextKey(context), VALUE)),
        [ETCD3]: () => concurrently(width, () => grpc.put(nextKey(context)).value(VALUE).exec()),
      });
      const ratio = median(figures, ETCD_FETCH) / median(figures, ETCD3);
      const batching = median(figures, ETCD_FETCH) / median(figures, WRITES_UNBATCHED);
      return {
        unit: 'ops/s',
        figures,
        targets: [
          `etcd-fetch does ${ratio.toFixed(2)}x npm etcd3's puts/s (target >= 1.5x): ${verdict(ratio, 1.5, 'at least')}`,
          `write batching gives ${batching.toFixed(2)}x the puts/s of one request per put`,
        ],
      };
    } finally {
      grpc.close();
    }
  },
};

export default concurrentPuts;
