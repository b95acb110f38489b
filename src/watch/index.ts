/**
 * etcd-fetch/watch: watches multiplexed over one stream per client, and reflectors.
 *
 * @example
 * ```ts
 * import { watch } from 'etcd-fetch/watch';  for await (const event of watch(core, { prefix: 'a/' })) ...
 * ```
 * @module etcd-fetch/watch
 */
export { watch, Watch, type ReconnectInfo, type WatchEvent, type WatchFilters, type WatchOptions, type WatchResponse } from './watch.ts';
export { reflect, Reflector, type ReflectOptions, type ReflectorUpdate } from './reflector.ts';
