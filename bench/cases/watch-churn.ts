// Watchers joining and leaving: all watchers of a client share one `/v3/watch` stream whose
// request body holds every create request, so changing the set of watchers means reopening it.
// 200 watchers join one by one (a macrotask apart), then 100 of them leave one by one; counted:
// streams opened and request bytes sent in each phase. Alone: `node bench/run.ts watch-churn`.
import type { FetchLike, Watch } from 'etcd-fetch';
import { type BenchCase, type BenchContext, type CaseResult, ETCD_FETCH, etcdFetch, summarize } from '../lib.ts';

const JOINS = 200;
const LEAVES = 100;
/** Long enough for any coalescing window to close before the phase is counted. */
const SETTLE_MS = 2_500;
const MAX_ROUNDS = 3;

interface ChurnFigures {
  joinStreams: number;
  joinBytes: number;
  leaveStreams: number;
  leaveBytes: number;
}

/** A fetch that counts watch requests and the bytes of their bodies. */
function counting(): { fetch: FetchLike; streams: number; bytes: number } {
  const counts = {
    streams: 0,
    bytes: 0,
    fetch: (async (request: Request, init?: RequestInit) => {
      if (new URL(request.url).pathname === '/v3/watch') {
        counts.streams++;
        counts.bytes += new TextEncoder().encode(await request.clone().text()).length;
      }
      return globalThis.fetch(request, init);
    }) as FetchLike,
  };
  return counts;
}

const tick = (ms = 1) => new Promise((resolve) => setTimeout(resolve, ms));

async function round(context: BenchContext): Promise<ChurnFigures> {
  const counts = counting();
  const etcd = etcdFetch(context, { fetch: counts.fetch });
  const writer = etcdFetch(context);
  const prefix = `bench/churn/${Math.random().toString(36).slice(2)}/`;
  const watches: Watch[] = [];
  try {
    for (let i = 0; i < JOINS; i++) {
      watches.push(etcd.watch({ prefix: `${prefix}${i}/` }));
      await tick();
    }
    await Promise.all(watches.map((w) => w.ready));
    await tick(SETTLE_MS);
    const joined = { streams: counts.streams, bytes: counts.bytes };
    for (let i = 0; i < LEAVES; i++) {
      watches.shift()!.close();
      await tick();
    }
    await tick(SETTLE_MS);
    // The survivors still hear their keys.
    const last = watches.at(-1)!;
    const put = await writer.put(`${prefix}${JOINS - 1}/k`, 'v');
    for await (const event of last) if (event.revision >= put.revision) break;
    return {
      joinStreams: joined.streams,
      joinBytes: joined.bytes,
      leaveStreams: counts.streams - joined.streams,
      leaveBytes: counts.bytes - joined.bytes,
    };
  } finally {
    for (const w of watches) w.close();
    etcd.close();
    writer.close();
  }
}

const watchChurn: BenchCase = {
  name: 'watch-churn',
  async run(context) {
    const runs: ChurnFigures[] = [];
    for (let i = 0; i < Math.min(context.rounds, MAX_ROUNDS); i++) runs.push(await round(context));
    const result = (metric: string, unit: CaseResult['unit'], pick: (f: ChurnFigures) => number): CaseResult => ({
      metric,
      unit,
      figures: [{ contender: ETCD_FETCH, stats: summarize(runs.map(pick)) }],
    });
    const joinStreams = result(`streams opened, ${JOINS} joins`, 'count', (f) => f.joinStreams);
    joinStreams.targets = [
      `${JOINS} watchers join a macrotask apart, then ${LEAVES} leave a macrotask apart; each phase counted ${SETTLE_MS} ms after its last change`,
    ];
    return [
      joinStreams,
      result(`bytes sent, ${JOINS} joins`, 'KB', (f) => f.joinBytes / 1024),
      result(`streams opened, ${LEAVES} leaves`, 'count', (f) => f.leaveStreams),
      result(`bytes sent, ${LEAVES} leaves`, 'KB', (f) => f.leaveBytes / 1024),
    ];
  },
};

export default watchChurn;
