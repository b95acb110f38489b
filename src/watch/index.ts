/**
 * etcd-fetch/watch: watches multiplexed over one stream per client, and reflectors.
 *
 * @example
 * ```ts
 * import { watch } from 'etcd-fetch/watch';  for await (const event of watch(core, { prefix: 'a/' })) ...
 * ```
 * @module etcd-fetch/watch
 */

export { type ReflectOptions, Reflector, type ReflectorUpdate, reflect } from './reflector.ts';
export {
  type ReconnectInfo,
  type Watch,
  type WatchEvent,
  type WatchFilters,
  type WatchOptions,
  type WatchResponse,
  watch,
} from './watch.ts';
