import { BARE, BareFetch, type BenchCase, ETCD3, ETCD_FETCH, ETCD_FETCH_UNBATCHED, etcd3, etcdFetch, median, throughput, VALUE, verdict } from '../lib.ts';

/** One put then one get of the same key, awaited in turn: the per-call overhead of a client. */
const sequentialPutGet: BenchCase = {
  name: 'sequential-put-get',
  async run(context) {
    const key = 'bench/sequential';
    const bare = new BareFetch(context.endpoint);
    const client = etcdFetch(context);
    const unbatched = etcdFetch(context, { batch: false });
    const grpc = etcd3(context);
    try {
      const figures = await throughput(context, {
        [BARE]: async () => {
          await bare.put(key, VALUE);
          await bare.get(key);
          return 1;
        },
        [ETCD_FETCH]: async () => {
          await client.put(key, VALUE);
          await client.get(key);
          return 1;
        },
        [ETCD_FETCH_UNBATCHED]: async () => {
          await unbatched.put(key, VALUE);
          await unbatched.get(key);
          return 1;
        },
        [ETCD3]: async () => {
          await grpc.put(key).value(VALUE).exec();
          await grpc.get(key).string();
          return 1;
        },
      });
      const ratio = median(figures, BARE) / median(figures, ETCD_FETCH);
      return {
        unit: 'ops/s',
        figures,
        targets: [`etcd-fetch takes ${ratio.toFixed(2)}x the bare-fetch time per put+get (target <= 1.10x): ${verdict(ratio, 1.1, 'at most')}`],
      };
    } finally {
      grpc.close();
    }
  },
};

export default sequentialPutGet;
