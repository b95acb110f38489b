import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BenchCase, ETCD3, ETCD_FETCH, type Figure, median, summarize, verdict } from '../lib.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A fresh Node process imports the package and reports how long `await import()` took. */
function importOnce(specifier: string, thenTouchFetch = false): Promise<number> {
  const touch = thenTouchFetch ? 'new Request("http://127.0.0.1/");' : '';
  const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); ${touch} console.log(performance.now() - t);`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(out.trim())) : reject(new Error(`import of ${specifier} exited with ${code}`))));
  });
}

const WITH_FETCH = 'etcd-fetch + loading Node fetch';

/**
 * Time of a cold `await import()` in Node: the built `dist` against npm etcd3. Figures in ms.
 * Node loads its `fetch` (undici) lazily, on the first `Request` or `fetch`: a fetch-based client
 * pays that on its first call instead; the third row shows import plus that load.
 */
const coldImport: BenchCase = {
  name: 'cold-import',
  async run(context) {
    const runs: Record<string, () => Promise<number>> = {
      [ETCD_FETCH]: () => importOnce('etcd-fetch'),
      [WITH_FETCH]: () => importOnce('etcd-fetch', true),
      [ETCD3]: () => importOnce('etcd3'),
    };
    const samples: Record<string, number[]> = { [ETCD_FETCH]: [], [WITH_FETCH]: [], [ETCD3]: [] };
    await importOnce('etcd-fetch'); // warm the file system cache: "cold" means a fresh process, not a cold disk
    await importOnce('etcd3');
    for (let round = 0; round < context.rounds; round++) {
      for (const [name, run] of Object.entries(runs)) samples[name]!.push(await run());
    }
    const figures: Figure[] = Object.entries(samples).map(([contender, values]) => ({ contender, stats: summarize(values) }));
    const ratio = median(figures, ETCD_FETCH) / median(figures, ETCD3);
    const withFetch = median(figures, WITH_FETCH) / median(figures, ETCD3);
    return {
      unit: 'ms',
      figures,
      targets: [
        `etcd-fetch imports in ${ratio.toFixed(2)}x npm etcd3's time (target <= 0.1x): ${verdict(ratio, 0.1, 'at most')}`,
        `with Node's lazily loaded fetch counted in: ${withFetch.toFixed(2)}x`,
      ],
    };
  },
};

export default coldImport;
