// The fault proxy (test/helpers/fault-proxy.ts) does what each fault says, in front of a real
// etcd: raw fetch through the proxy, and etcd itself asked directly whether a request applied.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { uniquePrefix, useEtcd } from '../helpers/etcd.ts';
import { type FaultProxy, faultOnce, startFaultProxy } from '../helpers/fault-proxy.ts';

const etcd = useEtcd();
let proxy: FaultProxy;

const b64 = (text: string) => Buffer.from(text).toString('base64');
const prefix = uniquePrefix('fault-proxy');
let counter = 0;
const freshKey = () => `${prefix}${counter++}`;

function post(base: string, path: string, body: object, signal?: AbortSignal): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    signal: signal ?? AbortSignal.timeout(10_000),
  });
}

/** The key's version as etcd itself says (0: absent). */
async function versionOf(key: string): Promise<number> {
  const answer = (await (await post(etcd.upstream, '/v3/kv/range', { key: b64(key) })).json()) as {
    kvs?: { version: string }[];
  };
  return Number(answer.kvs?.[0]?.version ?? 0);
}

const isPut = (key: string) => (request: { path: string; json: unknown }) =>
  request.path === '/v3/kv/put' && (request.json as { key?: string })?.key === b64(key);
const putOf = (key: string) => ({ key: b64(key), value: b64('v') });

async function lastRecord(path: string) {
  const record = proxy.requests.findLast((r) => r.path === path);
  assert.ok(record, `the proxy recorded a request to ${path}`);
  return record;
}

