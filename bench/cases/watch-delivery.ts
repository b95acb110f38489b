// Watch delivery: events per second reaching a watcher while a writer writes as fast as etcd
// allows, and the lag from put acknowledgement to event delivery (p50, p99), for etcd-fetch, a bare
// `fetch` + `getReader` + `JSON.parse` reader and npm etcd3, in the same run; then the same readers
// replaying those writes from history (delivery speed without the writer as the bottleneck).
// Alone: `node bench/run.ts watch-delivery`.
import {
  BARE,
  type BenchCase,
  type BenchContext,
  base64,
  type CaseResult,
  ETCD_FETCH,
  ETCD3,
  etcd3,
  etcdFetch,
  type Figure,
  median,
  summarize,
  verdict,
} from '../lib.ts';

interface DeliveryFigures {
  /** Events delivered per second, first put sent to last event read. */
  eventsPerSecond: number;
  /** Milliseconds from a put's answer to its event's delivery (negative: the event came first). */
  lagP50: number;
  lagP99: number;
  /** Events per second replaying the same writes from history. */
  replayPerSecond: number;
}

interface Reader {
  /** Starts watching `prefix` from `startRevision` (0: now); resolves once etcd created it. */
  start(prefix: string, startRevision: number, onEvent: (revision: number) => void): Promise<void>;
  stop(): void;
}

const WRITES = 2_000;
const WARM_UP_WRITES = 500;
const CONCURRENCY = 16;

const prefixEnd = (prefix: string) =>
  prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);

function etcdFetchReader(context: BenchContext): Reader {
  const etcd = etcdFetch(context);
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

function bareReader(context: BenchContext): Reader {
  const controller = new AbortController();
  return {
    async start(prefix, startRevision, onEvent) {
      const create: Record<string, unknown> = { key: base64(prefix), range_end: base64(prefixEnd(prefix)) };
      if (startRevision > 0) create.start_revision = String(startRevision);
      const body = JSON.stringify({ create_request: create });
      const response = await fetch(`${context.endpoint}/v3/watch`, { method: 'POST', body, signal: controller.signal });
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
              const result = (
                JSON.parse(line) as { result: { created?: boolean; events?: Array<{ kv: { mod_revision: string } }> } }
              ).result;
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

function etcd3Reader(context: BenchContext): Reader {
  const client = etcd3(context);
  let stop = () => {};
  return {
    async start(prefix, startRevision, onEvent) {
      const builder = client.watch().prefix(prefix);
      if (startRevision > 0) builder.startRevision(String(startRevision));
      const watcher = await builder.create();
      watcher.on('put', (kv) => onEvent(Number(kv.mod_revision)));
      stop = () => void watcher.cancel().finally(() => client.close());
    },
    stop: () => stop(),
  };
}

/** Puts `count` keys under `prefix` with `CONCURRENCY` bare-fetch puts in flight; returns ack time by revision. */
async function write(context: BenchContext, prefix: string, count: number): Promise<Map<number, number>> {
  const acks = new Map<number, number>();
  const value = base64('x'.repeat(64));
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const body = JSON.stringify({ key: base64(`${prefix}${i % 100}`), value });
      const response = await fetch(`${context.endpoint}/v3/kv/put`, { method: 'POST', body });
      const answer = (await response.json()) as { header: { revision: string } };
      acks.set(Number(answer.header.revision), performance.now());
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return acks;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function measure(
  context: BenchContext,
  makeReader: (context: BenchContext) => Reader,
  writes: number,
): Promise<DeliveryFigures> {
  const prefix = `bench/watch/${Math.random().toString(36).slice(2)}/`;
  const delivered = new Map<number, number>();
  let all!: () => void;
  const done = new Promise<void>((resolve) => (all = resolve));
  const live = makeReader(context);
  await live.start(prefix, 0, (revision) => {
    delivered.set(revision, performance.now());
    if (delivered.size === writes) all();
  });
  const started = performance.now();
  const acks = await write(context, prefix, writes);
  await done;
  const elapsed = Math.max(...delivered.values()) - started;
  live.stop();
  const lags = [...acks].map(([revision, ack]) => delivered.get(revision)! - ack).sort((a, b) => a - b);

  let replayed = 0;
  let replayDone!: () => void;
  const replayAll = new Promise<void>((resolve) => (replayDone = resolve));
  const replay = makeReader(context);
  const replayStarted = performance.now();
  await replay.start(prefix, Math.min(...acks.keys()), () => {
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

const readers: Record<string, (context: BenchContext) => Reader> = {
  [BARE]: bareReader,
  [ETCD_FETCH]: etcdFetchReader,
  [ETCD3]: etcd3Reader,
};

/**
 * `WRITES` puts per round, `context.rounds` rounds per reader, readers interleaved with the
 * first one rotating; one unmeasured warm-up round of `WARM_UP_WRITES` each. Four results:
 * events/s while writing, lag p50 and p99, events/s replaying.
 */
const watchDelivery: BenchCase = {
  name: 'watch-delivery',
  async run(context) {
    const names = Object.keys(readers);
    const runs = new Map<string, DeliveryFigures[]>(names.map((name) => [name, []]));
    for (const name of names) await measure(context, readers[name]!, WARM_UP_WRITES);
    for (let round = 0; round < context.rounds; round++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + round) % names.length]!;
        runs.get(name)!.push(await measure(context, readers[name]!, WRITES));
      }
    }
    const result = (metric: string, unit: CaseResult['unit'], pick: (f: DeliveryFigures) => number): CaseResult => {
      const figures: Figure[] = names.map((contender) => ({
        contender,
        stats: summarize(runs.get(contender)!.map(pick)),
      }));
      return { metric, unit, figures };
    };
    const live = result('live', 'events/s', (f) => f.eventsPerSecond);
    const p50 = result('lag p50', 'ms', (f) => f.lagP50);
    const p99 = result('lag p99', 'ms', (f) => f.lagP99);
    const replay = result('replay', 'events/s', (f) => f.replayPerSecond);
    const ratio = (r: CaseResult) => {
      const [client, bare] = [median(r.figures, ETCD_FETCH), median(r.figures, BARE)];
      return client > 0 && bare > 0 ? `${(client / bare).toFixed(2)}x` : 'n/a';
    };
    live.targets = [
      `${WRITES} puts per round, ${CONCURRENCY} in flight, by bare fetch; lag is ms from a put's answer to its event (negative: the event came first)`,
      `etcd-fetch / bare fetch: events/s ${ratio(live)}, lag p50 ${ratio(p50)}, lag p99 ${ratio(p99)}, replay ${ratio(replay)}`,
    ];
    // Targets from the issue: events/s while writing at least npm etcd3's, lag p99 at most 1.1x the bare reader's.
    const events = median(live.figures, ETCD_FETCH) / median(live.figures, ETCD3);
    const lag = median(p99.figures, ETCD_FETCH) / median(p99.figures, BARE);
    live.targets.push(
      `etcd-fetch delivers ${events.toFixed(2)}x npm etcd3's events/s (target >= 1x): ${verdict(events, 1, 'at least')}`,
    );
    p99.targets = [
      `etcd-fetch lag p99 ${lag.toFixed(2)}x the bare reader's (target <= 1.1x): ${verdict(lag, 1.1, 'at most')}`,
    ];
    return [live, p50, p99, replay];
  },
};

export default watchDelivery;
