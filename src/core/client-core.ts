import type { AuthOptions, TokenSource } from './auth-token.ts';
import type { FetchLike } from './call-options.ts';
import { checkClientOptions } from './check-options.ts';
import { type Bytes, toBytes } from './codec.ts';
import type { DiscoveryOptions, EndpointPoolOptions } from './endpoints.ts';
import { AbortedError, InvalidArgumentError } from './errors.ts';
import { Keyspace } from './keyspace.ts';
import { RevisionFloor } from './ordering.ts';
import { Transport } from './transport.ts';

/**
 * Automatic batching of reads: `{ batch: { maxOps: 64 } }`, or `batch: false` to turn it off.
 *
 * @example
 * ```ts
 * const etcd = new Etcd({ batch: { maxOps: 64, writes: false } }); // or batch: false
 * ```
 */
export interface BatchOptions {
  /** Most operations in one `/v3/kv/txn`: at most the server's `--max-txn-ops` (default 128, as etcd's). */
  maxOps?: number;
  /**
   * Puts and deletes of the same tick travel as one txn too (default true). They then share one
   * revision; writes to the same key never share a txn and keep their order.
   */
  writes?: boolean;
}

/**
 * Options of a client: where etcd is, credentials, deadlines, batching.
 *
 * @example
 * ```ts
 * const core = createCore({ endpoints: 'http://10.0.0.1:2379,http://10.0.0.2:2379', auth: { username: 'app', password }, timeout: 5_000 });
 * ```
 */
export interface ClientOptions {
  /** Client URLs of etcd members, e.g. `['http://127.0.0.1:2379']` (default). */
  endpoints?: string | readonly string[];
  /** A user and password (authenticated on first use, again when the token expires), or a token. */
  auth?: AuthOptions | TokenSource;
  /** Default deadline of each call in milliseconds (10 000). */
  timeout?: number;
  /** The `fetch` to use (default: the global one). */
  fetch?: FetchLike;
  /**
   * Also use the client URLs from the cluster's member list, kept up to date (default false);
   * `{ onError }` receives a failed refresh (default: one `console.warn` per run of failures).
   */
  discover?: boolean | DiscoveryOptions;
  /** When an endpoint that keeps failing is skipped, and for how long (default: after 2 failures, for 5 s). */
  circuitBreaker?: EndpointPoolOptions;
  /** Longest answer accepted, in bytes (default 64 MiB); a longer watch message ends only its own watcher. */
  maxResponseBytes?: number;
  /**
   * Reads (get, range, count) issued in the same tick travel as one `/v3/kv/txn` (default on,
   * at most 128 reads per txn, etcd's default `--max-txn-ops`); `false` sends one request per read.
   */
  batch?: BatchOptions | false;
  /**
   * Reads never go back in time (default true): a read answered from a revision older than one
   * this client already saw (a lagging member serving a `serializable` read) is asked of the
   * other endpoints, or fails with `StaleReadError`. Costs one comparison per KV answer.
   */
  ordering?: boolean;
  /**
   * Every call and stream carries `Grpc-Metadata-hasleader: true`: a member that has lost its
   * leader refuses a call at once (`UnavailableError` "etcdserver: no leader") instead of
   * waiting for a quorum until its ~7 s timeout, and ends a watch or keep-alive stream after
   * three election timeouts without one (the client then moves to another member). Server
   * runtimes only: etcd's CORS does not let a browser send the header to another origin (the
   * preflight fails). Default false.
   */
  requireLeader?: boolean;
  /**
   * Fail a call at once with `UnavailableError` when every endpoint refuses the connection
   * (nothing listens there: a wrong port, etcd not started), as Go's `DialTimeout` does, instead
   * of retrying until the call's deadline. Default false: refused reads are retried until their
   * deadline, which rides out an etcd restart. Applies to unary calls; a watch keeps resuming.
   */
  failFast?: boolean;
}