describe('fault proxy in front of a real etcd', () => {
  before(async () => {
    proxy = await startFaultProxy({ upstream: etcd.upstream });
  });
  after(async () => {
    await proxy?.close();
  });

  test('without a fault, requests pass through and are recorded with their parsed body', async () => {
    const key = freshKey();
    const response = await post(proxy.endpoint, '/v3/kv/put', putOf(key));
    assert.equal(response.status, 200);
    assert.ok(((await response.json()) as { header?: unknown }).header);
    assert.equal(await versionOf(key), 1);
    const record = await lastRecord('/v3/kv/put');
    assert.deepEqual(record.json, putOf(key));
    assert.equal(record.fault, undefined);
    assert.equal(record.forwarded, 1);
  });

  test('drop: the put is applied but the client gets no answer', async () => {
    const key = freshKey();
    proxy.fault = faultOnce(isPut(key), { kind: 'drop' });
    await assert.rejects(post(proxy.endpoint, '/v3/kv/put', putOf(key)), TypeError);
    assert.equal(await versionOf(key), 1);
    assert.equal((await lastRecord('/v3/kv/put')).fault, 'drop');
  });

  test('refuse: the put is not applied and the client gets no answer', async () => {
    const key = freshKey();
    proxy.fault = faultOnce(isPut(key), { kind: 'refuse' });
    await assert.rejects(post(proxy.endpoint, '/v3/kv/put', putOf(key)), TypeError);
    assert.equal(await versionOf(key), 0);
    assert.equal((await lastRecord('/v3/kv/put')).forwarded, 0);
  });

  test('truncate (clean end): the put is applied and the answer is a short body that is not JSON', async () => {
    const key = freshKey();
    proxy.fault = faultOnce(isPut(key), { kind: 'truncate', bytes: 12 });
    const response = await post(proxy.endpoint, '/v3/kv/put', putOf(key));
    assert.equal(response.status, 200);
    const text = await response.text();
    assert.equal(text.length, 12);
    assert.throws(() => JSON.parse(text), SyntaxError);
    assert.equal(await versionOf(key), 1);
  });

  test('truncate (reset): the answer breaks off after its first bytes', async () => {
    const key = freshKey();
    proxy.fault = faultOnce(isPut(key), { kind: 'truncate', bytes: 12, end: 'reset' });
    const response = await post(proxy.endpoint, '/v3/kv/put', putOf(key));
    assert.equal(response.status, 200);
    await assert.rejects(response.text(), TypeError);
    assert.equal(await versionOf(key), 1);
  });

  test('garble: the put is applied and the answer is a 200 that is not JSON', async () => {
    const key = freshKey();
    proxy.fault = faultOnce(isPut(key), { kind: 'garble' });
    const response = await post(proxy.endpoint, '/v3/kv/put', putOf(key));
    assert.equal(response.status, 200);
    await assert.rejects(response.json(), SyntaxError);
    assert.equal(await versionOf(key), 1);
  });

  test('delay before forwarding: etcd has not seen the put while the proxy waits', async () => {
    const key = freshKey();
    proxy.fault = faultOnce(isPut(key), { kind: 'delay', beforeForward: 1_000 });
    const started = performance.now();
    const pending = post(proxy.endpoint, '/v3/kv/put', putOf(key));
    // Once the proxy has the request, etcd must still not have it.
    for (let i = 0; i < 100 && !proxy.requests.some((r) => isPut(key)(r)); i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(await versionOf(key), 0);
    assert.equal((await pending).status, 200);
    assert.ok(performance.now() - started >= 990, 'the answer came after the delay');
    assert.equal(await versionOf(key), 1);
  });

  test('delay before answering: etcd applied the put while the client still waits', async () => {
    const key = freshKey();
    proxy.fault = faultOnce(isPut(key), { kind: 'delay', beforeAnswer: 1_000 });
    let answered = false;
    const pending = post(proxy.endpoint, '/v3/kv/put', putOf(key)).then((response) => {
      answered = true;
      return response;
    });
    let version = 0;
    for (let i = 0; i < 100 && version === 0; i++) {
      version = await versionOf(key);
      if (version === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(version, 1);
    assert.equal(answered, false);
    assert.equal((await pending).status, 200);
  });

  test('duplicate: one put lands twice', async () => {
    const key = freshKey();
    proxy.fault = faultOnce(isPut(key), { kind: 'duplicate' });
    assert.equal((await post(proxy.endpoint, '/v3/kv/put', putOf(key))).status, 200);
    assert.equal(await versionOf(key), 2);
    assert.equal((await lastRecord('/v3/kv/put')).forwarded, 2);
  });

  for (const contentLength of [true, false]) {
    test(`gzipBomb ${contentLength ? 'with' : 'without'} Content-Length: a small gzip body inflates to many MB`, async () => {
      const key = freshKey();
      const inflatedBytes = 8 * 1024 * 1024;
      proxy.fault = faultOnce((r) => r.path === '/v3/kv/range' && (r.json as { key?: string })?.key === b64(key), {
        kind: 'gzipBomb',
        inflatedBytes,
        contentLength,
      });
      const response = await post(proxy.endpoint, '/v3/kv/range', { key: b64(key) });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('content-encoding'), 'gzip');
      const declared = response.headers.get('content-length');
      if (contentLength)
        assert.ok(Number(declared) > 0 && Number(declared) < 64 * 1024, `small Content-Length, got ${declared}`);
      else assert.equal(declared, null);
      const reader = response.body!.getReader();
      let decoded = 0;
      let first = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (first === '') first = new TextDecoder().decode(value.subarray(0, 20));
        decoded += value.byteLength;
      }
      assert.equal(decoded, inflatedBytes);
      assert.ok(first.startsWith('{"header":{}'));
      const record = await lastRecord('/v3/kv/range');
      assert.equal(record.fault, 'gzipBomb');
      assert.ok(record.bytesSent < 64 * 1024);
    });
  }

  test('cutStream: a watch passes through, then breaks off in the middle of a line', async () => {
    const key = freshKey();
    const watchCreate = { create_request: { key: b64(key) } };
    // Its first line (created) passes whole; the cut falls inside the line of the put's event.
    const probe = new AbortController();
    const firstLine = await (async () => {
      const response = await post(etcd.upstream, '/v3/watch', watchCreate, probe.signal);
      const reader = response.body!.getReader();
      let text = '';
      while (!text.includes('\n')) text += new TextDecoder().decode((await reader.read()).value);
      probe.abort();
      return text.slice(0, text.indexOf('\n') + 1);
    })();
    proxy.fault = faultOnce((r) => r.path === '/v3/watch', { kind: 'cutStream', afterBytes: firstLine.length + 10 });
    const response = await post(proxy.endpoint, '/v3/watch', watchCreate, AbortSignal.timeout(10_000));
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('\n')) text += decoder.decode((await reader.read()).value, { stream: true });
    assert.ok(text.includes('"created":true'));
    await post(etcd.upstream, '/v3/kv/put', putOf(key));
    let broke: unknown;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch (error) {
      broke = error;
    }
    assert.ok(broke instanceof TypeError, `the stream broke off with an error, got ${String(broke)}`);
    assert.ok(text.length >= firstLine.length + 10, `at least afterBytes passed (${text.length})`);
    assert.ok(!text.endsWith('\n'), 'cut in the middle of a line');
    assert.equal(text.split('\n').length, 2, 'one whole line, then part of the next');
  });

  test('replace: etcd applies the put, the client gets the given status, headers and body', async () => {
    const key = freshKey();
    const body = '{"error":"etcdserver: request timed out","code":14,"message":"etcdserver: request timed out"}';
    proxy.fault = faultOnce(isPut(key), {
      kind: 'replace',
      status: 503,
      headers: { 'content-type': 'application/json', 'x-fault': 'yes' },
      body,
    });
    const response = await post(proxy.endpoint, '/v3/kv/put', putOf(key));
    assert.equal(response.status, 503);
    assert.equal(response.headers.get('x-fault'), 'yes');
    assert.equal(await response.text(), body);
    assert.equal(await versionOf(key), 1);
  });

  test('faultOnce applies its fault to the first match only; close() stops the proxy', async () => {
    const key = freshKey();
    proxy.fault = faultOnce(isPut(key), { kind: 'refuse' });
    await assert.rejects(post(proxy.endpoint, '/v3/kv/put', putOf(key)), TypeError);
    assert.equal((await post(proxy.endpoint, '/v3/kv/put', putOf(key))).status, 200);
    assert.equal(await versionOf(key), 1);
    const other = await startFaultProxy({ upstream: etcd.upstream });
    assert.equal((await post(other.endpoint, '/v3/kv/range', { key: b64(key) })).status, 200);
    await other.close();
    await assert.rejects(post(other.endpoint, '/v3/kv/range', { key: b64(key) }), TypeError);
  });
});
