import { asRecord, decodeArray, decodeBool, decodeInt } from '../core/codec.ts';
import { EtcdError, errorFromStatus, GrpcCode, MalformedResponseError } from '../core/errors.ts';
import { decodeHeaderRevision, type KeyValue } from '../core/key-value.ts';
import type { Keyspace, WireRange } from '../core/keyspace.ts';
import { streamError } from '../core/stream-message.ts';
import { decodeStripped } from '../kv/kv.ts';

/**
 * One change of one key.
 *
 * @example
 * ```ts
 * for await (const { type, kv, revision } of etcd.watch({ prefix: 'a/' })) console.log(revision, type, kv.keyText);
 * ```
 */
export interface WatchEvent {
  type: 'put' | 'delete';
  /** The key after the change; for a delete, only `key` and `modRevision` are set. */
  kv: KeyValue;
  /** The key before the change, when the watch asked for `prevKv` and the key existed. */
  prevKv?: KeyValue;
  /** The revision of the change (`kv.modRevision`). */
  revision: number;
}

/**
 * One answer of etcd to one watcher: the events of one or more revisions, or a progress mark.
 *
 * @example
 * ```ts
 * for await (const { revision, events } of etcd.watch({ prefix: 'a/' }).responses()) console.log(revision, events.length);
 * ```
 */
export interface WatchResponse {
  /**
   * Every change up to this revision has been delivered: the last event's revision, or for a
   * progress notification the store revision it vouches for.
   */
  revision: number;
  events: WatchEvent[];
  /** A progress notification: no events, but `revision` moved forward. */
  progress: boolean;
}

/** What a `create_request` asks for, apart from its watch ID and start revision. */
export interface WatchCreateSpec {
  range: WireRange;
  prevKv: boolean;
  noPut: boolean;
  noDelete: boolean;
  progressNotify: boolean;
  fragment: boolean;
}

/** One line of a `/v3/watch` stream, decoded. */
export type WatchMessage =
  | {
      kind: 'result';
      /** -1 for answers not tied to a watcher (auth failures, progress requests). */
      watchId: number;
      headerRevision: number;
      created: boolean;
      canceled: boolean;
      compactRevision: number;
      cancelReason: string;
      /** More fragments of this answer follow. */
      fragment: boolean;
      events: WatchEvent[];
    }
  | { kind: 'error'; error: EtcdError };

/** The `create_request` line for one watcher. */
export function encodeCreateRequest(spec: WatchCreateSpec, watchId: number, startRevision: number): string {
  const request: Record<string, unknown> = { ...spec.range, watch_id: String(watchId) };
  if (startRevision > 0) request.start_revision = String(startRevision);
  if (spec.prevKv) request.prev_kv = true;
  const filters: string[] = [];
  if (spec.noPut) filters.push('NOPUT');
  if (spec.noDelete) filters.push('NODELETE');
  if (filters.length > 0) request.filters = filters;
  if (spec.progressNotify) request.progress_notify = true;
  if (spec.fragment) request.fragment = true;
  return JSON.stringify({ create_request: request });
}

/**
 * Decodes one parsed line: `{"result": WatchResponse}` or `{"error": {grpc_code, message, ...}}`.
 * Events are decoded through the keyspace of the watcher they belong to; those of a watcher
 * without one (closed meanwhile) are skipped undecoded.
 */
export function decodeWatchMessage(line: unknown, keyspaceOf: (watchId: number) => Keyspace | undefined): WatchMessage {
  const message = asRecord(line, 'watch stream message');
  if (message.error !== undefined) return { kind: 'error', error: streamError(message.error, undefined, '/v3/watch') };
  if (message.result === undefined)
    throw new MalformedResponseError('watch stream message has neither result nor error');
  const result = asRecord(message.result, 'watch response');
  const watchId = decodeInt(result.watch_id, 'watch_id');
  const keyspace = result.events === undefined ? undefined : keyspaceOf(watchId);
  return {
    kind: 'result',
    watchId,
    headerRevision: decodeHeaderRevision(result.header),
    created: decodeBool(result.created),
    canceled: decodeBool(result.canceled),
    compactRevision: decodeInt(result.compact_revision, 'compact_revision'),
    cancelReason: typeof result.cancel_reason === 'string' ? result.cancel_reason : '',
    fragment: decodeBool(result.fragment),
    events:
      keyspace === undefined ? [] : decodeArray(result.events, 'events').map((event) => decodeEvent(keyspace, event)),
  };
}

function decodeEvent(keyspace: Keyspace, wire: unknown): WatchEvent {
  const event = asRecord(wire, 'watch event');
  const type =
    event.type === undefined || event.type === 'PUT' || event.type === 0
      ? 'put'
      : event.type === 'DELETE' || event.type === 1
        ? 'delete'
        : undefined;
  if (type === undefined) throw new MalformedResponseError(`unknown watch event type ${JSON.stringify(event.type)}`);
  const kv = decodeStripped(keyspace, event.kv);
  const decoded: WatchEvent = { type, kv, revision: kv.modRevision };
  if (event.prev_kv !== undefined) decoded.prevKv = decodeStripped(keyspace, event.prev_kv);
  return decoded;
}

const CODE_NAMES: Record<string, number> = {
  Canceled: GrpcCode.CANCELLED,
  Unknown: GrpcCode.UNKNOWN,
  InvalidArgument: GrpcCode.INVALID_ARGUMENT,
  DeadlineExceeded: GrpcCode.DEADLINE_EXCEEDED,
  NotFound: GrpcCode.NOT_FOUND,
  AlreadyExists: GrpcCode.ALREADY_EXISTS,
  PermissionDenied: GrpcCode.PERMISSION_DENIED,
  ResourceExhausted: GrpcCode.RESOURCE_EXHAUSTED,
  FailedPrecondition: GrpcCode.FAILED_PRECONDITION,
  Aborted: GrpcCode.ABORTED,
  OutOfRange: GrpcCode.OUT_OF_RANGE,
  Unimplemented: GrpcCode.UNIMPLEMENTED,
  Internal: GrpcCode.INTERNAL,
  Unavailable: GrpcCode.UNAVAILABLE,
  DataLoss: GrpcCode.DATA_LOSS,
  Unauthenticated: GrpcCode.UNAUTHENTICATED,
};

/**
 * The typed error of a `cancel_reason` such as
 * `rpc error: code = Unauthenticated desc = etcdserver: invalid auth token`.
 */
export function cancelReasonError(reason: string): EtcdError {
  const match = /code = (\w+) desc = (.*)$/s.exec(reason);
  if (match === null) return new EtcdError(reason === '' ? 'etcd canceled the watch' : reason, { path: '/v3/watch' });
  return errorFromStatus(CODE_NAMES[match[1]!] ?? GrpcCode.UNKNOWN, match[2]!, { path: '/v3/watch' });
}