/**
 * What every service, recipe and stream of a client shares: the transport (endpoints, token,
 * deadlines), the keyspace (a namespace's prefix), the read batching settings, and the close
 * signal that the watch stream and the keep-alive loop listen to. Make one with `createCore`;
 * every function of `etcd-fetch/kv`, `/watch`, `/lease`, ... takes it first.
 *
 * @example
 * ```ts
 * const core = createCore({ endpoints: ['http://127.0.0.1:2379'] });
 * await put(core, 'k', 'v');
 * core.close();
 * ```
 */
export interface Core {
  readonly transport: Transport;
  readonly keyspace: Keyspace;
  readonly batch: BatchOptions | false;
  /** The highest revision seen in KV answers (undefined with `ordering: false`). */
  readonly revisions?: RevisionFloor;
  /** Aborts, with an `AbortedError`, when the client is closed. */
  readonly closed: AbortSignal;
  /** Closes the client and every namespace of it; later calls are refused. */
  close(): void;
}

/**
 * What every function of etcd-fetch takes first: an `Etcd`, or a core from `createCore` (a page
 * that uses only `etcd-fetch/kv` and wants no facade).
 *
 * @example
 * ```ts
 * await lock(etcd, 'jobs'); // or lock(createCore(), 'jobs')
 * ```
 */
export type Client = Core | { readonly core: Core };

/** The core of a client: the `Etcd`'s own, or the core itself. */
export function coreOf(client: Client): Core {
  return 'core' in client ? client.core : client;
}

/**
 * A client core from options: `const core = createCore({ endpoints: ['http://127.0.0.1:2379'] })`.
 *
 * @example
 * ```ts
 * import { createCore, get } from 'etcd-fetch/kv';
 * const core = createCore({ endpoints: ['http://127.0.0.1:2379'] });
 * console.log((await get(core, 'k'))?.valueText);
 * ```
 */
export function createCore(options: ClientOptions = {}): Core {
  checkClientOptions(options);
  const endpoints = options.endpoints ?? ['http://127.0.0.1:2379'];
  const controller = new AbortController();
  const transport = new Transport({
    endpoints: typeof endpoints === 'string' ? endpoints.split(',').map((e) => e.trim()) : endpoints,
    auth: options.auth,
    closed: controller.signal,
    timeout: options.timeout,
    fetch: options.fetch,
    discover: options.discover,
    circuitBreaker: options.circuitBreaker,
    maxResponseBytes: options.maxResponseBytes,
    requireLeader: options.requireLeader,
    failFast: options.failFast,
  });
  return {
    transport,
    keyspace: new Keyspace(),
    batch: options.batch ?? {},
    revisions: options.ordering === false ? undefined : new RevisionFloor(),
    closed: controller.signal,
    close: () => {
      if (!controller.signal.aborted) controller.abort(new AbortedError('the client was closed'));
    },
  };
}

/**
 * The core of `namespace(prefix)`: the same transport, token, batching and close signal, with
 * keys one prefix deeper (prefixes nest: `a/` then `b/` is `a/b/`).
 *
 * @example
 * ```ts
 * const app = namespaceCore(core, 'app/');
 * await put(app, 'color', 'blue'); // stored as app/color
 * ```
 */
export function namespaceCore(core: Core, prefix: Bytes): Core {
  const bytes = toBytes(prefix, 'namespace prefix');
  if (bytes.length === 0) throw new InvalidArgumentError('a namespace prefix must not be empty');
  return { ...core, keyspace: new Keyspace(core.keyspace.key(bytes)) };
}

/**
 * The one `T` of a client, shared by its namespaces (the batcher, the watch stream, the keep-alive
 * loop): made on first use, and handed to `onClose` when the client closes.
 */
export function perClient<T>(
  cache: WeakMap<Transport, T>,
  core: Core,
  create: () => T,
  onClose: (value: T) => void,
): T {
  let value = cache.get(core.transport);
  if (value === undefined) {
    const made = (value = create());
    cache.set(core.transport, made);
    const close = () => onClose(made);
    if (core.closed.aborted) close();
    else core.closed.addEventListener('abort', close, { once: true });
  }
  return value;
}
