// TLS and client certificates against real etcds: one serving https with a throwaway CA's
// certificate, one also requiring a client certificate (--client-cert-auth --trusted-ca-file).
// Node (undici Agent), Deno (Deno.createHttpClient), Bun (fetch's tls option), workerd (the CA
// trusted in its network config) and Chromium (HTTP/2 proven over the DevTools protocol).
// Nothing is skipped: a missing runtime, openssl or etcd fails its test.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Agent } from 'undici';
import { type EtcdServer, freePort, startEtcd } from '../../scripts/etcd.ts';
import { launchChromium } from '../helpers/browser.ts';
import { runProcess } from '../helpers/run-process.ts';
import { serveRepo } from '../helpers/static-server.ts';
import { createTestPki, type TestPki } from '../helpers/tls.ts';
import { lib } from '../runtimes/library.ts';
import { type TlsFailure, tlsSmoke } from '../runtimes/tls-smoke.js';

const root = resolve(import.meta.dirname, '../..');
const bin = (name: string) => resolve(root, 'node_modules/.bin', name);
/** "Fast" for a refused TLS connection: well before the client's 10 s default deadline. */
const FAST_MS = 5_000;

type Fetch = (input: Request, init?: RequestInit) => Promise<Response>;
/**
 * Node's own fetch with an undici `Agent` as its dispatcher. (undici's exported `fetch` cannot
 * be used: it rejects the global `Request` the client passes, "Failed to parse URL from
 * [object Request]", since its `Request` is another class.)
 */
const through =
  (dispatcher: Agent): Fetch =>
  (input, init) =>
    fetch(input, { ...init, dispatcher } as RequestInit);

let pki: TestPki;
let tlsEtcd: EtcdServer;
let mtlsEtcd: EtcdServer;
const agents: Agent[] = [];
const agent = (options: ConstructorParameters<typeof Agent>[0]) => {
  const made = new Agent(options);
  agents.push(made);
  return made;
};
/** The other runtimes run side by side from `before`; each test awaits its own. */
const runtimes: Record<string, Promise<RuntimeResult>> = {};
interface RuntimeResult {
  tls: string[];
  mtls: string[];
  wrongCa: TlsFailure;
  noClientCert: TlsFailure;
}

before(async () => {
  pki = createTestPki();
  const server = { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile };
  [tlsEtcd, mtlsEtcd] = await Promise.all([
    startEtcd({ tls: server }),
    startEtcd({
      tls: { ...server, clientCertAuth: true, clientCertFile: pki.client.certFile, clientKeyFile: pki.client.keyFile },
    }),
  ]);
  const env = {
    TLS_ENDPOINT: tlsEtcd.endpoint,
    MTLS_ENDPOINT: mtlsEtcd.endpoint,
    TLS_CA_FILE: pki.ca.certFile,
    TLS_CERT_FILE: pki.client.certFile,
    TLS_KEY_FILE: pki.client.keyFile,
    TLS_OTHER_CA_FILE: pki.otherCa.certFile,
  };
  runtimes.deno = runJson(
    bin('deno'),
    ['run', '--allow-net', '--allow-env', '--allow-read', 'test/runtimes/tls-deno.ts'],
    env,
  );
  runtimes.bun = runJson(bin('bun'), ['test/runtimes/tls-bun.ts'], env);
  runtimes.workerd = runWorkerd();
  for (const running of Object.values(runtimes)) running.catch(() => {});
});

after(async () => {
  await Promise.allSettled(Object.values(runtimes));
  await Promise.all(agents.map((a) => a.close()));
  await Promise.all([tlsEtcd?.stop(), mtlsEtcd?.stop()]);
  pki?.dispose();
});

