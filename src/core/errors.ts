/**
 * gRPC status codes as etcd's gateway reports them.
 *
 * @example
 * ```ts
 * if (error instanceof EtcdError && error.code === GrpcCode.PERMISSION_DENIED) console.log('ask for the role');
 * ```
 */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/**
 * What an `EtcdError` carries beside its message: code, HTTP status, endpoint, path and cause.
 *
 * @example
 * ```ts
 * throw new InvalidArgumentError('ttl must be positive', { path: '/v3/lease/grant' });
 * ```
 */
export interface EtcdErrorDetails {
  /** gRPC status code reported by etcd, when there is one. */
  code?: number;
  /** HTTP status of the gateway's answer, when there was an answer. */
  status?: number;
  /** The endpoint that answered (or failed to). */
  endpoint?: string;
  /** The gateway path of the call, such as `/v3/kv/range`. */
  path?: string;
  cause?: unknown;
  /** A write whose answer was not read (lost, cut, garbled, too large): it may have been applied. */
  mayHaveApplied?: boolean;
}

// Shared by every copy of the package (a bundle and a CDN import on one page): `isEtcdError`
// recognises an error of another copy, where `instanceof` fails.
const BRAND = /* @__PURE__ */ Symbol.for('etcd-fetch.EtcdError');

/**
 * Base of every error this client throws. Switch on `name`, `code` or `instanceof`.
 *
 * @example
 * ```ts
 * try { await etcd.put('k', 'v'); } catch (error) {
 *   if (error instanceof EtcdError) console.log(error.name, error.code, error.endpoint, error.message);
 * }
 * ```
 */
export class EtcdError extends Error {
  override name: EtcdErrorName = 'EtcdError';
  readonly code: number | undefined;
  readonly status: number | undefined;
  readonly endpoint: string | undefined;
  readonly path: string | undefined;
  /**
   * True on a write whose answer was not read (lost, cut off, garbled, too large): etcd may have
   * applied it, so sending it again may apply it twice. Absent when the error says nothing about it.
   */
  declare readonly mayHaveApplied?: boolean;

  /** @internal Marks every error of etcd-fetch, in any copy of the package (see `isEtcdError`). */
  get [BRAND](): true {
    return true;
  }

  constructor(message: string, details: EtcdErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = details.code;
    this.status = details.status;
    this.endpoint = details.endpoint;
    this.path = details.path;
    if (details.mayHaveApplied !== undefined)
      (this as { mayHaveApplied?: boolean }).mayHaveApplied = details.mayHaveApplied;
  }
}

/**
 * Bad input: caught before sending, or etcd's INVALID_ARGUMENT (code 3).
 *
 * @example
 * ```ts
 * await etcd.grant(-1).catch((error) => error instanceof InvalidArgumentError); // true, nothing sent
 * ```
 */
export class InvalidArgumentError extends EtcdError {
  override name = 'InvalidArgumentError' as const;
}

/**
 * The request exceeds etcd's `--max-request-bytes` (1.5 MiB by default) or the gateway's message limit.
 *
 * @example
 * ```ts
 * await etcd.put('big', new Uint8Array(2 * 1024 * 1024)).catch((error) => error instanceof RequestTooLargeError);
 * ```
 */
export class RequestTooLargeError extends EtcdError {
  override name = 'RequestTooLargeError' as const;
}

/**
 * NOT_FOUND (code 5): a lease that does not exist, a key `ignoreValue` cannot find, ...
 *
 * @example
 * ```ts
 * await etcd.revoke('12345').catch((error) => error instanceof NotFoundError); // no such lease
 * ```
 */
export class NotFoundError extends EtcdError {
  override name = 'NotFoundError' as const;
}

/**
 * FAILED_PRECONDITION (code 9): already exists, auth not enabled, ...
 *
 * @example
 * ```ts
 * await authEnable(etcd).catch((error) => error instanceof FailedPreconditionError); // no root user yet
 * ```
 */
export class FailedPreconditionError extends EtcdError {
  override name = 'FailedPreconditionError' as const;
}

/**
 * PERMISSION_DENIED (code 7): the user lacks a permission on the key.
 *
 * @example
 * ```ts
 * await bob.put('admin/x', 'v').catch((error) => error instanceof PermissionDeniedError); // bob's role lacks admin/
 * ```
 */
export class PermissionDeniedError extends EtcdError {
  override name = 'PermissionDeniedError' as const;
}

/**
 * UNAUTHENTICATED (code 16), or a missing/expired/invalid token, or a wrong password.
 *
 * @example
 * ```ts
 * await new Etcd({ auth: { username: 'bob', password: 'wrong' } }).get('k').catch((error) => error instanceof UnauthenticatedError);
 * ```
 */
