// Watch delivery: events per second reaching a watcher while a writer writes as fast as etcd
// allows, and the lag from put acknowledgement to event delivery (p50, p99), for etcd-fetch and
// for a bare `fetch` + `getReader` + `JSON.parse` reader in the same run; then the same readers
// replaying those writes from history (delivery speed without the writer as the bottleneck).
// `node bench/watch-delivery.ts` starts its own etcd (ETCD_ENDPOINTS: use a running one).
import { startEtcd } from '../scripts/etcd.ts';
import { Etcd } from '../src/index.ts';

export interface DeliveryFigures {
  /** Events delivered per second, first put sent to last event read. */
  eventsPerSecond: number;
  /** Milliseconds from a put's answer to its event's delivery (negative: the event came first). */
  lagP50: number;
  lagP99: number;
  /** Events per second replaying the same writes from history. */
  replayPerSecond: number;
}

export interface WatchDeliveryResult {
  writes: number;
  etcdFetch: DeliveryFigures;
  bareFetch: DeliveryFigures;
}

interface Reader {
  /** Starts watching `prefix` from `startRevision` (0: now); resolves once etcd created it. */
  start(prefix: string, startRevision: number, onEvent: (revision: number) => void): Promise<void>;
  stop(): void;
}

const encoder = new TextEncoder();
const b64 = (text: string) => btoa(String.fromCharCode(...encoder.encode(text)));
const rangeEnd = (prefix: string) => b64(prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1));

function etcdFetchReader(endpoint: string): Reader {
  const etcd = new Etcd({ endpoints: [endpoint] });
  let stop = () => {};
  return {
    async start(prefix, startRevision, onEvent) {
      const watch = etcd.watch({ prefix, ...(startRevision > 0 ? { startRevision } : {}) });
      stop = () => watch.close();
      void (async () => {
        for await (const event of watch) onEvent(event.revision);
      })();
      await watch.ready;
    },
    stop: () => stop(),
  };
}

function bareReader(endpoint: string): Reader {
  const controller = new AbortController();
  return {
    async start(prefix, startRevision, onEvent) {
      const create: Record<string, unknown> = { key: b64(prefix), range_end: rangeEnd(prefix) };
      if (startRevision > 0) create.start_revision = String(startRevision);
      const response = await fetch(`${endpoint}/v3/watch`, { method: 'POST', body: JSON.stringify({ create_request: create }), signal: controller.signal });
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let tail = '';
      let created!: () => void;
      const ready = new Promise<void>((resolve) => (created = resolve));
      void (async () => {
        try {
          for (;;) {
            const chunk = await reader.read();
            if (chunk.done) return;
            const lines = (tail + decoder.decode(chunk.value, { stream: true })).split('\n');
            tail = lines.pop()!;
            for (const line of lines) {
              const result = (JSON.parse(line) as { result: { created?: boolean; events?: Array<{ kv: { mod_revision: string } }> } }).result;
              if (result.created) created();
              for (const event of result.events ?? []) onEvent(Number(event.kv.mod_revision));
            }
          }
        } catch {
          // stopped
        }
      })();
      await ready;
    },
    stop: () => controller.abort(),
  };
}

