// Relay fan-out: 1,000 SSE subscribers (RELAY_FANOUT_CLIENTS=10000 for the second row) of
// one prefix on one relay, with the subscribers in ANOTHER process than the relay: the relay
// (bench/relay-fanout-relay.ts) serves relayWatch over node:http, the subscriber process
// (bench/relay-fanout-subscribers.ts) holds the connections and writes 100 puts at 100/s. With the
// pool's hub (one upstream watch) and, with RELAY_FANOUT_OWN=1, without it (`shared: false`, a
// watch per client). Per round: ms until every subscriber had `event: ready`, watch streams the
// relay opened, lag (put answered to event read by a subscriber) p50/p99, events lost, and the
// relay process's peak RSS. Alone: `node bench/run.ts relay-fanout`.
// RELAY_FANOUT_NODE_FLAGS passes flags to the relay process (`--cpu-prof --cpu-prof-dir=DIR` to profile it).
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BenchCase, BenchContext, CaseResult, Figure } from '../lib.ts';
import { summarize } from '../lib.ts';

const SUBSCRIBERS = Number(process.env.RELAY_FANOUT_CLIENTS ?? 1_000);
const PUTS = 100;
const HUB = 'relay hub';
const PER_CLIENT = 'watch per client';
const root = fileURLToPath(new URL('../..', import.meta.url));
const relayScript = fileURLToPath(new URL('../relay-fanout-relay.ts', import.meta.url));
const subscribersScript = fileURLToPath(new URL('../relay-fanout-subscribers.ts', import.meta.url));

interface FanoutFigures {
  readyMs: number;
  streams: number;
  lagP50: number;
  lagP99: number;
  lost: number;
  duplicates: number;
  reconnects: number;
  rssMB: number;
}

/** The first line `child` prints, as JSON. */
function firstLine<T>(child: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve(JSON.parse(line) as T));
    child.once('exit', (code) => reject(new Error(`${what} exited with ${code} before answering`)));
    child.once('error', reject);
  });
}

/** One round: a relay process, a subscriber process, then the figures of both. */
async function round(context: BenchContext, shared: boolean, index: number): Promise<FanoutFigures> {
  const relay = spawn(
    process.execPath,
    [
      ...(process.env.RELAY_FANOUT_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      relayScript,
      context.endpoint,
      shared ? 'hub' : 'own',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const { port } = await firstLine<{ port: number }>(relay, 'the relay');
    const relayUrl = `http://127.0.0.1:${port}`;
    const prefix = `bench/relay-fanout/${process.pid}/${shared ? 'hub' : 'own'}/${index}/`;
    const subscribers = spawn(
      process.execPath,
      [subscribersScript, relayUrl, String(SUBSCRIBERS), context.endpoint, prefix, String(PUTS)],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
        timeout: 180_000,
        killSignal: 'SIGKILL',
      },
    );
    const seen = await firstLine<Omit<FanoutFigures, 'streams' | 'rssMB'>>(subscribers, 'the subscribers');
    const stats = (await (await fetch(`${relayUrl}/stats`)).json()) as { streams: number; rssMB: number };
    if (process.env.RELAY_FANOUT_DEBUG) console.log(JSON.stringify({ seen, stats }));
    await new Promise((resolve) =>
      subscribers.exitCode === null ? subscribers.once('exit', resolve) : resolve(undefined),
    );
    return { ...seen, streams: stats.streams, rssMB: stats.rssMB };
  } finally {
    // SIGINT lets a profiling relay (RELAY_FANOUT_NODE_FLAGS=--cpu-prof) write its profile.
    relay.kill(process.env.RELAY_FANOUT_NODE_FLAGS ? 'SIGINT' : 'SIGKILL');
  }
}

/** SUBSCRIBERS relay subscribers of one prefix in another process, with (and optionally without) the hub. */
const relayFanout: BenchCase = {
  name: `relay-fanout-${SUBSCRIBERS}`,
  async run(context) {
    const rounds = Math.min(context.rounds, 3);
    const contenders: Array<[string, boolean]> = [
      [HUB, true],
      ...(process.env.RELAY_FANOUT_OWN ? [[PER_CLIENT, false] as [string, boolean]] : []),
    ];
    const runs = new Map<string, FanoutFigures[]>(contenders.map(([name]) => [name, []]));
    for (let i = 0; i < rounds; i++)
      for (const [name, shared] of contenders) runs.get(name)!.push(await round(context, shared, i));
    const result = (metric: string, unit: CaseResult['unit'], pick: (f: FanoutFigures) => number): CaseResult => {
      const figures: Figure[] = [...runs].map(([contender, figures]) => ({
        contender,
        stats: summarize(figures.map(pick)),
      }));
      return { metric, unit, figures };
    };
    const readyResult = result('all ready', 'ms', (f) => f.readyMs);
    readyResult.targets = [
      'issue 15 (10,000 subscribers in another process): ready ≤ 3 s, one upstream stream, lag p99 ≤ 100 ms at 100 events/s, 0 lost, relay RSS ≤ 300 MB',
    ];
    return [
      readyResult,
      result('watch streams opened', 'count', (f) => f.streams),
      result('lag p50', 'ms', (f) => f.lagP50),
      result('lag p99', 'ms', (f) => f.lagP99),
      result('lost', 'count', (f) => f.lost),
      result('repeated', 'count', (f) => f.duplicates),
      result('reconnects (pool over budget)', 'count', (f) => f.reconnects),
      result('relay RSS (MB)', 'count', (f) => f.rssMB),
    ];
  },
};

export default relayFanout;
