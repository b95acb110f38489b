import type { AuthOptions } from './auth-token.ts';
import { parseEndpoint } from './endpoints.ts';
import { InvalidArgumentError } from './errors.ts';

/**
 * Where `optionsFromEnv` reads variables: a plain record (`process.env`, a Cloudflare worker's
 * `env`) or anything with `get(name)` (`Deno.env`).
 *
 * @example
 * ```ts
 * new Etcd(optionsFromEnv(process.env));
 * new Etcd(optionsFromEnv(Deno.env));
 * new Etcd(optionsFromEnv({ ETCD_ENDPOINTS: 'http://127.0.0.1:2379' }));
 * ```
 */
export type EnvSource =
  | Readonly<Record<string, unknown>>
  | {
      /** The variable's value, or undefined when it is not set. */
      get(name: string): string | undefined;
    };

/**
 * What `optionsFromEnv` reads from the environment.
 *
 * @example
 * ```ts
 * const { endpoints, auth } = optionsFromEnv({ ETCD_ENDPOINTS: 'http://a:2379,http://b:2379', ETCD_TOKEN: token });
 * ```
 */
export interface EnvOptions {
  /** From `ETCD_ENDPOINTS`. */
  endpoints: string[];
  /** From `ETCD_USERNAME` and `ETCD_PASSWORD`, or `ETCD_TOKEN`; none when they are unset. */
  auth?: AuthOptions;
}

/**
 * Endpoints and credentials from environment variables: `ETCD_ENDPOINTS` (required, comma-separated
 * client URLs), then `ETCD_USERNAME` with `ETCD_PASSWORD`, or `ETCD_TOKEN`. Without `env`, reads
 * `process.env` (Node, Bun) or `Deno.env` (Deno: needs `--allow-env`). An empty variable counts as unset.
 * Throws `InvalidArgumentError` naming the variable that is missing or in conflict.
 *
 * @example
 * ```ts
 * import { createCore, optionsFromEnv } from 'etcd-fetch/kv';
 * const core = createCore({ ...optionsFromEnv(), timeout: 5_000 });
 * ```
 */
export function optionsFromEnv(env?: EnvSource): EnvOptions {
  const lookup = env === undefined ? globalEnv() : readerOf(env);
  const read = (name: string): string | undefined => {
    const value = lookup(name);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new InvalidArgumentError(`${name} must be a string, got ${typeof value}`);
    return value;
  };

  const list = read('ETCD_ENDPOINTS');
  if (list === undefined)
    throw new InvalidArgumentError(
      'ETCD_ENDPOINTS is not set: give the etcd client URLs, comma-separated (e.g. http://127.0.0.1:2379)',
    );
  const endpoints = list
    .split(',')
    .map((endpoint) => endpoint.trim())
    .filter((endpoint) => endpoint !== '');
  if (endpoints.length === 0)
    throw new InvalidArgumentError(`ETCD_ENDPOINTS names no endpoint: ${JSON.stringify(list)}`);
  for (const endpoint of endpoints) parseEndpoint(endpoint, 'each endpoint in ETCD_ENDPOINTS');

  const username = read('ETCD_USERNAME');
  const password = read('ETCD_PASSWORD');
  const token = read('ETCD_TOKEN');
  if (token !== undefined && (username !== undefined || password !== undefined)) {
    throw new InvalidArgumentError('ETCD_TOKEN and ETCD_USERNAME/ETCD_PASSWORD are both set: set one or the other');
  }
  if (username !== undefined && password === undefined)
    throw new InvalidArgumentError('ETCD_PASSWORD is not set, but ETCD_USERNAME is');
  if (password !== undefined && username === undefined)
    throw new InvalidArgumentError('ETCD_USERNAME is not set, but ETCD_PASSWORD is');
  if (token !== undefined) return { endpoints, auth: { token } };
  if (username !== undefined && password !== undefined) return { endpoints, auth: { username, password } };
  return { endpoints };
}

type Lookup = (name: string) => unknown;

function readerOf(env: EnvSource): Lookup {
  if (typeof env !== 'object' || env === null)
    throw new InvalidArgumentError(`the environment must be an object, got ${env === null ? 'null' : typeof env}`);
  const { get } = env as { get?: unknown };
  return typeof get === 'function' ? (name) => get.call(env, name) : (name) => (env as Record<string, unknown>)[name];
}

/**
 * `Deno.env` (first: reading a property of Deno's `process.env` asks for a permission per name)
 * or `process.env`, reached through globalThis so that nothing here depends on a runtime.
 */
function globalEnv(): Lookup {
  const runtime = globalThis as {
    process?: { env?: Record<string, unknown> };
    Deno?: { env?: { get(name: string): string | undefined } };
  };
  const deno = runtime.Deno?.env;
  if (deno) return (name) => deno.get(name);
  const env = runtime.process?.env;
  if (env) return (name) => env[name];
  throw new InvalidArgumentError(
    'no process.env or Deno.env here: pass the environment, e.g. new Etcd(optionsFromEnv(env)) in a Cloudflare worker',
  );
}