export class UnauthenticatedError extends EtcdError {
  override name = 'UnauthenticatedError' as const;
}

/**
 * RESOURCE_EXHAUSTED (code 8): database space exceeded, too many requests.
 *
 * @example
 * ```ts
 * await etcd.put('k', 'v').catch((error) => error instanceof ResourceExhaustedError); // e.g. etcd's NOSPACE alarm
 * ```
 */
export class ResourceExhaustedError extends EtcdError {
  override name = 'ResourceExhaustedError' as const;
}

/**
 * OUT_OF_RANGE (code 11) for a revision that has been compacted.
 *
 * @example
 * ```ts
 * await etcd.get('k', { revision: 1 }).catch((error) => error instanceof CompactedError); // history before it is gone
 * ```
 */
export class CompactedError extends EtcdError {
  override name: 'CompactedError' | 'WatchCompactedError' = 'CompactedError';
}

/**
 * A watch's start (or resume) revision has been compacted: the watch ended. Re-list at the
 * current revision and watch again from there + 1 (or use `reflect`).
 *
 * @example
 * ```ts
 * try { for await (const event of etcd.watch({ prefix: 'a/', startRevision: 1 })) console.log(event); }
 * catch (error) { if (error instanceof WatchCompactedError) console.log('re-list from', error.compactRevision); }
 * ```
 */
export class WatchCompactedError extends CompactedError {
  override name = 'WatchCompactedError' as const;
  /** The revision etcd compacted to: the oldest revision a new watch may start from. */
  readonly compactRevision: number;

  constructor(message: string, compactRevision: number, details: EtcdErrorDetails = {}) {
    super(message, { code: GrpcCode.OUT_OF_RANGE, ...details });
    this.compactRevision = compactRevision;
  }
}

/**
 * OUT_OF_RANGE (code 11) for a revision that does not exist yet.
 *
 * @example
 * ```ts
 * await etcd.get('k', { revision: 1e9 }).catch((error) => error instanceof FutureRevisionError);
 * ```
 */
export class FutureRevisionError extends EtcdError {
  override name = 'FutureRevisionError' as const;
}

/**
 * UNAVAILABLE (code 14) or a network failure: no answer could be had from etcd.
 *
 * @example
 * ```ts
 * await etcd.put('k', 'v').catch((error) => {
 *   if (error instanceof UnavailableError && !error.mayHaveApplied) return etcd.put('k', 'v'); // surely not applied: safe to resend
 *   throw error;
 * });
 * ```
 */
export class UnavailableError extends EtcdError {
  override name = 'UnavailableError' as const;
  /**
   * False when the request surely did not reach etcd (connection refused);
   * true when a write may have been applied before the failure.
   */
  override readonly mayHaveApplied: boolean;
  /**
   * False when no retry can help, such as a TLS certificate the client does not trust or a
   * client certificate the server refuses: the call fails at once instead of at its deadline.
   */
  readonly retryable: boolean;

  constructor(message: string, details: EtcdErrorDetails & { mayHaveApplied?: boolean; retryable?: boolean } = {}) {
    super(message, details);
    this.mayHaveApplied = details.mayHaveApplied ?? true;
    this.retryable = details.retryable ?? true;
  }
}

/**
 * The call's deadline passed (client side), or etcd's DEADLINE_EXCEEDED (code 4).
 *
 * @example
 * ```ts
 * await etcd.get('k', { timeout: 100 }).catch((error) => error instanceof TimeoutError);
 * ```
 */
export class TimeoutError extends EtcdError {
  override name = 'TimeoutError' as const;
}

/**
 * The caller's `AbortSignal` fired.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const reading = etcd.get('k', { signal: controller.signal });
 * controller.abort();
 * await reading.catch((error) => error instanceof AbortedError); // true
 * ```
 */
export class AbortedError extends EtcdError {
  override name = 'AbortedError' as const;
}

/**
 * UNIMPLEMENTED (code 12): this etcd does not serve the call, such as `auth/status` on 3.4, or a
 * path or method its gateway does not know (404 `text/plain` up to 3.5, 404 `{"message":"Not Found"}`
 * or 501 from 3.6).
 *
 * @example
 * ```ts
 * await hashKV(etcd).catch((error) => error instanceof UnimplementedError); // etcd 3.4's gateway
 * ```
 */
export class UnimplementedError extends EtcdError {
  override name = 'UnimplementedError' as const;
}

