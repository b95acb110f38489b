// deno run --allow-net --allow-env test/runtimes/secrets-deno.ts: the secrets walk with Deno.inspect.
import { lib } from './library.ts';
import { authFor } from './secrets-auth.js';
import { findLeaks } from './secrets-walk.js';

// Typed loosely, so that the repository's Node type check also reads this file.
const Deno = (
  globalThis as unknown as {
    Deno: { env: { get(name: string): string | undefined }; inspect(value: unknown, options: object): string };
  }
).Deno;

const env = (name: string) => Deno.env.get(name)!;
const leaks: string[] = [];
for (const style of ['password', 'password function', 'static token']) {
  const { auth, secrets } = authFor(style, env('SECRET_PASSWORD'), env('SECRET_TOKEN'));
  const view = (value: unknown) =>
    Deno.inspect(value, {
      depth: Number.POSITIVE_INFINITY,
      showHidden: true,
      getters: true,
      iterableLimit: Number.POSITIVE_INFINITY,
      strAbbreviateSize: Number.POSITIVE_INFINITY,
    });
  for (const leak of await findLeaks(lib, {
    endpoint: env('ETCD_ENDPOINT'),
    auth,
    secrets,
    tokenPattern: new RegExp(env('TOKEN_PATTERN')),
    view,
    runtime: 'deno',
  }))
    leaks.push(`${style}: ${leak}`);
}
console.log(leaks.length === 0 ? 'NO LEAKS' : leaks.join('\n'));
