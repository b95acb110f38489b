import { BARE, BareFetch, type BenchCase, concurrently, ETCD3, ETCD_FETCH, etcd3, etcdFetch, median, nextKey, throughput, VALUE } from '../lib.ts';

/** 64 puts at once, again and again (writes are never batched). Figures are puts per second. */
const concurrentPuts: BenchCase = {
  name: 'concurrent-puts-64',
  async run(context) {
    const width = 64;
    const bare = new BareFetch(context.endpoint);
    const client = etcdFetch(context);
    const grpc = etcd3(context);
    try {
      const figures = await throughput(context, {
        [BARE]: () => concurrently(width, () => bare.put(nextKey(context), VALUE)),
        [ETCD_FETCH]: () => concurrently(width, () => client.put(nextKey(context), VALUE)),
        [ETCD3]: () => concurrently(width, () => grpc.put(nextKey(context)).value(VALUE).exec()),
      });
      const ratio = median(figures, ETCD_FETCH) / median(figures, BARE);
      return { unit: 'ops/s', figures, targets: [`etcd-fetch does ${ratio.toFixed(2)}x the bare-fetch puts/s`] };
    } finally {
      grpc.close();
    }
  },
};

export default concurrentPuts;
