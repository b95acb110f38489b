import {
  BARE,
  BareFetch,
  type BenchCase,
  base64,
  concurrently,
  ETCD_FETCH,
  ETCD_FETCH_UNBATCHED,
  ETCD3,
  etcd3,
  etcdFetch,
  median,
  nextKey,
  throughput,
  verdict,
} from '../lib.ts';

/** `width` gets at once, again and again: what batching is for. Figures are gets per second. */
export function concurrentGets(width: number): BenchCase {
  return {
    name: `concurrent-gets-${width}`,
    async run(context) {
      const bare = new BareFetch(context.endpoint);
      const client = etcdFetch(context);
      const unbatched = etcdFetch(context, { batch: false });
      const grpc = etcd3(context);
      const maxOps = 128;
      try {
        const figures = await throughput(context, {
          [BARE]: () => concurrently(width, () => bare.get(nextKey(context))),
          // The same gets hand-packed into txns of up to 128 ranges: the gateway's own limit.
          [`${BARE}, hand-made txns`]: () =>
            concurrently(Math.ceil(width / maxOps), async (chunk) => {
              const size = Math.min(maxOps, width - chunk * maxOps);
              const success = Array.from({ length: size }, () => ({
                request_range: { key: base64(nextKey(context)) },
              }));
              await bare.call('/kv/txn', { success });
            }).then(() => width),
          [ETCD_FETCH]: () => concurrently(width, () => client.get(nextKey(context))),
          [ETCD_FETCH_UNBATCHED]: () => concurrently(width, () => unbatched.get(nextKey(context))),
          [ETCD3]: () => concurrently(width, () => grpc.get(nextKey(context)).string()),
        });
        const targets: string[] = [];
        const batchedGain = median(figures, ETCD_FETCH) / median(figures, ETCD_FETCH_UNBATCHED);
        targets.push(`batching gives ${batchedGain.toFixed(2)}x the gets/s of one request per get`);
        // Targets from the issue: 3.5x npm etcd3 for 64 gets at once, 5x for 256.
        const target = width === 64 ? 3.5 : width === 256 ? 5 : undefined;
        if (target !== undefined) {
          const ratio = median(figures, ETCD_FETCH) / median(figures, ETCD3);
          targets.push(
            `etcd-fetch does ${ratio.toFixed(2)}x npm etcd3's gets/s (target >= ${target}x): ${verdict(ratio, target, 'at least')}`,
          );
          const limit = median(figures, ETCD_FETCH) / median(figures, `${BARE}, hand-made txns`);
          targets.push(`etcd-fetch does ${limit.toFixed(2)}x the gets/s of hand-made txns, the limit of batching`);
        }
        return { unit: 'ops/s', figures, targets };
      } finally {
        grpc.close();
      }
    },
  };
}
