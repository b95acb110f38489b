/**
 * The least a `fetch` must do here: any runtime's `fetch`, or a wrapper of it.
 *
 * @example
 * ```ts
 * const etcd = new Etcd({ fetch: (request, init) => fetch(request, { ...init, keepalive: true }) });
 * ```
 */
export type FetchLike = (input: Request, init?: RequestInit) => Promise<Response>;

/**
 * Per-call options every method accepts.
 *
 * @example
 * ```ts
 * await etcd.get('k', { timeout: 2_000, signal: AbortSignal.timeout(5_000) });
 * ```
 */
export interface CallOptions {
  /** Cancels the call; it then rejects with `AbortedError`. */
  signal?: AbortSignal;
  /** Deadline for the whole call in milliseconds (default: the client's `timeout`). */
  timeout?: number;
  /**
   * Fail at once with `UnavailableError` when the member has no leader (default: the client's
   * `requireLeader`). Server runtimes only: browsers cannot send the header across origins.
   */
  requireLeader?: boolean;
}

/**
 * The JSON object of one gateway answer.
 *
 * @example
 * ```ts
 * const answer: WireObject = await etcd.transport.request('/kv/range', { key: btoa('k') });
 * ```
 */
export type WireObject = Record<string, unknown>;
