/**
 * etcd-fetch/relay: a watch served as Server-Sent Events (in a worker), and its reader (in a page).
 *
 * @example
 * ```ts
 * import { subscribe } from 'etcd-fetch/relay';  for await (const event of subscribe('/events')) ...
 * ```
 * @module etcd-fetch/relay
 */
export { type RelayOptions, relayWatch, type Watchable } from './relay.ts';
export { type NodeRequestLike, type NodeResponseLike, relayWatchNode } from './relay-node.ts';
export { RelayPool, type RelayPoolOptions } from './relay-pool.ts';
export { type RelayedEvent, type SubscribeOptions, subscribe } from './subscribe.ts';
