import { Etcd } from 'etcd-fetch';
import { Agent } from 'undici';
import { startEtcd } from '../../scripts/etcd.ts';
import { createTestPki } from '../../test/helpers/tls.ts';
import { BARE, type BenchCase, type CaseResult, concurrently, median, throughput, VALUE } from '../lib.ts';

const H1 = 'etcd-fetch, TLS HTTP/1.1';
const H2 = 'etcd-fetch, TLS HTTP/2 (allowH2)';
const KEYS = Array.from({ length: 256 }, (_, i) => `bench/tls/${String(i).padStart(3, '0')}`);

/**
 * etcd-fetch over TLS in Node, through an undici Agent speaking HTTP/1.1 (a connection per
 * request in flight) against one with `allowH2` (every request multiplexed on one connection),
 * on its own TLS etcd. The baseline, `bare fetch`, is fetch and JSON over the HTTP/1.1 agent.
 * Reads go unbatched (`batch: false`), one request each, since the transport is what is compared.
 */
const tlsH1H2: BenchCase = {
  name: 'tls-h1-h2',
  async run(context) {
    const pki = createTestPki();
    const server = await startEtcd({
      tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile },
    });
    const h1 = new Agent({ connect: { ca: pki.ca.cert } });
    const h2 = new Agent({ allowH2: true, connect: { ca: pki.ca.cert } });
    const through = (dispatcher: Agent) => (input: Request, init?: RequestInit) =>
      fetch(input, { ...init, dispatcher } as RequestInit);
    const client = (dispatcher: Agent) =>
      new Etcd({ endpoints: [server.endpoint], fetch: through(dispatcher), batch: false });
    const bare = async (path: string, body: object) => {
      const response = await fetch(`${server.endpoint}/v3${path}`, {
        method: 'POST',
        body: JSON.stringify(body),
        dispatcher: h1,
      } as RequestInit);
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
      return response.json();
    };
    const b64 = (text: string) => btoa(text);
    const clients = { [H1]: client(h1), [H2]: client(h2) };
    try {
      for (let i = 0; i < KEYS.length; i += 128) {
        await bare('/kv/txn', {
          success: KEYS.slice(i, i + 128).map((key) => ({ request_put: { key: b64(key), value: b64(VALUE) } })),
        });
      }
      let cursor = 0;
      const next = () => KEYS[(cursor = (cursor + 1) % KEYS.length)]!;
      const results: CaseResult[] = [];
      const measure = async (
        metric: string,
        bareStep: () => Promise<number>,
        step: (etcd: Etcd) => Promise<number>,
      ) => {
        const figures = await throughput(context, {
          [BARE]: bareStep,
          [H1]: () => step(clients[H1]),
          [H2]: () => step(clients[H2]),
        });
        const ratio = median(figures, H2) / median(figures, H1);
        results.push({
          unit: 'ops/s',
          metric,
          figures,
          targets: [`HTTP/2 does ${ratio.toFixed(2)}x the ops/s of HTTP/1.1`],
        });
      };
      await measure(
        'sequential put+get',
        async () => {
          await bare('/kv/put', { key: b64('bench/tls/seq'), value: b64(VALUE) });
          await bare('/kv/range', { key: b64('bench/tls/seq') });
          return 1;
        },
        async (etcd) => {
          await etcd.put('bench/tls/seq', VALUE);
          await etcd.get('bench/tls/seq');
          return 1;
        },
      );
      await measure(
        '64 concurrent gets',
        () => concurrently(64, () => bare('/kv/range', { key: b64(next()) })),
        (etcd) => concurrently(64, () => etcd.get(next())),
      );
      await measure(
        '64 concurrent puts',
        () => concurrently(64, () => bare('/kv/put', { key: b64(next()), value: b64(VALUE) })),
        (etcd) => concurrently(64, () => etcd.put(next(), VALUE)),
      );
      return results;
    } finally {
      for (const etcd of Object.values(clients)) etcd.close();
      await Promise.all([h1.close(), h2.close()]);
      await server.stop();
      pki.dispose();
    }
  },
};

export default tlsH1H2;
