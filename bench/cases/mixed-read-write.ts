import {
  BARE,
  BareFetch,
  type BenchCase,
  ETCD_FETCH,
  ETCD_FETCH_UNBATCHED,
  ETCD3,
  etcd3,
  etcdFetch,
  median,
  nextKey,
  throughput,
  VALUE,
  verdict,
} from '../lib.ts';

const WORKERS = 64;

/**
 * 64 independent workers, each awaiting one call after another, 9 gets for 1 put: reads that
 * are not issued together, so batching only helps as far as they happen to meet in one tick.
 */
const mixedReadWrite: BenchCase = {
  name: 'mixed-90-10',
  async run(context) {
    const bare = new BareFetch(context.endpoint);
    const client = etcdFetch(context);
    const unbatched = etcdFetch(context, { batch: false });
    const grpc = etcd3(context);
    const workload = (get: (key: string) => Promise<unknown>, put: (key: string) => Promise<unknown>) => async () => {
      const workers = Array.from({ length: WORKERS }, async (_, worker) => {
        for (let i = 0; i < 10; i++) await ((i + worker) % 10 === 0 ? put(nextKey(context)) : get(nextKey(context)));
      });
      await Promise.all(workers);
      return WORKERS * 10;
    };
    try {
      const figures = await throughput(context, {
        [BARE]: workload(
          (key) => bare.get(key),
          (key) => bare.put(key, VALUE),
        ),
        [ETCD_FETCH]: workload(
          (key) => client.get(key),
          (key) => client.put(key, VALUE),
        ),
        [ETCD_FETCH_UNBATCHED]: workload(
          (key) => unbatched.get(key),
          (key) => unbatched.put(key, VALUE),
        ),
        [ETCD3]: workload(
          (key) => grpc.get(key).string(),
          (key) => grpc.put(key).value(VALUE).exec(),
        ),
      });
      const gain = median(figures, ETCD_FETCH) / median(figures, ETCD_FETCH_UNBATCHED);
      const ratio = median(figures, ETCD_FETCH) / median(figures, ETCD3);
      return {
        unit: 'ops/s',
        figures,
        targets: [
          `batching gives ${gain.toFixed(2)}x the ops/s of one request per call`,
          `etcd-fetch does ${ratio.toFixed(2)}x npm etcd3's ops/s (target >= 2x): ${verdict(ratio, 2, 'at least')}`,
        ],
      };
    } finally {
      grpc.close();
    }
  },
};

export default mixedReadWrite;
