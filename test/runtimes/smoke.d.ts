/** Runs the smoke suite with `lib` (the etcd-fetch module) against `endpoint`; resolves to its check lines. */
export function smoke(
  lib: import('./library.ts').Library,
  endpoint: string,
  name: string,
  auth?: { username: string; password: string },
): Promise<string[]>;