/**
 * A read answered from a revision older than one this client has already seen (a member that
 * lags behind, typically serving a `serializable` read after a failover), and no other endpoint
 * could answer from a recent enough revision. Reading it would have gone back in time.
 *
 * @example
 * try {
 *   await etcd.get('config/color', { serializable: true });
 * } catch (error) {
 *   if (error instanceof StaleReadError) console.warn(`members lag: ${error.revision} < ${error.seenRevision}`);
 * }
 */
export class StaleReadError extends EtcdError {
  override name = 'StaleReadError' as const;
  /** The highest revision the client had seen when the read started. */
  readonly seenRevision: number;
  /** The revision of the stalest answer received. */
  readonly revision: number;

  constructor(message: string, seenRevision: number, revision: number, details: EtcdErrorDetails = {}) {
    super(message, { code: GrpcCode.UNAVAILABLE, ...details });
    this.seenRevision = seenRevision;
    this.revision = revision;
  }
}

/**
 * An answer that is not what the gateway sends: bad JSON, truncated, wrong shape, endless line.
 *
 * @example
 * ```ts
 * await etcd.get('k').catch((error) => error instanceof MalformedResponseError); // a proxy answered HTML, say
 * ```
 */
export class MalformedResponseError extends EtcdError {
  override name = 'MalformedResponseError' as const;
}

/**
 * A lease expired, was revoked, or could not be kept alive within its TTL; keys bound to it are gone.
 *
 * @example
 * ```ts
 * const lease = await etcd.grant(10);
 * lease.lost.addEventListener('abort', () => console.log((lease.lost.reason as LeaseLostError).leaseId, 'lost'));
 * ```
 */
export class LeaseLostError extends EtcdError {
  override name = 'LeaseLostError' as const;
  /** The lease's ID (a decimal string). */
  readonly leaseId: string;

  constructor(message: string, leaseId: string, details: EtcdErrorDetails = {}) {
    super(message, details);
    this.leaseId = leaseId;
  }
}

/**
 * A leadership that is no longer held: its session was lost or it resigned (from `proclaim`).
 *
 * @example
 * ```ts
 * await leadership.proclaim('v2').catch((error) => error instanceof NotLeaderError);
 * ```
 */
export class NotLeaderError extends EtcdError {
  override name = 'NotLeaderError' as const;
}

/**
 * An STM transaction still conflicted after `maxAttempts` attempts (code ABORTED).
 *
 * @example
 * ```ts
 * try { await stm(etcd, apply, { maxAttempts: 3 }); } catch (e) { if (e instanceof StmConflictError) console.log(e.attempts); }
 * ```
 */
export class StmConflictError extends EtcdError {
  override name = 'StmConflictError' as const;
  readonly attempts: number;

  constructor(attempts: number) {
    super(`the STM transaction still conflicted after ${attempts} attempts`, {
      code: GrpcCode.ABORTED,
      path: '/v3/kv/txn',
    });
    this.attempts = attempts;
  }
}

/**
 * `enter()` of a double barrier that already has its `count` participants (Go's
 * `recipe.ErrTooManyClients`).
 *
 * @example
 * ```ts
 * await doubleBarrier(etcd, 'stage', 3).enter().catch((error) => error instanceof DoubleBarrierFullError);
 * ```
 */
export class DoubleBarrierFullError extends EtcdError {
  override name = 'DoubleBarrierFullError' as const;
}

/**
 * The `name` of every error etcd-fetch throws: switch on it, or use `instanceof`.
 *
 * @example
 * ```ts
 * const retryable = (error: EtcdError) => (['UnavailableError', 'TimeoutError'] as EtcdErrorName[]).includes(error.name);
 * ```
 */
export type EtcdErrorName =
  | 'EtcdError'
  | 'InvalidArgumentError'
  | 'RequestTooLargeError'
  | 'NotFoundError'
  | 'FailedPreconditionError'
  | 'PermissionDeniedError'
  | 'UnauthenticatedError'
  | 'ResourceExhaustedError'
  | 'CompactedError'
  | 'WatchCompactedError'
  | 'FutureRevisionError'
  | 'UnavailableError'
  | 'TimeoutError'
  | 'AbortedError'
  | 'UnimplementedError'
  | 'StaleReadError'
  | 'MalformedResponseError'
  | 'LeaseLostError'
  | 'NotLeaderError'
  | 'StmConflictError'
  | 'DoubleBarrierFullError';

/**
 * True for any error thrown by etcd-fetch, also across two copies of the package
 * (where `instanceof` fails), by checking the brand set by the base class.
 *
 * @example
 * ```ts
 * try { await etcd.get('k'); } catch (error) { if (isEtcdError(error)) console.log(error.name, error.code); }
 * ```
 */
export function isEtcdError(error: unknown): error is EtcdError {
  return error instanceof EtcdError || (error instanceof Error && (error as { [BRAND]?: unknown })[BRAND] === true);
}

