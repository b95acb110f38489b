import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BenchCase, ETCD_FETCH, ETCD3, type Figure, median, summarize, verdict } from '../lib.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A fresh Node process runs `script` (which prints its own elapsed ms) and reports the figure. */
function timeScript(script: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(Number(out.trim())) : reject(new Error(`cold-start script exited with ${code}`)),
    );
  });
}

const KV_ENTRY = 'etcd-fetch/kv';

/**
 * A cold start in Node: a fresh process imports the client and has the first get answered by the
 * running etcd, against npm etcd3 doing the same. Node loads its `fetch` (undici) lazily on the
 * first call, so that load is counted, as a real first call pays it. Figures in ms.
 */
const coldImport: BenchCase = {
  name: 'cold-start',
  async run(context) {
    const endpoint = JSON.stringify(context.endpoint);
    const start = 'const t = performance.now();';
    const done = 'console.log(performance.now() - t);';
    const scripts: Record<string, string> = {
      [ETCD_FETCH]: `${start} const { Etcd } = await import('etcd-fetch'); await new Etcd({ endpoints: [${endpoint}] }).get('bench/key/0001'); ${done}`,
      [KV_ENTRY]: `${start} const { createCore, get } = await import('etcd-fetch/kv'); await get(createCore({ endpoints: [${endpoint}] }), 'bench/key/0001'); ${done}`,
      [ETCD3]: `${start} const { Etcd3 } = await import('etcd3'); const c = new Etcd3({ hosts: ${endpoint} }); await c.get('bench/key/0001').string(); ${done} c.close();`,
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(scripts).map((name) => [name, []]));
    // Warm the file system cache: "cold" means a fresh process, not a cold disk.
    for (const script of Object.values(scripts)) await timeScript(script);
    for (let round = 0; round < context.rounds; round++) {
      for (const [name, script] of Object.entries(scripts)) samples[name]!.push(await timeScript(script));
    }
    const figures: Figure[] = Object.entries(samples).map(([contender, values]) => ({
      contender,
      stats: summarize(values),
    }));
    const ratio = median(figures, ETCD_FETCH) / median(figures, ETCD3);
    const kvRatio = median(figures, KV_ENTRY) / median(figures, ETCD3);
    return {
      unit: 'ms',
      figures,
      targets: [
        `import + first answered get: ${ratio.toFixed(2)}x npm etcd3's time (target <= 0.3x): ${verdict(ratio, 0.3, 'at most')}`,
        `the same through etcd-fetch/kv: ${kvRatio.toFixed(2)}x`,
      ],
    };
  },
};

export default coldImport;
