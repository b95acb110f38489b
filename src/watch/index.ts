// etcd-fetch/watch: watches multiplexed over one stream per client, and reflectors.
//   import { watch } from 'etcd-fetch/watch';  for await (const event of watch(core, { prefix: 'a/' })) ...
export { watch, Watch, type ReconnectInfo, type WatchEvent, type WatchFilters, type WatchOptions, type WatchResponse } from './watch.ts';
export { reflect, Reflector, type ReflectOptions, type ReflectorUpdate } from './reflector.ts';
