// Run by cases/idle-watchers.ts, one fresh process per contender and round so figures don't mix:
// `node --expose-gc bench/idle-watchers-child.ts <etcd-fetch|etcd3> <endpoint> <count>`.
// Opens `count` idle watchers (one key each) on one client and prints, as JSON, the ms until etcd
// created all of them and the peak RSS and heap used above the baseline (client made, one get done).
import { setTimeout as sleep } from 'node:timers/promises';

const [contender, endpoint, countText] = process.argv.slice(2);
const count = Number(countText);
const prefix = `bench/idle/${process.pid}/`;

interface Client {
  get(key: string): Promise<unknown>;
  /** Opens the watchers; resolves once etcd created all of them. */
  watchAll(keys: string[]): Promise<void>;
}

async function etcdFetchClient(): Promise<Client> {
  const { Etcd } = await import('etcd-fetch');
  const etcd = new Etcd({ endpoints: [endpoint!] });
  return {
    get: (key) => etcd.get(key),
    async watchAll(keys) {
      await Promise.all(keys.map((key) => etcd.watch({ key }).ready));
    },
  };
}

async function etcd3Client(): Promise<Client> {
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: endpoint! });
  return {
    get: (key) => client.get(key).string(),
    async watchAll(keys) {
      await Promise.all(keys.map((key) => client.watch().key(key).create()));
    },
  };
}

const client = contender === 'etcd-fetch' ? await etcdFetchClient() : await etcd3Client();
await client.get(`${prefix}warm-up`); // connection, fetch or gRPC channel: per client, not per watcher
globalThis.gc?.();
const baseline = process.memoryUsage();
let peakRss = baseline.rss;
let peakHeap = baseline.heapUsed;
const sample = () => {
  const now = process.memoryUsage();
  peakRss = Math.max(peakRss, now.rss);
  peakHeap = Math.max(peakHeap, now.heapUsed);
};
const sampler = setInterval(sample, 10);
const started = performance.now();
await client.watchAll(Array.from({ length: count }, (_, i) => `${prefix}${i}`));
const readyMs = performance.now() - started;
sample();
await sleep(500); // idle: what the watchers keep
sample();
clearInterval(sampler);
console.log(
  JSON.stringify({ readyMs, rssKB: (peakRss - baseline.rss) / 1024, heapKB: (peakHeap - baseline.heapUsed) / 1024 }),
);
process.exit(0);
