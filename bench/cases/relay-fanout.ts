// Relay fan-out: 1,000 SSE clients (RELAY_FANOUT_CLIENTS) of one prefix on one relay (relayWatch called in-process, its
// bodies read in-process), with the pool's hub (one upstream watch) and without it (`shared:
// false`, a watch per client, as before issue 15). Per round: ms until every client had `event:
// ready`, watch streams opened, event lag (put answered to event read by a client) p50/p99 under
// a writer at 100 puts/s, and events lost. Alone: `node bench/run.ts relay-fanout`.
import { Etcd, RelayPool, relayWatch } from 'etcd-fetch';
import type { BenchCase, BenchContext, CaseResult, Figure } from '../lib.ts';
import { summarize } from '../lib.ts';

// RELAY_FANOUT_CLIENTS=10000 for the second row.
const SUBSCRIBERS = Number(process.env.RELAY_FANOUT_CLIENTS ?? 1_000);
const PUTS = 100;
const PUT_INTERVAL_MS = 10;
const HUB = 'relay hub';
const PER_CLIENT = 'watch per client';

interface FanoutFigures {
  readyMs: number;
  streams: number;
  lagP50: number;
  lagP99: number;
  lost: number;
}

/** Reads one relay body: calls `onReady` at `event: ready`, `onPut(revision)` at each put. */
async function readBody(body: ReadableStream<Uint8Array>, onReady: () => void, onPut: (revision: number) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const text = decoder.decode(value);
      if (text.includes('event: ready')) onReady();
      else if (text.includes('event: put')) onPut(Number(/^id: (\d+)/m.exec(text)?.[1]));
    }
  } catch {
    // aborted at the end of the round
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

/** One round: SUBSCRIBERS clients, then PUTS writes at 100/s, then the figures. */
async function round(context: BenchContext, shared: boolean, index: number): Promise<FanoutFigures> {
  let streams = 0;
  const etcd = new Etcd({
    endpoints: [context.endpoint],
    fetch: (request, init) => {
      if (new URL(request.url).pathname.endsWith('/v3/watch')) streams++;
      return fetch(request, init);
    },
  });
  const writer = new Etcd({ endpoints: [context.endpoint] });
  const prefix = `bench/relay-fanout/${shared ? 'hub' : 'own'}/${index}/`;
  const pool = new RelayPool();
  const abort = new AbortController();
  const acked = new Map<number, number>();
  const arrivals: Array<[number, number]> = [];
  let readyCount = 0;
  let allReady!: () => void;
  const ready = new Promise<void>((resolve) => (allReady = resolve));
  const started = performance.now();
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const response = await relayWatch(etcd, new Request(`http://relay.bench/${i}`, { signal: abort.signal }), { prefix }, { pool, shared });
    void readBody(response.body!, () => ++readyCount === SUBSCRIBERS && allReady(), (revision) => arrivals.push([revision, performance.now()]));
  }
  await ready;
  const readyMs = performance.now() - started;
  for (let i = 0; i < PUTS; i++) {
    const sent = performance.now();
    void writer.put(`${prefix}k${i}`, 'v').then((r) => acked.set(r.revision, performance.now()));
    await new Promise((r) => setTimeout(r, Math.max(0, PUT_INTERVAL_MS - (performance.now() - sent))));
  }
  for (const deadline = performance.now() + 10_000; arrivals.length < PUTS * SUBSCRIBERS && performance.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  abort.abort();
  const lags = arrivals.flatMap(([revision, at]) => (acked.has(revision) ? [at - acked.get(revision)!] : [])).sort((a, b) => a - b);
  await Promise.all([etcd.close(), writer.close()]);
  return { readyMs, streams, lagP50: percentile(lags, 50), lagP99: percentile(lags, 99), lost: PUTS * SUBSCRIBERS - arrivals.length };
}

/** SUBSCRIBERS relay clients of one prefix, with and without the hub. */
const relayFanout: BenchCase = {
  name: `relay-fanout-${SUBSCRIBERS}`,
  async run(context) {
    const rounds = Math.min(context.rounds, 3);
    const runs = new Map<string, FanoutFigures[]>([
      [HUB, []],
      [PER_CLIENT, []],
    ]);
    for (let i = 0; i < rounds; i++) {
      runs.get(HUB)!.push(await round(context, true, i));
      runs.get(PER_CLIENT)!.push(await round(context, false, i));
    }
    const result = (metric: string, unit: CaseResult['unit'], pick: (f: FanoutFigures) => number): CaseResult => {
      const figures: Figure[] = [...runs].map(([contender, figures]) => ({ contender, stats: summarize(figures.map(pick)) }));
      return { metric, unit, figures };
    };
    const readyResult = result('all ready', 'ms', (f) => f.readyMs);
    readyResult.targets = ['issue 15 (10,000 clients): ready ≤ 3 s, one upstream stream, lag p99 ≤ 100 ms at 100 events/s, 0 lost'];
    return [readyResult, result('watch streams opened', 'count', (f) => f.streams), result('lag p50', 'ms', (f) => f.lagP50), result('lag p99', 'ms', (f) => f.lagP99), result('lost', 'count', (f) => f.lost)];
  },
};

export default relayFanout;
