// bun test/runtimes/tls-bun.ts
// TLS and mTLS from Bun: a `fetch` that passes `tls: { ca, cert, key }`. Prints one JSON line.
import { readFileSync } from 'node:fs';
import { lib } from './library.ts';
import { tlsFailure, tlsSmoke } from './tls-smoke.js';

const env = (name: string) => process.env[name] ?? '';
const read = (name: string) => readFileSync(env(name), 'utf8');
const withTls = (tls: { ca: string; cert?: string; key?: string }) => (input: Request, init?: RequestInit) =>
  fetch(input, { ...init, tls } as RequestInit);
const ca = read('TLS_CA_FILE');
const trusting = withTls({ ca });
const mutual = withTls({ ca, cert: read('TLS_CERT_FILE'), key: read('TLS_KEY_FILE') });

const result = {
  tls: await tlsSmoke(lib, { endpoint: env('TLS_ENDPOINT'), fetch: trusting, name: 'bun-tls' }),
  mtls: await tlsSmoke(lib, { endpoint: env('MTLS_ENDPOINT'), fetch: mutual, name: 'bun-mtls' }),
  wrongCa: await tlsFailure(lib, { endpoint: env('TLS_ENDPOINT'), fetch: withTls({ ca: read('TLS_OTHER_CA_FILE') }) }),
  noClientCert: await tlsFailure(lib, { endpoint: env('MTLS_ENDPOINT'), fetch: trusting }),
};
console.log(JSON.stringify(result));
