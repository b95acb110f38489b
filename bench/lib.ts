// Shared pieces of the benchmark: what a case is, how rounds are timed, the three kinds of client.
import { Etcd, type EtcdOptions } from 'etcd-fetch';
import { Etcd3 } from 'etcd3';

export interface Stats {
  median: number;
  min: number;
  max: number;
}

/** One line of the table: a client (or a bare-fetch baseline) and what it measured. */
export interface Figure {
  contender: string;
  stats: Stats;
  /** Median CPU time of this process per operation, in microseconds: the client's own cost. */
  cpuPerOp?: number;
}

export interface CaseResult {
  /** `ops/s`, `events/s` (higher is better), `ms`, `KB` or `count` (lower is better). */
  unit: 'ops/s' | 'events/s' | 'ms' | 'KB' | 'count';
  /** What was measured, when one case reports several things; shown after the case name. */
  metric?: string;
  figures: Figure[];
  /** Lines comparing a figure with its target from the issue (reported, not asserted). */
  targets?: string[];
}

export interface BenchCase {
  /** Short name, also the filter on the command line: `node bench/run.ts concurrent-gets`. */
  name: string;
  run(context: BenchContext): Promise<CaseResult | CaseResult[]>;
}

export interface BenchContext {
  readonly endpoint: string;
  /** Measured rounds per contender (`BENCH_ROUNDS`, default 7). */
  readonly rounds: number;
  /** Length of one time-boxed round in milliseconds (`BENCH_ROUND_MS`, default 300). */
  readonly roundMs: number;
  /** Keys written before the cases run (`bench/key/0000` ...), each with a 32-byte value. */
  readonly keys: readonly string[];
}

export const BARE = 'bare fetch';
export const ETCD_FETCH = 'etcd-fetch';
export const ETCD_FETCH_UNBATCHED = 'etcd-fetch (batch: false)';
export const ETCD3 = 'npm etcd3';

export const VALUE = 'v'.repeat(32);

export function etcdFetch(context: BenchContext, options: EtcdOptions = {}): Etcd {
  return new Etcd({ endpoints: [context.endpoint], ...options });
}

export function etcd3(context: BenchContext): Etcd3 {
  return new Etcd3({ hosts: context.endpoint });
}

/** The physical limit: `fetch` and `JSON` against the gateway, no client at all. */
export class BareFetch {
  private readonly endpoint: string;

  constructor(endpoint: string) {
    this.endpoint = endpoint;
  }

  async call(path: string, body: object): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.endpoint}/v3${path}`, { method: 'POST', body: JSON.stringify(body) });
    const answer = (await response.json()) as Record<string, unknown>;
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${JSON.stringify(answer)}`);
    return answer;
  }

  get(key: string): Promise<Record<string, unknown>> {
    return this.call('/kv/range', { key: base64(key) });
  }

  put(key: string, value: string): Promise<Record<string, unknown>> {
    return this.call('/kv/put', { key: base64(key), value: base64(value) });
  }
}

export function base64(text: string): string {
  return btoa(text);
}

/**
 * Runs each contender for `rounds` time-boxed rounds, interleaved (round 1 of every contender,
 * then round 2, ...) so a noisy neighbour hurts them alike; one unmeasured warm-up round first.
 * `step` does some operations and says how many.
 */
export async function throughput(
  context: BenchContext,
  contenders: Record<string, () => Promise<number>>,
): Promise<Figure[]> {
  const names = Object.keys(contenders);
  const samples = new Map<string, number[]>(names.map((name) => [name, []]));
  const cpu = new Map<string, number[]>(names.map((name) => [name, []]));
  for (let round = -1; round < context.rounds; round++) {
    // Rotate who goes first, so no contender always follows the same one.
    const order = names.map((_, i) => names[(i + Math.max(round, 0)) % names.length]!);
    for (const name of order) {
      const step = contenders[name]!;
      const roundMs = round < 0 ? context.roundMs / 3 : context.roundMs;
      let ops = 0;
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const end = started + roundMs;
      while (performance.now() < end) ops += await step();
      const seconds = (performance.now() - started) / 1000;
      const used = process.cpuUsage(cpuBefore);
      if (round >= 0) {
        samples.get(name)!.push(ops / seconds);
        cpu.get(name)!.push((used.user + used.system) / ops);
      }
    }
  }
  return names.map((name) => ({
    contender: name,
    stats: summarize(samples.get(name)!),
    cpuPerOp: summarize(cpu.get(name)!).median,
  }));
}

export function summarize(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

export function median(figures: Figure[], contender: string): number {
  const figure = figures.find((f) => f.contender === contender);
  if (!figure) throw new Error(`no figure for ${contender}`);
  return figure.stats.median;
}

/** "met" or "missed by N%" for a ratio that should be at most / at least `target`. */
export function verdict(ratio: number, target: number, direction: 'at most' | 'at least'): string {
  const met = direction === 'at most' ? ratio <= target : ratio >= target;
  if (met) return 'met';
  const by = direction === 'at most' ? ratio / target - 1 : 1 - ratio / target;
  return `missed by ${(by * 100).toFixed(0)}%`;
}

/** Several operations at once, as one step: `concurrently(64, (i) => client.get(key(i)))`. */
export async function concurrently(count: number, operation: (i: number) => Promise<unknown>): Promise<number> {
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) pending.push(operation(i));
  await Promise.all(pending);
  return count;
}

let cursor = 0;
/** A key of the preloaded set, walking through it so every call reads another key. */
export function nextKey(context: BenchContext): string {
  cursor = (cursor + 1) % context.keys.length;
  return context.keys[cursor]!;
}
