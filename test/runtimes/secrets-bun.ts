// bun test/runtimes/secrets-bun.ts: the secrets walk with Bun.inspect.
import { lib } from './library.ts';
import { authFor } from './secrets-auth.js';
import { findLeaks } from './secrets-walk.js';

// Typed loosely, so that the repository's Node type check also reads this file.
const Bun = (
  globalThis as unknown as {
    Bun: { env: Record<string, string | undefined>; inspect(value: unknown, options: object): string };
  }
).Bun;

const env = (name: string) => Bun.env[name]!;
const leaks: string[] = [];
for (const style of ['password', 'password function', 'static token']) {
  const { auth, secrets } = authFor(style, env('SECRET_PASSWORD'), env('SECRET_TOKEN'));
  const view = (value: unknown) => Bun.inspect(value, { depth: Number.POSITIVE_INFINITY });
  for (const leak of await findLeaks(lib, {
    endpoint: env('ETCD_ENDPOINT'),
    auth,
    secrets,
    tokenPattern: new RegExp(env('TOKEN_PATTERN')),
    view,
    runtime: 'bun',
  }))
    leaks.push(`${style}: ${leak}`);
}
console.log(leaks.length === 0 ? 'NO LEAKS' : leaks.join('\n'));