describe('TLS and client certificates (real etcd over https)', () => {
  test('Node: KV, txn, watch and lease keep-alive over TLS, trusting the CA through an undici Agent', async () => {
    const checks = await tlsSmoke(lib, {
      endpoint: tlsEtcd.endpoint,
      fetch: through(agent({ connect: { ca: pki.ca.cert } })),
      name: 'node-tls',
    });
    assert.equal(checks.length, 6, checks.join('\n'));
  });

  test('Node: the same against the mTLS etcd, presenting the client certificate', async () => {
    const fetch = through(agent({ connect: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key } }));
    const checks = await tlsSmoke(lib, { endpoint: mtlsEtcd.endpoint, fetch, name: 'node-mtls' });
    assert.equal(checks.length, 6, checks.join('\n'));
  });

  test('Node: a lease is kept alive past its TTL over mTLS on HTTP/2 (undici allowH2)', async () => {
    const fetch = through(
      agent({ allowH2: true, connect: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key } }),
    );
    const etcd = new lib.Etcd({ endpoints: [mtlsEtcd.endpoint], fetch });
    try {
      const lease = await etcd.grant(2);
      await new Promise((r) => setTimeout(r, 3_500));
      assert.equal(lease.isLost, false);
      assert.ok((await lease.timeToLive()).ttl > 0, 'the lease outlived its 2 s TTL');
      await lease.revoke();
    } finally {
      etcd.close();
    }
  });

  test('Node: a CA that did not sign the server certificate fails fast with a typed error about the certificate', async () => {
    for (const allowH2 of [false, true]) {
      const etcd = new lib.Etcd({
        endpoints: [tlsEtcd.endpoint],
        fetch: through(agent({ allowH2, connect: { ca: pki.otherCa.cert } })),
      });
      const started = Date.now();
      await assert.rejects(etcd.get('tls/wrong-ca'), (error: Error) => {
        assert.equal(error.name, 'UnavailableError', `${allowH2 ? 'h2' : 'h1'}: ${error.message}`);
        assert.match(error.message, /certificate/i);
        assert.match(error.message, /not trusted|UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
        return true;
      });
      assert.ok(Date.now() - started < FAST_MS, `${allowH2 ? 'h2' : 'h1'}: took ${Date.now() - started} ms, not fast`);
      etcd.close();
    }
  });

  test('Node: an mTLS etcd called without a client certificate fails fast saying one is required', async () => {
    for (const allowH2 of [false, true]) {
      const etcd = new lib.Etcd({
        endpoints: [mtlsEtcd.endpoint],
        fetch: through(agent({ allowH2, connect: { ca: pki.ca.cert } })),
      });
      const started = Date.now();
      await assert.rejects(etcd.get('tls/no-client-cert'), (error: Error) => {
        assert.equal(error.name, 'UnavailableError', `${allowH2 ? 'h2' : 'h1'}: ${error.message}`);
        assert.match(error.message, /client certificate/i);
        return true;
      });
      assert.ok(Date.now() - started < FAST_MS, `${allowH2 ? 'h2' : 'h1'}: took ${Date.now() - started} ms, not fast`);
      etcd.close();
    }
  });

  test('Node: a client certificate from another CA is refused fast too', async () => {
    const connect = { ca: pki.ca.cert, cert: pki.otherClient.cert, key: pki.otherClient.key };
    const etcd = new lib.Etcd({ endpoints: [mtlsEtcd.endpoint], fetch: through(agent({ connect })) });
    const started = Date.now();
    await assert.rejects(
      etcd.get('tls/other-client-cert'),
      (error: Error) => error.name === 'UnavailableError' && /client certificate/i.test(error.message),
    );
    assert.ok(Date.now() - started < FAST_MS, `took ${Date.now() - started} ms, not fast`);
    etcd.close();
  });

  for (const name of ['deno', 'bun', 'workerd'] as const) {
    const how = {
      deno: 'Deno.createHttpClient({ caCerts, cert, key })',
      bun: "fetch's tls: { ca, cert, key }",
      workerd: 'the CA and client keypair in its network services',
    }[name];
    test(`${name}: TLS and mTLS through ${how}; a wrong CA and a missing client certificate fail`, async (t) => {
      const result = await runtimes[name]!;
      assert.equal(result.tls.length, 6, result.tls.join('\n'));
      assert.equal(result.mtls.length, 6, result.mtls.join('\n'));
      for (const [what, failure] of [
        ['wrong CA', result.wrongCa],
        ['no client certificate', result.noClientCert],
      ] as const) {
        t.diagnostic(
          `${name}, ${what}: ${failure.name} after ${failure.ms} ms: ${failure.message} <- ${failure.causes?.join(' <- ')}`,
        );
        assert.equal(failure.failed, true, `${name}: ${what} did not fail`);
        assert.equal(failure.name, 'UnavailableError', `${name}, ${what}: ${failure.message}`);
      }
    });
  }

  test('Chromium: KV, txn, watch and lease over TLS on HTTP/2; 20 watchers and 50 concurrent reads all complete', async (t) => {
    const site = await serveRepo();
    // Chromium trusts the server's key for this run (an SPKI pin): it has no per-launch way to add a
    // CA without NSS's certutil. The pin covers this one key only; every other check stays on.
    const browser = await launchChromium([`--ignore-certificate-errors-spki-list=${pki.serverSpki}`]);
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      const protocols = new Map<string, number>();
      let watchResponses = 0;
      cdp.on('Network.responseReceived', ({ response }) => {
        if (!response.url.startsWith(tlsEtcd.endpoint)) return;
        protocols.set(response.protocol ?? '?', (protocols.get(response.protocol ?? '?') ?? 0) + 1);
        if (response.url.endsWith('/v3/watch')) watchResponses++;
      });
      await cdp.send('Network.enable');
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${site.origin}/test/runtimes/tls-page.html?etcd=${encodeURIComponent(tlsEtcd.endpoint)}`);
      await page.waitForFunction(() => (window as { result?: unknown }).result !== undefined, undefined, {
        timeout: 30_000,
      });
      const result = await page.evaluate(
        () =>
          (
            window as unknown as {
              result: {
                ok: boolean;
                error?: string;
                checks?: string[];
                streams?: {
                  watchers: number;
                  reads: number;
                  eventsSeen: number;
                  watchesReadyMs: number;
                  readsDoneMs: number;
                };
              };
            }
          ).result,
      );
      assert.equal(result.ok, true, `${result.error}\n${errors.join('\n')}`);
      assert.equal(result.checks!.length, 6, result.checks!.join('\n'));
      const streams = result.streams!;
      t.diagnostic(
        `20 watches ready after ${streams.watchesReadyMs.toFixed(0)} ms, 50 reads done after ${streams.readsDoneMs.toFixed(0)} ms; protocols ${JSON.stringify([...protocols])}`,
      );
      assert.equal(streams.watchers, 20);
      assert.equal(streams.reads, 50);
      assert.equal(streams.eventsSeen, 20, 'every one of the 20 watchers saw the put');
      assert.deepEqual(
        [...protocols.keys()],
        ['h2'],
        `every etcd response came over HTTP/2: ${JSON.stringify([...protocols])}`,
      );
      assert.ok(protocols.get('h2')! >= 20 + 50, `the DevTools protocol saw ${protocols.get('h2')} h2 responses`);
      assert.ok(watchResponses >= 21, `${watchResponses} watch streams answered (20 watchers and the smoke test's)`);
    } finally {
      await browser.close();
      await site.close();
    }
  });
});

