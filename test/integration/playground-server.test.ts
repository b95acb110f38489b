// The playground's server: it serves playground/ and dist/ and nothing else (no encoded `..`, no
// sibling folder sharing a name prefix), and its /relay answers a bad query with a 400 instead of
// crashing (no etcd needed for either: the relay refuses before it watches).
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Playground, startPlayground } from '../../scripts/playground.ts';

const root = resolve(import.meta.dirname, '../..');
const siblings = [`${root}/playground-sibling-${process.pid}`, `${root}/dist-sibling-${process.pid}`];
let playground: Playground;

before(async () => {
  for (const folder of siblings) {
    mkdirSync(folder, { recursive: true });
    writeFileSync(`${folder}/secret.txt`, 'not to be served');
  }
  playground = await startPlayground({ etcdEndpoint: 'http://127.0.0.1:9' });
});
after(async () => {
  await playground?.close();
  for (const folder of siblings) rmSync(folder, { recursive: true, force: true });
});

/** GETs `path` exactly as written (no normalisation by a URL parser): status and body. */
function get(path: string): Promise<{ status: number; body: string }> {
  const { port } = new URL(playground.url);
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 5_000 }, (response) => {
      let body = '';
      response.on('data', (d) => (body += d));
      response.on('end', () => done({ status: response.statusCode!, body }));
      // A stream (the relay): its first chunk is enough.
      if (/event-stream/.test(String(response.headers['content-type'])))
        response.once('data', () => (req.destroy(), done({ status: response.statusCode!, body })));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to ${path} in 5 s`)));
    req.on('error', fail);
    req.end();
  });
}

describe('playground server', () => {
  test('serves no file outside playground/ and dist/: encoded .., .git, a sibling folder sharing the name prefix', async () => {
    const sibling = (i: number) => siblings[i]!.slice(root.length + 1);
    const outside = [
      '/dist/..%2Fpackage.json',
      '/dist/..%2F.git/config',
      '/dist/..%2F..%2F..%2Fetc%2Fpasswd',
      '/dist/%2E%2E/package.json',
      '/dist/..%5Cpackage.json',
      '/..%2Fpackage.json',
      '/%2E%2E%2Fpackage.json',
      `/..%2F${sibling(0)}/secret.txt`,
      `/dist/..%2F${sibling(1)}/secret.txt`,
      '/dist/',
      '/dist',
      '/%00',
      '/%E0%A4%A',
    ];
    for (const path of outside) {
      const { status, body } = await get(path);
      assert.ok(status === 404 || status === 400, `${path}: ${status}`);
      assert.ok(
        !/not to be served|"name": "etcd-fetch"|root:|repositoryformatversion/.test(body),
        `${path} served a file outside`,
      );
    }
    // What it is there for still works.
    assert.equal((await get('/')).status, 200);
    assert.equal((await get('/app.js')).status, 200);
    assert.equal((await get('/dist/etcd-fetch.browser.js')).status, 200);
  });

  test('/relay answers a bad startRevision, prefix or Last-Event-ID with a 400 and lives on', async () => {
    for (const query of [
      'startRevision=-1',
      'startRevision=-3',
      'startRevision=abc',
      'startRevision=1.5',
      'startRevision=1e400',
      'lastEventId=9007199254740991',
      'lastEventId=-1',
    ]) {
      const { status, body } = await get(`/relay?prefix=YS8%3D&${query}`);
      assert.equal(status, 400, `${query}: ${body}`);
      assert.equal(JSON.parse(body).error.name, 'InvalidArgumentError', query);
    }
    assert.equal((await get('/config.json')).status, 200);
  });
});