/** Puts `count` keys under `prefix` with `concurrency` puts in flight; returns ack time by revision. */
async function write(endpoint: string, prefix: string, count: number, concurrency: number): Promise<Map<number, number>> {
  const acks = new Map<number, number>();
  const value = b64('x'.repeat(64));
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const response = await fetch(`${endpoint}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64(`${prefix}${i % 100}`), value }) });
      const answer = (await response.json()) as { header: { revision: string } };
      acks.set(Number(answer.header.revision), performance.now());
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return acks;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function measure(endpoint: string, makeReader: (endpoint: string) => Reader, writes: number, concurrency: number): Promise<DeliveryFigures> {
  const prefix = `bench/watch/${Math.random().toString(36).slice(2)}/`;
  const delivered = new Map<number, number>();
  let firstRevision = 0;
  let all!: () => void;
  const done = new Promise<void>((resolve) => (all = resolve));
  const live = makeReader(endpoint);
  await live.start(prefix, 0, (revision) => {
    delivered.set(revision, performance.now());
    if (delivered.size === writes) all();
  });
  const started = performance.now();
  const acks = await write(endpoint, prefix, writes, concurrency);
  await done;
  const elapsed = Math.max(...delivered.values()) - started;
  live.stop();
  const lags = [...acks].map(([revision, ack]) => delivered.get(revision)! - ack).sort((a, b) => a - b);
  firstRevision = Math.min(...acks.keys());

  let replayed = 0;
  let replayDone!: () => void;
  const replayAll = new Promise<void>((resolve) => (replayDone = resolve));
  const replay = makeReader(endpoint);
  const replayStarted = performance.now();
  await replay.start(prefix, firstRevision, () => {
    if (++replayed === writes) replayDone();
  });
  await replayAll;
  const replayElapsed = performance.now() - replayStarted;
  replay.stop();
  return {
    eventsPerSecond: (writes / elapsed) * 1000,
    lagP50: percentile(lags, 50),
    lagP99: percentile(lags, 99),
    replayPerSecond: (writes / replayElapsed) * 1000,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function medianFigures(runs: DeliveryFigures[]): DeliveryFigures {
  return {
    eventsPerSecond: median(runs.map((r) => r.eventsPerSecond)),
    lagP50: median(runs.map((r) => r.lagP50)),
    lagP99: median(runs.map((r) => r.lagP99)),
    replayPerSecond: median(runs.map((r) => r.replayPerSecond)),
  };
}

/** Runs both readers in alternation (`rounds` each) against `endpoint`; medians of the rounds. */
export async function benchWatchDelivery(endpoint: string, options: { writes?: number; concurrency?: number; rounds?: number } = {}): Promise<WatchDeliveryResult> {
  const writes = options.writes ?? 4_000;
  const concurrency = options.concurrency ?? 16;
  const rounds = options.rounds ?? 3;
  const client: DeliveryFigures[] = [];
  const bare: DeliveryFigures[] = [];
  await measure(endpoint, bareReader, 500, concurrency); // warm-up
  await measure(endpoint, etcdFetchReader, 500, concurrency);
  for (let round = 0; round < rounds; round++) {
    bare.push(await measure(endpoint, bareReader, writes, concurrency));
    client.push(await measure(endpoint, etcdFetchReader, writes, concurrency));
  }
  return { writes, etcdFetch: medianFigures(client), bareFetch: medianFigures(bare) };
}

export function formatWatchDelivery(result: WatchDeliveryResult): string {
  const { etcdFetch: c, bareFetch: b } = result;
  const row = (name: string, f: DeliveryFigures) =>
    `${name.padEnd(11)} ${f.eventsPerSecond.toFixed(0).padStart(8)} ${f.lagP50.toFixed(2).padStart(8)} ${f.lagP99.toFixed(2).padStart(8)} ${f.replayPerSecond.toFixed(0).padStart(10)}`;
  return [
    `watch delivery, ${result.writes} writes per round (median of rounds)`,
    `reader      events/s  lag p50  lag p99   replay/s`,
    row('etcd-fetch', c),
    row('bare fetch', b),
    `ratio etcd-fetch / bare: events/s ${(c.eventsPerSecond / b.eventsPerSecond).toFixed(2)}, ` +
      `lag p50 ${(c.lagP50 / b.lagP50).toFixed(2)}, lag p99 ${(c.lagP99 / b.lagP99).toFixed(2)}, replay/s ${(c.replayPerSecond / b.replayPerSecond).toFixed(2)}`,
    '(lag in ms from put answer to event delivery; negative: the event arrived before the answer)',
  ].join('\n');
}

if (import.meta.main) {
  const shared = process.env.ETCD_ENDPOINTS?.split(',')[0]?.trim();
  const server = shared ? undefined : await startEtcd();
  try {
    const result = await benchWatchDelivery(shared ?? server!.endpoint);
    console.log(formatWatchDelivery(result));
  } finally {
    await server?.stop();
  }
  process.exit(0);
}
