// Relay fan-out (issue 26): SSE subscribers of one prefix on one relay, with the subscribers in
// ANOTHER process than the relay: the relay (bench/relay-fanout-relay.ts) serves over node:http,
// the subscriber process (bench/relay-fanout-subscribers.ts) holds the connections and writes
// RELAY_FANOUT_PUTS (300) puts of 200-byte values at 100/s. For each count in RELAY_FANOUT_CLIENTS
// (default 10000,20000), two contenders run in the same bench run, interleaved: `lean`
// (relayWatchNode, bytes straight to each socket) and `web stream` (relayWatch's Response body
// pumped into the socket, the path before it); RELAY_FANOUT_OWN=1 adds a watch per client.
// RELAY_FANOUT_ROUNDS (1) rounds each. Per round: ms until every subscriber had `event: ready`,
// watch streams opened, lag (put answered to event read) p50/p99, events lost and repeated,
// relay peak RSS, relay CPU per delivery over the puts, relay heap per subscriber once all are
// ready (after a full GC, minus the heap before any). Alone: `npm run bench:relay`.
// Child processes get a file-descriptor limit of 65,536 when they may (else their hard limit).
// RELAY_FANOUT_NODE_FLAGS passes flags to the relay process (`--cpu-prof --cpu-prof-dir=DIR` to profile it).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Etcd } from 'etcd-fetch';
import type { BenchCase, BenchContext, CaseResult, Figure } from '../lib.ts';
import { summarize } from '../lib.ts';

const COUNTS = (process.env.RELAY_FANOUT_CLIENTS ?? '10000,20000').split(',').map(Number);
const PUTS = Number(process.env.RELAY_FANOUT_PUTS ?? 300);
const ROUNDS = Number(process.env.RELAY_FANOUT_ROUNDS ?? 1);
const FD_LIMIT = 65_536;
const PUT_INTERVAL_MS = 10;
const VALUE = 'v'.repeat(200);
const root = fileURLToPath(new URL('../..', import.meta.url));
const relayScript = fileURLToPath(new URL('../relay-fanout-relay.ts', import.meta.url));
const subscribersScript = fileURLToPath(new URL('../relay-fanout-subscribers.ts', import.meta.url));

type Mode = 'lean' | 'stream' | 'own';
const CONTENDERS: Array<[string, Mode]> = [
  ['lean (relayWatchNode)', 'lean'],
  ['web stream (relayWatch)', 'stream'],
  ...(process.env.RELAY_FANOUT_OWN ? [['watch per client', 'own'] as [string, Mode]] : []),
];

/** What issue 26 asks at each count (ready, lag p99, RSS; always 0 lost). */
const TARGETS: Record<number, { readyMs: number; lagP99?: number; rssMB?: number }> = {
  10000: { readyMs: 3_000, lagP99: 250, rssMB: 300 },
  20000: { readyMs: 6_000 },
};

interface FanoutFigures {
  readyMs: number;
  streams: number;
  lagP50: number;
  lagP99: number;
  lost: number;
  duplicates: number;
  reconnects: number;
  rssMB: number;
  /** Relay CPU per delivery, µs. */
  cpuPerDelivery: number;
  /** Relay heap per subscriber once all are ready, KB. */
  heapPerSubscriber: number;
}

/** `node args...` with the file-descriptor limit raised as far as allowed. */
function spawnNode(args: string[], options: Parameters<typeof spawn>[2]): ChildProcess {
  const raise = `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"`;
  return spawn('/bin/sh', ['-c', raise, process.execPath, ...args], options);
}

