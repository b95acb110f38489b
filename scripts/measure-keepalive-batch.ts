// Measures how many leases one `/v3/lease/keepalive` request can carry and still get an answer for
// every one of them, with raw fetches (no client): a throwaway Debian etcd 3.4.23 on loopback, and
// the same etcd through the 3.5 / 3.6 / 3.7 imitations (test/helpers/version-gateway.ts), which
// forward to it and so show what it shows, plus their own proxy hop.
//
//   node scripts/measure-keepalive-batch.ts [--tries 40] [--sizes 10,20,...] [--parallel 1,4] [--versions debian,3.5] [--pad 15872]
//
// `debian` is the etcd that scripts/etcd.ts starts (ETCD_BIN, else etcd on PATH: Debian's 3.4.23),
// measured directly; a version number puts that imitation in front of it. `--pad` sends that many
// bytes of whitespace before the lines, as the client does (src/lease/keep-alive-body.ts).
//
// etcd's gateway (Go net/http, HTTP/1.1) reads the request body in a goroutine while it already
// streams answers back; when it flushes the first answer, net/http discards whatever of the body
// was not read yet, so the leases in that part get no answer and the response ends cleanly. How
// far the reader got is a race: this script counts how often each size is answered in full.

import { startVersionGateway } from '../test/helpers/version-gateway.ts';
import { startEtcd } from './etcd.ts';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2)
  args.set(process.argv[i]!.replace(/^--/, ''), process.argv[i + 1] ?? '');
const tries = Number(args.get('tries') ?? 40);
const sizes = (args.get('sizes') ?? '10,20,30,50,75,100,200,300,500,1000').split(',').map(Number);
const parallels = (args.get('parallel') ?? '1,4').split(',').map(Number);
const versions = (args.get('versions') ?? 'debian,3.5,3.6,3.7').split(',');
/** Leading whitespace before the first line, in bytes (0: none). */
const pad = Number(args.get('pad') ?? 0);

const server = await startEtcd();
try {
  const leases = await grantLeases(server.endpoint, Math.max(...sizes) * Math.max(...parallels));
  const real = await versionOf(server.endpoint);
  console.log(
    `etcd ${real} at ${server.endpoint}; ${leases.length} leases (TTL 600); ${tries} tries per size; ${pad} bytes of leading padding`,
  );
  console.log('| target | parallel | batch | full answers | min answered | median answered | median ms per request |');
  console.log('|---|---|---|---|---|---|---|');
  for (const version of versions) {
    const gateway =
      version === 'debian'
        ? undefined
        : await startVersionGateway({ upstream: server.endpoint, version: version as '3.5' });
    const endpoint = gateway?.endpoint ?? server.endpoint;
    const target = version === 'debian' ? `${real} (real)` : `${version} (imitation of ${real})`;
    try {
      for (const parallel of parallels) {
        for (const size of sizes) {
          const counts: number[] = [];
          const times: number[] = [];
          for (let t = 0; t < tries; t++) {
            const started = performance.now();
            // `parallel` requests at once, each for its own leases (as a keep-alive round sends them).
            const round = await Promise.all(
              Array.from({ length: parallel }, (_, p) =>
                keepAliveCount(endpoint, leases.slice(p * size, (p + 1) * size)),
              ),
            );
            counts.push(...round);
            times.push(performance.now() - started);
          }
          times.sort((a, b) => a - b);
          counts.sort((a, b) => a - b);
          const full = counts.filter((c) => c === size).length;
          console.log(
            `| ${target} | ${parallel} | ${size} | ${full}/${counts.length} (${((100 * full) / counts.length).toFixed(0)}%) | ${counts[0]} | ${counts[counts.length >> 1]} | ${times[times.length >> 1]!.toFixed(1)} |`,
          );
        }
      }
    } finally {
      await gateway?.close();
    }
  }
} finally {
  await server.stop();
}

/** Sends one keep-alive request for `ids`; answers how many of them got an answer line with a TTL. */
async function keepAliveCount(endpoint: string, ids: string[]): Promise<number> {
  const body = ' '.repeat(pad) + ids.map((id) => `{"ID":"${id}"}\n`).join('');
  const response = await fetch(`${endpoint}/v3/lease/keepalive`, { method: 'POST', body });
  const text = await response.text();
  const answered = new Set<string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const result = (JSON.parse(line) as { result?: { ID?: string; TTL?: string } }).result;
    if (result?.ID !== undefined && Number(result.TTL) > 0) answered.add(result.ID);
  }
  return ids.filter((id) => answered.has(id)).length;
}

async function grantLeases(endpoint: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 50) {
    const wave = await Promise.all(
      Array.from({ length: Math.min(50, count - i) }, async () => {
        const response = await fetch(`${endpoint}/v3/lease/grant`, { method: 'POST', body: '{"TTL":600}' });
        return ((await response.json()) as { ID: string }).ID;
      }),
    );
    ids.push(...wave);
  }
  return ids;
}

async function versionOf(endpoint: string): Promise<string> {
  return ((await (await fetch(`${endpoint}/version`)).json()) as { etcdserver: string }).etcdserver;
}
