// deno run --allow-net --allow-env --allow-read test/runtimes/tls-deno.ts
// TLS and mTLS from Deno: a `fetch` that passes a `Deno.createHttpClient` trusting the test CA
// (and presenting the client certificate) as `client`. Prints one JSON line for the test to read.
import { lib } from './library.ts';
import { tlsFailure, tlsSmoke } from './tls-smoke.js';

// Typed loosely, so that the repository's Node type check also reads this file.
const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
interface DenoApi {
  env: { get(name: string): string | undefined };
  readTextFileSync(path: string): string;
  createHttpClient(options: { caCerts?: string[]; cert?: string; key?: string }): { close(): void };
}
const env = (name: string) => Deno.env.get(name) ?? '';
const read = (name: string) => Deno.readTextFileSync(env(name));

const ca = read('TLS_CA_FILE');
const withClient = (client: object) => (input: Request, init?: RequestInit) =>
  fetch(input, { ...init, client } as RequestInit);
const trusting = Deno.createHttpClient({ caCerts: [ca] });
const mutual = Deno.createHttpClient({ caCerts: [ca], cert: read('TLS_CERT_FILE'), key: read('TLS_KEY_FILE') });
const wrongCa = Deno.createHttpClient({ caCerts: [read('TLS_OTHER_CA_FILE')] });

const result = {
  tls: await tlsSmoke(lib, { endpoint: env('TLS_ENDPOINT'), fetch: withClient(trusting), name: 'deno-tls' }),
  mtls: await tlsSmoke(lib, { endpoint: env('MTLS_ENDPOINT'), fetch: withClient(mutual), name: 'deno-mtls' }),
  wrongCa: await tlsFailure(lib, { endpoint: env('TLS_ENDPOINT'), fetch: withClient(wrongCa) }),
  noClientCert: await tlsFailure(lib, { endpoint: env('MTLS_ENDPOINT'), fetch: withClient(trusting) }),
};
for (const client of [trusting, mutual, wrongCa]) client.close();
console.log(JSON.stringify(result));
