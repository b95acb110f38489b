import ky from 'ky';
import {
  BARE,
  BareFetch,
  type BenchCase,
  base64,
  ETCD_FETCH,
  ETCD_FETCH_UNBATCHED,
  ETCD3,
  etcd3,
  etcdFetch,
  type Figure,
  median,
  throughput,
  VALUE,
  verdict,
} from '../lib.ts';

const KY_ALONE = 'ky alone';

/** One put then one get of the same key, awaited in turn: the per-call overhead of a client. */
const sequentialPutGet: BenchCase = {
  name: 'sequential-put-get',
  async run(context) {
    const key = 'bench/sequential';
    const bare = new BareFetch(context.endpoint);
    const client = etcdFetch(context);
    const unbatched = etcdFetch(context, { batch: false });
    const grpc = etcd3(context);
    // The same two requests through a bare ky instance: what ky itself costs.
    const http = ky.create({ prefix: `${context.endpoint}/v3`, method: 'post', retry: 0, timeout: false });
    const encodedKey = base64(key);
    const encodedValue = base64(VALUE);
    try {
      const figures = await throughput(context, {
        [BARE]: async () => {
          await bare.put(key, VALUE);
          await bare.get(key);
          return 1;
        },
        [KY_ALONE]: async () => {
          await http('kv/put', { json: { key: encodedKey, value: encodedValue } }).json();
          await http('kv/range', { json: { key: encodedKey } }).json();
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
      const overKy = median(figures, KY_ALONE) / median(figures, ETCD_FETCH);
      const cpu = cpuOf(figures, ETCD_FETCH_UNBATCHED) / cpuOf(figures, BARE);
      return {
        unit: 'ops/s',
        figures,
        targets: [
          `etcd-fetch takes ${ratio.toFixed(2)}x the bare-fetch time per put+get (target <= 1.10x): ${verdict(ratio, 1.1, 'at most')}`,
          `etcd-fetch takes ${overKy.toFixed(2)}x the time of ky alone (target <= 1.03x): ${verdict(overKy, 1.03, 'at most')}`,
          `client CPU per unbatched call ${cpu.toFixed(2)}x bare fetch's (target <= 1.2x): ${verdict(cpu, 1.2, 'at most')}`,
        ],
      };
    } finally {
      grpc.close();
    }
  },
};

export default sequentialPutGet;

function cpuOf(figures: Figure[], contender: string): number {
  return figures.find((f) => f.contender === contender)?.cpuPerOp ?? Number.NaN;
}