/** Open files a child may have once spawnNode raised what it could (each subscriber is a socket in both processes). */
const fdLimit = Number(
  execFileSync('/bin/sh', [
    '-c',
    `ulimit -n ${FD_LIMIT} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; ulimit -n`,
  ])
    .toString()
    .trim(),
);
/** Descriptors a process needs beside its subscribers' sockets (stdio, etcd, the stats requests, Node's own). */
const FD_SPARE = 100;

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
async function round(context: BenchContext, count: number, mode: Mode, index: number): Promise<FanoutFigures> {
  const relay = spawnNode(
    [
      '--expose-gc',
      ...(process.env.RELAY_FANOUT_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      relayScript,
      context.endpoint,
      mode,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const { port } = await firstLine<{ port: number }>(relay, 'the relay');
    const relayUrl = `http://127.0.0.1:${port}`;
    const before = (await (await fetch(`${relayUrl}/stats?gc=1`)).json()) as { heapUsedBytes: number };
    const prefix = `bench/relay-fanout/${process.pid}/${count}/${mode}/${index}/`;
    const subscribers = spawnNode([subscribersScript, relayUrl, String(count), prefix, String(PUTS)], {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
      timeout: 300_000,
      killSignal: 'SIGKILL',
    });
    const lines = createInterface({ input: subscribers.stdout! });
    const exited = new Promise<never>((_, reject) =>
      subscribers.once('exit', (code) => reject(new Error(`the subscribers exited with ${code} before answering`))),
    );
    const nextLine = <T>() =>
      Promise.race([new Promise<T>((resolve) => lines.once('line', (line) => resolve(JSON.parse(line) as T))), exited]);
    const { readyMs, heapReady } = await nextLine<{ readyMs: number; heapReady: number }>();
    // The puts come from this process: the subscriber process is too busy reading to keep a schedule.
    const acks = await writePuts(context, prefix);
    subscribers.stdin!.end(`${JSON.stringify(acks)}\n`);
    const seen = {
      readyMs,
      heapReady,
      ...(await nextLine<{
        lagP50: number;
        lagP99: number;
        lost: number;
        duplicates: number;
        reconnects: number;
        relayCpuMs: number;
        deliveries: number;
      }>()),
    };
    const stats = (await (await fetch(`${relayUrl}/stats`)).json()) as { streams: number; rssMB: number };
    if (process.env.RELAY_FANOUT_DEBUG) console.log(JSON.stringify({ count, mode, seen, stats }));
    await exited.catch(() => {});
    return {
      ...seen,
      streams: stats.streams,
      rssMB: stats.rssMB,
      cpuPerDelivery: (seen.relayCpuMs * 1000) / Math.max(1, seen.deliveries),
      heapPerSubscriber: (seen.heapReady - before.heapUsedBytes) / 1024 / count,
    };
  } finally {
    // SIGINT lets a profiling relay (RELAY_FANOUT_NODE_FLAGS=--cpu-prof) write its profile.
    relay.kill(process.env.RELAY_FANOUT_NODE_FLAGS ? 'SIGINT' : 'SIGKILL');
  }
}

/** PUTS puts of 200-byte values at 100/s on a fixed schedule; when etcd answered each, in ms since the epoch. */
async function writePuts(context: BenchContext, prefix: string): Promise<Array<[number, number]>> {
  const writer = new Etcd({ endpoints: [context.endpoint], timeout: 30_000 });
  const acks: Array<[number, number]> = [];
  const writes: Promise<void>[] = [];
  const started = performance.now();
  try {
    for (let i = 0; i < PUTS; i++) {
      writes.push(
        writer.put(`${prefix}k${i}`, VALUE).then(({ revision }) => {
          acks.push([revision, performance.timeOrigin + performance.now()]);
        }),
      );
      const due = started + (i + 1) * PUT_INTERVAL_MS;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
    }
    await Promise.all(writes);
  } finally {
    await writer.close();
  }
  return acks;
}

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');

/** "met", or the measured miss, for each of the issue's targets at `count`, per contender. */
function verdicts(count: number, runs: Map<string, FanoutFigures[]>): string[] {
  const target = TARGETS[count];
  if (target === undefined) return [];
  const lines: string[] = [];
  for (const [contender, figures] of runs) {
    const median = (pick: (f: FanoutFigures) => number) => summarize(figures.map(pick)).median;
    const check = (what: string, measured: number, bound: number | undefined, unit: string) =>
      bound === undefined
        ? []
        : [`${what} ≤ ${fmt(bound)} ${unit}: ${measured <= bound ? 'met' : 'missed'} (${fmt(measured)} ${unit})`];
    const worstLost = Math.max(...figures.map((f) => f.lost + f.duplicates));
    // Not arrived 20 s after the last put counts as lost: a relay that far behind is not keeping up.
    const parts = [
      ...check(
        'ready',
        median((f) => f.readyMs),
        target.readyMs,
        'ms',
      ),
      ...check(
        'lag p99',
        median((f) => f.lagP99),
        target.lagP99,
        'ms',
      ),
      ...check(
        'relay RSS',
        median((f) => f.rssMB),
        target.rssMB,
        'MB',
      ),
      `0 lost or repeated: ${worstLost === 0 ? 'met' : `missed (${fmt(worstLost)})`}`,
      // What keeping up costs: every event goes to every subscriber, 100 events a second.
      `keeping up takes ${((median((f) => f.cpuPerDelivery) * count * 100) / 1e6).toFixed(1)} cores of relay CPU (CPU per delivery x ${fmt(count)} subscribers x 100 events/s), on a machine of ${availableParallelism()} shared with the subscribers and etcd`,
    ];
    lines.push(`${fmt(count)} subscribers, ${contender}: ${parts.join('; ')}`);
  }
  return lines;
}

async function runCount(context: BenchContext, asked: number): Promise<CaseResult[]> {
  // Unlimited ('unlimited' is NaN): as asked.
  const count = Math.min(asked, Number.isNaN(fdLimit) ? asked : fdLimit - FD_SPARE);
  const runs = new Map<string, FanoutFigures[]>(CONTENDERS.map(([name]) => [name, []]));
  for (let i = 0; i < ROUNDS; i++)
    for (const [name, mode] of CONTENDERS) runs.get(name)!.push(await round(context, count, mode, i));
  const result = (metric: string, unit: CaseResult['unit'], pick: (f: FanoutFigures) => number): CaseResult => {
    const figures: Figure[] = [...runs].map(([contender, figures]) => ({
      contender,
      stats: summarize(figures.map(pick)),
    }));
    return { metric: `${count} ${metric}`, unit, figures };
  };
  const readyResult = result('all ready', 'ms', (f) => f.readyMs);
  readyResult.targets = verdicts(asked, runs).map((line) =>
    count === asked
      ? line
      : `${line} [measured at ${fmt(count)}: this machine's hard limit of open files is ${fmt(fdLimit)} and cannot be raised here]`,
  );
  return [
    readyResult,
    result('watch streams opened', 'count', (f) => f.streams),
    result('lag p50', 'ms', (f) => f.lagP50),
    result('lag p99', 'ms', (f) => f.lagP99),
    result('lost (not arrived 20 s after the last put)', 'count', (f) => f.lost),
    result('repeated', 'count', (f) => f.duplicates),
    result('reconnects (pool over budget)', 'count', (f) => f.reconnects),
    result('relay RSS (MB)', 'count', (f) => f.rssMB),
    result('relay CPU per delivery (µs)', 'count', (f) => f.cpuPerDelivery),
    result('relay heap per subscriber (KB)', 'KB', (f) => f.heapPerSubscriber),
  ];
}

/** Relay subscribers of one prefix in another process, lean and Web-stream paths, at each count. */
const relayFanout: BenchCase = {
  name: 'relay-fanout',
  async run(context) {
    const results: CaseResult[] = [];
    for (const count of COUNTS) results.push(...(await runCount(context, count)));
    return results;
  },
};

export default relayFanout;