/** Runs a runtime script that prints one JSON line last. */
async function runJson(command: string, args: string[], env: Record<string, string>): Promise<RuntimeResult> {
  const output = await runProcess(command, args, env, 50_000);
  const last = output.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(last) as RuntimeResult;
  } catch {
    throw new Error(`${command} printed no JSON result:\n${output}`);
  }
}

/**
 * workerd with a config written next to the certificates (made at test time, so the config is
 * too): its global outbound trusts the test CA, MUTUAL also presents the client certificate,
 * WRONG_CA trusts only the unrelated CA.
 */
async function runWorkerd(): Promise<RuntimeResult> {
  const dir = pki.dir;
  copyFileSync(join(root, 'test/runtimes/tls-worker.js'), join(dir, 'tls-worker.js'));
  copyFileSync(join(root, 'test/runtimes/tls-smoke.js'), join(dir, 'tls-smoke.js'));
  copyFileSync(join(root, 'dist/etcd-fetch.browser.js'), join(dir, 'etcd-fetch.browser.js'));
  const network = (tls: string) => `network = (allow = ["public", "private", "local"], tlsOptions = (${tls}))`;
  writeFileSync(
    join(dir, 'tls-workerd.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "trusting", ${network('trustedCertificates = [embed "ca.pem"]')}),
    (name = "mutual", ${network('trustedCertificates = [embed "ca.pem"], keypair = (privateKey = embed "client.key", certificateChain = embed "client.pem")')}),
    (name = "wrong-ca", ${network('trustedCertificates = [embed "other-ca.pem"]')}),
  ],
  sockets = [(name = "http", address = "127.0.0.1:8789", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "tls-worker.js", esModule = embed "tls-worker.js"),
    (name = "tls-smoke.js", esModule = embed "tls-smoke.js"),
    (name = "etcd-fetch.browser.js", esModule = embed "etcd-fetch.browser.js"),
  ],
  bindings = [(name = "MUTUAL", service = "mutual"), (name = "WRONG_CA", service = "wrong-ca")],
  compatibilityDate = "2025-09-01",
  globalOutbound = "trusting",
);
`,
  );
  const port = await freePort();
  const child = spawn(
    bin('workerd'),
    ['serve', join(dir, 'tls-workerd.capnp'), '--socket-addr', `http=127.0.0.1:${port}`],
    { cwd: dir },
  );
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  try {
    const query = `tls=${encodeURIComponent(tlsEtcd.endpoint)}&mtls=${encodeURIComponent(mtlsEtcd.endpoint)}`;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(`http://127.0.0.1:${port}/?${query}`, { signal: AbortSignal.timeout(50_000) });
      } catch (error) {
        if (attempt >= 100 || child.exitCode !== null) throw new Error(`workerd: ${String(error)}\n${log}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const body = await response.text();
      if (response.status !== 200) throw new Error(`workerd answered ${response.status}: ${body}\n${log}`);
      return JSON.parse(body) as RuntimeResult;
    }
  } finally {
    child.kill('SIGKILL');
  }
}