/**
 * Builds the typed error for a gRPC code and etcd's message.
 *
 * @example
 * ```ts
 * errorFromStatus(GrpcCode.NOT_FOUND, 'etcdserver: requested lease not found', {}); // a NotFoundError
 * ```
 */
export function errorFromStatus(code: number | undefined, message: string, details: EtcdErrorDetails): EtcdError {
  const full = { ...details, code };
  switch (code) {
    case GrpcCode.INVALID_ARGUMENT:
      if (/too large/i.test(message)) return new RequestTooLargeError(message, full);
      if (/user name is empty/i.test(message)) return new UnauthenticatedError(noCredentials(message), full);
      if (/authentication failed|invalid auth/i.test(message)) return new UnauthenticatedError(message, full);
      return new InvalidArgumentError(message, full);
    case GrpcCode.NOT_FOUND:
      return new NotFoundError(message, full);
    case GrpcCode.ALREADY_EXISTS:
    case GrpcCode.FAILED_PRECONDITION:
      return new FailedPreconditionError(message, full);
    case GrpcCode.PERMISSION_DENIED:
      return new PermissionDeniedError(message, full);
    case GrpcCode.UNAUTHENTICATED:
      return new UnauthenticatedError(message, full);
    case GrpcCode.RESOURCE_EXHAUSTED:
      if (/larger than max|too large/i.test(message)) return new RequestTooLargeError(message, full);
      return new ResourceExhaustedError(message, full);
    case GrpcCode.OUT_OF_RANGE:
      if (/compacted/i.test(message)) return new CompactedError(message, full);
      if (/future/i.test(message)) return new FutureRevisionError(message, full);
      return new InvalidArgumentError(message, full);
    case GrpcCode.UNAVAILABLE:
      return new UnavailableError(message, full);
    case GrpcCode.DEADLINE_EXCEEDED:
      return new TimeoutError(message, full);
    case GrpcCode.CANCELLED:
      return new AbortedError(message, full);
    case GrpcCode.UNIMPLEMENTED:
      return new UnimplementedError(message, full);
    default:
      // etcd 3.4's Snapshot call reports auth failures as UNKNOWN, with the auth package's message.
      if (code === GrpcCode.UNKNOWN && /^auth: user name is empty/.test(message))
        return new UnauthenticatedError(noCredentials(message), full);
      if (code === GrpcCode.UNKNOWN && /^auth: invalid auth token/.test(message))
        return new UnauthenticatedError(message, full);
      if (code === GrpcCode.UNKNOWN && /^auth: permission denied/.test(message))
        return new PermissionDeniedError(message, full);
      // A write that found no quorum (etcd 3.4: UNKNOWN, HTTP 500, after about 7 s): it may still be applied.
      if (code === GrpcCode.UNKNOWN && /^context deadline exceeded$/.test(message))
        return new UnavailableError(`${message} (no quorum answered in time)`, { ...full, mayHaveApplied: true });
      return new EtcdError(message, full);
  }
}

/** etcd's "user name is empty" (a call without a token while auth is on), said with its fix; etcd's words follow. */
function noCredentials(message: string): string {
  return `this etcd has auth enabled: pass \`auth\` ({ username, password } or { token }) to the client; etcd said: ${message}`;
}

/**
 * The gRPC code an HTTP status stands for, when an error answer says no more (an empty body, a
 * proxy's page). Both grpc-gateway mappings are read back: v1 (412 FailedPrecondition in
 * Debian's 3.4 build, 408 Canceled) and v2 (499 Canceled).
 *
 * @example
 * ```ts
 * codeOfHttpStatus(503); // GrpcCode.UNAVAILABLE (14)
 * ```
 */
export function codeOfHttpStatus(status: number): number {
  return CODE_OF_HTTP_STATUS[status] ?? GrpcCode.UNKNOWN;
}

const CODE_OF_HTTP_STATUS: Readonly<Record<number, number>> = {
  400: GrpcCode.INVALID_ARGUMENT,
  401: GrpcCode.UNAUTHENTICATED,
  403: GrpcCode.PERMISSION_DENIED,
  404: GrpcCode.NOT_FOUND,
  408: GrpcCode.CANCELLED,
  409: GrpcCode.ABORTED,
  412: GrpcCode.FAILED_PRECONDITION,
  429: GrpcCode.RESOURCE_EXHAUSTED,
  499: GrpcCode.CANCELLED,
  501: GrpcCode.UNIMPLEMENTED,
  502: GrpcCode.UNAVAILABLE,
  503: GrpcCode.UNAVAILABLE,
  504: GrpcCode.DEADLINE_EXCEEDED,
};
