import { checkCount } from '../core/codec.ts';
import type { KeySelector } from '../core/keyspace.ts';
import { type HubLimits, hubKey, RelayHub, type Watchable } from './relay-hub.ts';
import { IdSigner } from './signed-ids.ts';

/** A relay client as the pool sees it: the bytes it holds, and how to cut it off. */
export interface PoolMember {
  /** Bytes of SSE text waiting for this client. */
  readonly bytes: number;
  /** Ends this client's answer at once and frees what it holds (its reader sees a broken stream). */
  disconnect(): void;
}

/**
 * Bounds of a `RelayPool`: bytes waiting over all clients, the resume ring, how long an idle upstream watch lingers.
 *
 * @example
 * ```ts
 * const pool = new RelayPool({ maxBytes: 32 * 1024 * 1024, ringEvents: 1_000, linger: 5_000 });
 * ```
 */
export interface RelayPoolOptions {
  /** Bytes that all clients of the pool together may have waiting (64 MiB). */
  maxBytes?: number;
  /** Events each shared upstream watch keeps for resumes (10 000), */
  ringEvents?: number;
  /** and at most this many bytes of them (8 MiB). */
  ringBytes?: number;
  /** Milliseconds a shared upstream watch stays open after its last client left (1 000). */
  linger?: number;
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** Signers a pool keeps (one per secret and keys watched). */
const MAX_SIGNERS = 256;

/**
 * What the relays of one worker (or server) share: a budget of waiting bytes over all their
 * clients, and the revision at which the first of them was asked for a watch (the oldest point a
 * plain `Last-Event-ID` may resume from). When the clients together hold more than `maxBytes`,
 * the one holding the most is disconnected: its memory is freed at once, and a reader that is
 * still there reconnects with its `Last-Event-ID` and loses nothing.
 *
 * @example
 * ```ts
 * const pool = new RelayPool({ maxBytes: 16 * 1024 * 1024 });
 * Deno.serve((request) => relayWatch(etcd, request, { prefix: 'feed/' }, { pool }));
 * ```
 */
export class RelayPool {
  readonly maxBytes: number;
  /** The store revision at which this pool first served a watch (undefined before that). */
  firstRevision: number | undefined;
  /** How many clients were disconnected because the pool was full. */
  disconnects = 0;
  private total = 0;
  private readonly members = new Set<PoolMember>();
  private readonly limits: HubLimits;
  /** The shared upstream watches, by client, then by keys and options. */
  private readonly hubs = new WeakMap<Watchable, Map<string, RelayHub>>();
  private open = 0;
  /** One signer per secret and keys, shared by the clients of a hub (private: its keys hold the secrets). */
  readonly #signers = new Map<string, IdSigner>();

  constructor(options: RelayPoolOptions = {}) {
    this.maxBytes = checkCount(options.maxBytes ?? DEFAULT_MAX_BYTES, 'maxBytes');
    this.limits = {
      ringEvents: checkCount(options.ringEvents ?? 10_000, 'ringEvents'),
      ringBytes: checkCount(options.ringBytes ?? 8 * 1024 * 1024, 'ringBytes'),
      linger: checkCount(options.linger ?? 1_000, 'linger'),
    };
  }

  /** Shared upstream watches open (or opening, or lingering) in this pool. */
  get upstreams(): number {
    return this.open;
  }

  /** The id signer for `secret` and `scope` (the keys watched), shared by this pool's relays. */
  signer(secret: string, scope: string): IdSigner {
    const key = `${scope}\n${secret}`;
    let signer = this.#signers.get(key);
    if (signer === undefined) {
      this.#signers.set(key, (signer = new IdSigner(secret, scope)));
      if (this.#signers.size > MAX_SIGNERS) this.#signers.delete(this.#signers.keys().next().value!);
    }
    return signer;
  }

  /**
   * The shared upstream watch of `etcd` for these keys and options (made when there is none;
   * `upstreamWindow`: how long it may fail to reach etcd before its clients' streams end).
   */
  upstream(etcd: Watchable, selector: KeySelector, prevKv: boolean, upstreamWindow?: number): RelayHub {
    let byKey = this.hubs.get(etcd);
    if (byKey === undefined) this.hubs.set(etcd, (byKey = new Map()));
    const key = hubKey(selector, prevKv);
    const found = byKey.get(key);
    if (found !== undefined && !found.closed) return found;
    const hub = new RelayHub(
      etcd,
      { ...selector, prevKv } as never,
      this.limits,
      {
        ready: (revision) => (this.firstRevision ??= revision),
        closed: () => {
          this.open--;
          if (byKey.get(key) === hub) byKey.delete(key);
        },
      },
      upstreamWindow,
    );
    this.open++;
    byKey.set(key, hub);
    return hub;
  }

  /** Bytes waiting over all clients of the pool. */
  get bufferedBytes(): number {
    return this.total;
  }

  /** @internal */
  join(member: PoolMember): void {
    this.members.add(member);
  }

  /** @internal */
  leave(member: PoolMember): void {
    if (this.members.delete(member)) this.total -= member.bytes;
  }

  /** `member` now holds `bytes` more; past the budget, the largest holders are disconnected. */
  grow(bytes: number): void {
    this.total += bytes;
    while (this.total > this.maxBytes) {
      let largest: PoolMember | undefined;
      for (const member of this.members) if (largest === undefined || member.bytes > largest.bytes) largest = member;
      if (largest === undefined) return;
      this.disconnects++;
      this.leave(largest);
      largest.disconnect();
    }
  }

  /** A client handed `bytes` to its reader. */
  shrink(bytes: number): void {
    this.total -= bytes;
  }
}

/** The pool of relays that pass none: one per worker isolate (or process). */
export const defaultPool = /* @__PURE__ */ new RelayPool();
