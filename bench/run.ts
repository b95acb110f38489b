// `npm run bench` (builds first): every case below against one throwaway etcd, one table.
// `node bench/run.ts concurrent-gets mixed` runs only the cases whose name contains a word given.
// BENCH_ROUNDS (default 7) and BENCH_ROUND_MS (default 300) trade time for steadier figures;
// ETCD_ENDPOINTS benchmarks a running etcd instead of starting one.
import { type EtcdServer, startEtcd } from '../scripts/etcd.ts';
import bundleSize from './cases/bundle-size.ts';
import chromium from './cases/chromium.ts';
import coldImport from './cases/cold-import.ts';
import { concurrentGets } from './cases/concurrent-gets.ts';
import concurrentPuts from './cases/concurrent-puts.ts';
import idleWatchers from './cases/idle-watchers.ts';
import mixedReadWrite from './cases/mixed-read-write.ts';
import playgroundCase from './cases/playground.ts';
import relayFanout from './cases/relay-fanout.ts';
import sequentialPutGet from './cases/sequential-put-get.ts';
import timeTravel from './cases/time-travel.ts';
import tlsH1H2 from './cases/tls-h1-h2.ts';
import valueSearch from './cases/value-search.ts';
import watchChurn from './cases/watch-churn.ts';
import watchDelivery from './cases/watch-delivery.ts';
import { BARE, BareFetch, type BenchCase, type BenchContext, base64, ETCD3, type Figure, VALUE } from './lib.ts';

// One module per case in bench/cases/.
const cases: BenchCase[] = [
  sequentialPutGet,
  concurrentGets(64),
  concurrentGets(256),
  concurrentPuts,
  mixedReadWrite,
  watchDelivery,
  watchChurn,
  tlsH1H2,
  idleWatchers,
  relayFanout,
  chromium,
  playgroundCase,
  valueSearch,
  timeTravel,
  coldImport,
  bundleSize,
];

const KEY_COUNT = 1000;

const filters = process.argv.slice(2);
const selected = cases.filter((c) => filters.length === 0 || filters.some((word) => c.name.includes(word)));
if (selected.length === 0) {
  console.error(`no case matches ${filters.join(', ')}; cases: ${cases.map((c) => c.name).join(', ')}`);
  process.exit(2);
}

const started = performance.now();
const shared = process.env.ETCD_ENDPOINTS?.split(',')[0]?.trim();
let server: EtcdServer | undefined;
const endpoint = shared || (server = await startEtcd()).endpoint;
try {
  const context: BenchContext = {
    endpoint,
    rounds: Number(process.env.BENCH_ROUNDS ?? 7),
    roundMs: Number(process.env.BENCH_ROUND_MS ?? 300),
    keys: await preload(endpoint),
  };
  console.log(
    `etcd at ${endpoint}; ${context.rounds} rounds of ${context.roundMs} ms per contender; median (min-max)\n`,
  );
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const benchCase of selected) {
    for (const result of [await benchCase.run(context)].flat()) {
      const name = result.metric ? `${benchCase.name} ${result.metric}` : benchCase.name;
      for (const figure of result.figures) rows.push(row(name, result.unit, figure, result.figures));
      for (const line of result.targets ?? []) notes.push(`${name}: ${line}`);
    }
    console.error(`  ${benchCase.name} done (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  console.log(
    table(['case', 'contender', 'unit', 'median', 'min', 'max', 'x bare fetch', 'x etcd3', 'client CPU us/op'], rows),
  );
  console.log(`\n${notes.join('\n')}`);
  console.log(`\nwhole run: ${((performance.now() - started) / 1000).toFixed(0)} s`);
} finally {
  await server?.stop();
}

/** Writes the keys the cases read, `bench/key/0000` ..., in txns of 100 puts. */
async function preload(endpoint: string): Promise<string[]> {
  const keys = Array.from({ length: KEY_COUNT }, (_, i) => `bench/key/${String(i).padStart(4, '0')}`);
  const bare = new BareFetch(endpoint);
  for (let i = 0; i < keys.length; i += 100) {
    const success = keys.slice(i, i + 100).map((key) => ({ request_put: { key: base64(key), value: base64(VALUE) } }));
    await bare.call('/kv/txn', { success });
  }
  return keys;
}

function row(name: string, unit: string, figure: Figure, all: Figure[]): string[] {
  const { median, min, max } = figure.stats;
  const ratioTo = (other: string) => {
    const base = all.find((f) => f.contender === other);
    if (base === undefined) return '';
    // A lag can be negative (the event came before the put's answer): no meaningful ratio then.
    return median > 0 && base.stats.median > 0 ? `${(median / base.stats.median).toFixed(2)}x` : 'n/a';
  };
  const cpu = figure.cpuPerOp === undefined ? '' : format(figure.cpuPerOp);
  return [name, figure.contender, unit, format(median), format(min), format(max), ratioTo(BARE), ratioTo(ETCD3), cpu];
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = (i: number) => i >= 3;
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (numeric(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (numeric(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}
