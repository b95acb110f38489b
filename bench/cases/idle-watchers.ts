import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BenchCase, type CaseResult, ETCD_FETCH, ETCD3, type Figure, median, summarize } from '../lib.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const script = fileURLToPath(new URL('../idle-watchers-child.ts', import.meta.url));
const WATCHERS = 1_000;

interface IdleFigures {
  readyMs: number;
  rssKB: number;
  heapKB: number;
}

const contenders = { [ETCD_FETCH]: 'etcd-fetch', [ETCD3]: 'etcd3' } as const;

/** A fresh Node process opens the watchers with one client of `library` and reports its figures. */
function runChild(library: string, endpoint: string): Promise<IdleFigures> {
  return new Promise((resolve, reject) => {
    const args = ['--expose-gc', script, library, endpoint, String(WATCHERS)];
    // A round that stalls fails the case after a minute instead of holding up the whole bench.
    const child = spawn(process.execPath, args, {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as IdleFigures)
        : reject(new Error(`${library} idle watchers exited with ${code}`)),
    );
  });
}

/**
 * 1,000 idle watchers (one key each) on one client: etcd-fetch multiplexes them on one HTTP
 * stream, etcd3 on one gRPC stream. Per contender and round a fresh `node` process; three results:
 * ms until etcd created all of them, peak RSS and peak heap used above the client's baseline.
 */
const idleWatchers: BenchCase = {
  name: 'idle-watchers-1000',
  async run(context) {
    const names = Object.keys(contenders) as Array<keyof typeof contenders>;
    const runs = new Map<string, IdleFigures[]>(names.map((name) => [name, []]));
    for (let round = 0; round < context.rounds; round++) {
      for (let i = 0; i < names.length; i++) {
        const name = names[(i + round) % names.length]!;
        runs.get(name)!.push(await runChild(contenders[name], context.endpoint));
      }
    }
    const result = (metric: string, unit: CaseResult['unit'], pick: (f: IdleFigures) => number): CaseResult => {
      const figures: Figure[] = names.map((contender) => ({
        contender,
        stats: summarize(runs.get(contender)!.map(pick)),
      }));
      return { metric, unit, figures };
    };
    const ready = result('ready', 'ms', (f) => f.readyMs);
    const rss = result('RSS peak', 'KB', (f) => f.rssKB);
    const heap = result('heap peak', 'KB', (f) => f.heapKB);
    const ratio = (r: CaseResult) => (median(r.figures, ETCD_FETCH) / median(r.figures, ETCD3)).toFixed(2);
    ready.targets = [
      'memory is the peak above a baseline taken after the client made one call (sampled every 10 ms, until 500 ms after all were ready)',
      `etcd-fetch / etcd3: ready ${ratio(ready)}x, RSS ${ratio(rss)}x, heap ${ratio(heap)}x`,
    ];
    return [ready, rss, heap];
  },
};

export default idleWatchers;
