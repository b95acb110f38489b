import { mapFetchError } from '../core/answer.ts';
import type { TokenSource } from '../core/auth-token.ts';
import { type Core, perClient } from '../core/client-core.ts';
import {
  AbortedError,
  EtcdError,
  FailedPreconditionError,
  MalformedResponseError,
  TimeoutError,
  UnauthenticatedError,
  UnavailableError,
  WatchCompactedError,
} from '../core/errors.ts';
import type { Keyspace } from '../core/keyspace.ts';
import { DEFAULT_MAX_LINE, LineSplitter, parseLine } from '../core/lines.ts';
import { inEdgeWorker } from '../core/runtime.ts';
import { backoff, SilenceTimer, setTimer, sleep } from '../core/timers.ts';
import type { Transport } from '../core/transport.ts';
import { type Change, ChangeTimer } from './change-timer.ts';
import { PROBE_AFTER_MS, probeMember } from './member-probe.ts';
import { watchIdAtStart } from './overlong-line.ts';
import {
  cancelReasonError,
  decodeWatchMessage,
  encodeCreateRequest,
  type WatchCreateSpec,
  type WatchEvent,
  type WatchMessage,
} from './watch-events.ts';

/**
 * What a watcher is told when the shared stream broke and is about to be reopened.
 *
 * @example
 * ```ts
 * etcd.watch({ prefix: 'a/', onReconnect: ({ attempt, delay, error }) => console.warn(`watch retry ${attempt} in ${delay} ms`, error) });
 * ```
 */
export interface ReconnectInfo {
  /** Why the stream broke (an `UnavailableError` for network failures and server restarts). */
  error: unknown;
  /** Consecutive failed attempts so far (1 for the first). */
  attempt: number;
  /** Milliseconds until the next attempt, a whole number (jittered: 25 ms to 2 s). */
  delay: number;
  /** The revision the watcher will resume from (0: "now", it had not been created yet). */
  resumeRevision: number;
}

/** A watcher as the shared stream sees it; `Watch` implements it. */
export interface WatchMember {
  readonly spec: WatchCreateSpec;
  readonly keyspace: Keyspace;
  /** The first revision not yet delivered; 0 until etcd created a watcher that started "now". */
  readonly nextRevision: number;
  /** Milliseconds of silence after which the stream counts as broken (progress notifications on). */
  readonly stallTimeout: number | undefined;
  /** False while the watcher wants no messages (its consumer is behind; see `Watch`). */
  readonly wantsStream: boolean;
  created(headerRevision: number): void;
  deliver(events: WatchEvent[]): void;
  progress(revision: number): void;
  fail(error: EtcdError): void;
  reconnecting(info: ReconnectInfo): void;
}

const PATH = '/watch';

interface LoopState {
  /** Consecutive failed attempts. */
  failures: number;
  /** An invalid token was renewed since the last healthy answer. */
  renewedToken: boolean;
}
const PROGRESS_REQUEST = '{"progress_request":{}}';
const MAX_PADDING = 256 * 1024;
/** How long the first wait for lost create requests lasts; it doubles after each loss. */
const CREATE_WAIT = 250;
const MAX_CREATE_WAIT = 8_000;
const MIN_BACKOFF = 50;
const MAX_BACKOFF = 2_000;

/** The stream of one attempt: its members in request order and what is known about each. */
class Connection {
  readonly controller = new AbortController();
  readonly members: WatchMember[];
  readonly ids = new Map<WatchMember, number>();
  readonly byId = new Map<number, WatchMember>();
  /** Members whose `created` answer has not arrived; etcd answers creates in request order. */
  readonly pending: WatchMember[];
  readonly fragments = new Map<number, WatchEvent[]>();
  /**
   * Members this stream no longer serves: they left, or a message for them was dropped while
   * they did not want the stream. Their messages are dropped; they need a new stream to rejoin.
   */
  readonly retired = new Set<WatchMember>();
  /** The token the stream was opened with: private, so no inspection of a watch shows it. */
  #token: string | undefined;
  endpoint: string | undefined;
  reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  /** Set when the stream was ended on purpose: to change its members, or because it stalled. */
  reopening = false;
  breakError: EtcdError | undefined;
  private allRead = false;
  private createTimer: ReturnType<typeof setTimeout> | undefined;
  /** With progress notifications on, silence past the stall timeout is a broken stream. */
  private readonly stall: SilenceTimer | undefined;
  private readonly probe: SilenceTimer;

  constructor(
    members: WatchMember[],
    idOf: (member: WatchMember) => number,
    onSilent: (connection: Connection) => void,
  ) {
    this.members = members;
    this.probe = new SilenceTimer(PROBE_AFTER_MS, () => onSilent(this));
    this.pending = [...members];
    for (const member of members) {
      const id = idOf(member);
      this.ids.set(member, id);
      this.byId.set(id, member);
    }
    const stalls = members.map((m) => m.stallTimeout).filter((t): t is number => t !== undefined);
    if (stalls.length > 0) {
      const ms = Math.min(...stalls);
      this.stall = new SilenceTimer(ms, () =>
        this.end(
          new UnavailableError(`the watch stream was silent for ${ms} ms although progress notifications are on`, {
            endpoint: this.endpoint,
            path: `/v3${PATH}`,
          }),
        ),
      );
    }
  }

  /**
   * The create requests, then a progress request whose answer proves etcd read them all.
   * etcd 3.4's gateway discards the part of a request body it has not read when it writes the
   * response headers (on the first `created`), so a long body may lose its tail; padding the
   * first request with whitespace makes the gateway read the rest while decoding it.
   */
  opened(endpoint: string, token: string | undefined): void {
    this.endpoint = endpoint;
    this.#token = token;
  }

  /** After etcd refused the stream's token: drops it from the token source (true: retry with a new one). */
  invalidateToken(tokens: TokenSource | undefined): boolean {
    return this.#token !== undefined && tokens?.invalidate(this.#token) === true;
  }

  body(lostBefore: number): string {
    const lines = this.members.map((m) => encodeCreateRequest(m.spec, this.ids.get(m)!, m.nextRevision));
    lines.push(PROGRESS_REQUEST);
    const rest = lines.slice(1).join('\n').length;
    // Each time creates were lost, the padding doubles: the gateway gets longer to read the rest.
    const padding = Math.min(MAX_PADDING * 2 ** Math.min(lostBefore, 2), 2 * rest * 2 ** lostBefore);
    if (lines.length > 2) lines[0] = `${lines[0]!.slice(0, -1)}${' '.repeat(padding)}}`;
    return lines.join('\n');
  }

  /**
   * After each `created`: the next must follow within `ms`, or the rest were lost. A slow but
   * steady etcd (a busy machine, thousands of watchers) restarts the wait with every answer.
   */
  awaitCreates(ms: number, lost: () => void): void {
    if (this.allRead) return;
    clearTimeout(this.createTimer);
    this.createTimer = setTimer(() => {
      if (this.pending.length > 0 && !this.allRead) lost();
    }, ms);
  }

  /** Whether this stream serves `member`: it was created with it and has dropped none of its messages. */
  carries(member: WatchMember): boolean {
    return this.ids.has(member) && !this.retired.has(member);
  }

  /** The progress request was answered: every create was read (answers may still be on their way). */
  markAllRead(): void {
    this.allRead = true;
    clearTimeout(this.createTimer);
  }

  /** Bytes arrived: the silence is counted from now. */
  heard(): void {
    this.probe.heard();
    this.stall?.heard();
  }

  /** After `PROBE_AFTER_MS` of silence, `onSilent` checks that the member still serves. */
  armProbe(): void {
    this.probe.heard();
  }

  end(reason?: EtcdError): void {
    if (reason === undefined) this.reopening = true;
    else this.breakError ??= reason;
    this.stall?.stop();
    this.probe.stop();
    try {
      this.controller.abort(reason ?? new DOMException('watch stream reopened', 'AbortError'));
      // A fetch that ignores its signal once the body streams still stops here.
      void this.reader?.cancel().catch(() => {});
    } catch {
      // workerd refuses to touch another request's I/O: that request's end closes it.
    }
  }

  dispose(): void {
    this.stall?.stop();
    this.probe.stop();
    clearTimeout(this.createTimer);
    if (!this.controller.signal.aborted) this.controller.abort();
  }
}

/**
 * The `POST /v3/watch` connection of a client, shared by all its watchers (in an edge worker, one
 * per watcher: see `watchStreamOf`): the request body holds one `create_request` per watcher (client-chosen `watch_id`s), and since fetch cannot send
 * more once the body is sent, any change to the set of watchers reopens the stream with each
 * watcher resumed at its own next revision. Changes are coalesced (see `ChangeTimer`): a burst of
 * joins costs one reopen; leavers stay on the stream (their messages dropped) until changes
 * quiet down, so closing many watchers one by one costs one reopen too.
 * A broken stream (network error, server restart, `transport is closing`, silence while progress
 * notifications are on) is reopened with backoff; an invalid token is renewed once per failure.
 */
export class WatchStream {
  private readonly transport: Transport;
  private readonly maxLine: number;
  private readonly members = new Map<WatchMember, number>();
  private nextId = 1;
  private connection: Connection | undefined;
  private running = false;
  /** Which loop is current; a loop left behind by `detach` stops when it next wakes. */
  private generation = 0;
  private readonly changes = new ChangeTimer(() => this.apply());
  private wake: (() => void) | undefined;
  private lostCreates = 0;
  /** How many streams were opened (for tests and diagnostics). */
  opened = 0;
  /** Called when the last watcher has left (a stream of one watcher then stops listening for the client's close). */
  private readonly onEmpty: (() => void) | undefined;

  constructor(transport: Transport, maxLine = DEFAULT_MAX_LINE, onEmpty?: () => void) {
    this.transport = transport;
    this.maxLine = maxLine;
    this.onEmpty = onEmpty;
  }

  add(member: WatchMember): void {
    // IDs start at 1: watch ID 0 is omitted on the wire, which would make it ambiguous.
    this.members.set(member, this.nextId++);
    // The first watcher of an idle stream goes at once; a join to a live stream waits for others.
    this.schedule(this.running ? 'join' : 'now');
  }

  remove(member: WatchMember): void {
    if (!this.members.delete(member)) return;
    // The last watcher gone: the stream closes now, in the caller's context (see `apply`).
    if (this.members.size === 0) {
      this.detach();
      this.onEmpty?.();
    } else this.schedule('leave');
  }

  /** The client's default deadline, for waits of its watchers. */
  get timeout(): number {
    return this.transport.timeout;
  }

  /** Ends every watcher with `error` (the client is closing); the connection then closes. */
  closeAll(error: EtcdError): void {
    for (const member of [...this.members.keys()]) member.fail(error);
  }

  /** `member`'s `wantsStream` changed. */
  refresh(member: WatchMember): void {
    this.schedule(member.wantsStream ? (this.running ? 'join' : 'now') : 'leave');
  }

  private schedule(change: Change): void {
    this.changes.change(change);
  }

  private wanted(): WatchMember[] {
    return [...this.members.keys()].filter((m) => m.wantsStream);
  }

  /**
   * Makes the stream carry the watchers that want it. A new set gets a new stream and loop, started
   * here, in the context of the change that called for it: an edge worker's request cannot use a
   * connection, timer or promise of a request that has ended (workerd cancels it as hung).
   */
  private apply(): void {
    const wanted = this.wanted();
    const current = this.connection;
    if (wanted.length === 0) return this.detach();
    if (current !== undefined && current.members.length === wanted.length && wanted.every((m) => current.carries(m)))
      return;
    // Between attempts after a failure: the loop's next attempt takes the new set after its backoff.
    if (current === undefined && this.running) return;
    this.detach();
    this.running = true;
    void this.run(this.generation);
  }

  /** Ends the stream and its loop now, synchronously: the loop, if it wakes, sees it is no longer current. */
  private detach(): void {
    this.changes.cancel();
    this.generation++;
    this.running = false;
    const current = this.connection;
    this.connection = undefined;
    current?.end();
    this.wake?.();
  }

  private async run(generation: number): Promise<void> {
    const state: LoopState = { failures: 0, renewedToken: false };
    try {
      for (;;) {
        const members = this.wanted();
        if (members.length === 0) return;
        const connection = new Connection(
          members,
          (m) => this.members.get(m)!,
          (silent) => void this.probe(silent),
        );
        this.connection = connection;
        let error: unknown;
        try {
          await this.read(connection, () => {
            state.failures = 0;
            state.renewedToken = false;
          });
          error = new UnavailableError('etcd ended the watch stream', {
            endpoint: connection.endpoint,
            path: `/v3${PATH}`,
          });
        } catch (thrown) {
          error = thrown;
        } finally {
          if (this.connection === connection) this.connection = undefined;
          connection.dispose();
        }
        if (generation !== this.generation) return;
        if (connection.reopening) continue;
        const delay = this.recover(connection, error, members, state);
        if (delay > 0) await this.sleep(delay);
        if (generation !== this.generation) return;
      }
    } finally {
      if (generation === this.generation) {
        this.running = false;
        // A member added while the loop was exiting still gets a stream.
        if (this.wanted().length > 0) this.schedule('now');
      }
    }
  }

  /**
   * After a stream failed: renews an invalid token once (0: reopen at once), ends the watchers
   * when no new stream can help (0), or fails the endpoint over and says how long to back off.
   */
  private recover(connection: Connection, error: unknown, members: WatchMember[], state: LoopState): number {
    const typed = connection.breakError ?? explain(error, connection.endpoint);
    if (
      typed instanceof UnauthenticatedError &&
      !state.renewedToken &&
      connection.invalidateToken(this.transport.tokenSource)
    ) {
      state.renewedToken = true;
      return 0;
    }
    const live = members.filter((m) => this.members.has(m));
    if (!isRetryable(typed)) {
      for (const member of live) {
        this.members.delete(member);
        member.fail(typed);
      }
      return 0;
    }
    if ((typed instanceof UnavailableError || isLearnerRefusal(typed)) && connection.endpoint !== undefined)
      this.transport.failedOver(connection.endpoint);
    state.failures++;
    // Whole milliseconds: what onReconnect reports is what a log line or a metric can show as is.
    const delay = Math.round(backoff(state.failures, MIN_BACKOFF, MAX_BACKOFF));
    for (const member of live)
      member.reconnecting({ error: typed, attempt: state.failures, delay, resumeRevision: member.nextRevision });
    return delay;
  }

  private async read(connection: Connection, healthy: () => void): Promise<void> {
    this.opened++;
    const { response, endpoint, token } = await this.transport.openStream(PATH, connection.body(this.lostCreates), {
      signal: connection.controller.signal,
    });
    connection.opened(endpoint, token);
    const reader = response.body!.getReader();
    connection.reader = reader;
    if (connection.controller.signal.aborted) void reader.cancel().catch(() => {});
    // Ids of watchers whose answer was too long to read: skipped, and only they end.
    const overlong: number[] = [];
    const splitter = new LineSplitter(this.maxLine, (start) => this.skippable(connection, start, overlong));
    try {
      connection.heard();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw mapFetchError(error, endpoint, `/v3${PATH}`, 'the watch stream broke off');
        }
        if (connection.controller.signal.aborted) return;
        if (chunk.done) break;
        connection.heard();
        for (const line of splitter.feed(chunk.value))
          this.dispatch(connection, parseWatchLine(line, endpoint), healthy);
        if (overlong.length > 0) this.endOverlong(connection, overlong.splice(0));
      }
      for (const line of splitter.end()) this.dispatch(connection, parseLastLine(line, endpoint), healthy);
    } finally {
      void reader.cancel().catch(() => {});
    }
  }

  /**
   * Whether a message for `member` on `connection` is to be delivered. Once it is not, the
   * connection retires the member: a message dropped for it means it must resume on a new stream.
   */
  private live(connection: Connection, member: WatchMember | undefined): member is WatchMember {
    if (member === undefined || !connection.carries(member)) return false;
    if (this.members.get(member) === connection.ids.get(member) && member.wantsStream) return true;
    connection.retired.add(member);
    return false;
  }

  private dispatch(connection: Connection, line: unknown, healthy: () => void): void {
    const message: WatchMessage = decodeWatchMessage(line, (id) => {
      const member = connection.byId.get(id);
      return this.live(connection, member) ? member.keyspace : undefined;
    });
    if (message.kind === 'error') throw message.error;
    const { watchId } = message;
    if (message.created) {
      let member = connection.pending.shift();
      if (watchId !== -1 && member !== undefined && connection.ids.get(member) !== watchId) {
        connection.pending.unshift(member);
        member = connection.byId.get(watchId);
        const index = member === undefined ? -1 : connection.pending.indexOf(member);
        if (index !== -1) connection.pending.splice(index, 1);
      }
      if (connection.pending.length === 0) this.lostCreates = 0;
      else
        connection.awaitCreates(Math.min(MAX_CREATE_WAIT, CREATE_WAIT * 2 ** this.lostCreates), () => {
          this.lostCreates++;
          connection.end();
        });
      if (message.canceled) return this.canceled(connection, member, message);
      healthy();
      if (this.live(connection, member)) member.created(message.headerRevision);
      return;
    }
    if (watchId === -1) {
      // The answer to the progress request that ends the body.
      connection.markAllRead();
      return;
    }
    const member = connection.byId.get(watchId);
    if (message.canceled) return this.canceled(connection, member, message);
    if (!this.live(connection, member)) return;
    const fragments = connection.fragments.get(watchId);
    if (message.fragment) {
      // Only the last revision of what came may go on in the next fragment: the revisions before
      // it are whole and go out now, so an answer of many revisions (a replay) is never held whole.
      const waiting = fragments ?? [];
      waiting.push(...message.events);
      const last = waiting[waiting.length - 1]?.revision;
      let whole = waiting.length;
      while (whole > 0 && waiting[whole - 1]!.revision === last) whole--;
      connection.fragments.set(watchId, whole === 0 ? waiting : waiting.slice(whole));
      if (whole > 0) {
        healthy();
        member.deliver(waiting.slice(0, whole));
      }
      return;
    }
    let events = message.events;
    if (fragments !== undefined) {
      connection.fragments.delete(watchId);
      events = fragments.concat(events);
    }
    healthy();
    if (events.length > 0) member.deliver(events);
    else member.progress(message.headerRevision);
  }

  /** An answer over the line limit can be skipped when its start names a watcher of this stream. */
  private skippable(connection: Connection, start: string, overlong: number[]): boolean {
    const id = watchIdAtStart(start);
    if (id === undefined || !connection.byId.has(id)) return false;
    overlong.push(id);
    return true;
  }

  /** Ends the watchers whose answers were skipped as too long; the others stay on the stream. */
  private endOverlong(connection: Connection, ids: number[]): void {
    for (const id of ids) {
      connection.fragments.delete(id);
      const member = connection.byId.get(id);
      if (!this.live(connection, member)) continue;
      connection.retired.add(member);
      member.fail(
        new MalformedResponseError(
          `a watch answer exceeded ${this.maxLine} characters (maxResponseBytes); it was skipped and this watcher ended`,
          { endpoint: connection.endpoint, path: `/v3${PATH}` },
        ),
      );
    }
  }

  private canceled(
    connection: Connection,
    member: WatchMember | undefined,
    message: WatchMessage & { kind: 'result' },
  ): void {
    const error =
      message.compactRevision > 0
        ? new WatchCompactedError(
            `the watch's start revision has been compacted (oldest revision left: ${message.compactRevision})`,
            message.compactRevision,
            {
              endpoint: connection.endpoint,
              path: `/v3${PATH}`,
            },
          )
        : cancelReasonError(message.cancelReason);
    // An invalid token concerns the whole stream: renew it and reopen.
    if (error instanceof UnauthenticatedError && /invalid auth token/i.test(error.message)) throw error;
    if (member === undefined || this.members.get(member) !== connection.ids.get(member)) return;
    this.members.delete(member);
    member.fail(error);
  }

  /**
   * The stream was silent for a while: probe its member on another connection, and if it does not
   * serve, end the stream so the watchers resume on another member (see `probeMember`).
   */
  private async probe(connection: Connection): Promise<void> {
    const member = connection.members.find((m) => connection.carries(m));
    const endpoint = connection.endpoint;
    if (member === undefined || endpoint === undefined) return;
    const failure = await probeMember(this.transport, endpoint, member.spec.range.key, connection.controller.signal);
    if (connection.controller.signal.aborted) return;
    if (failure !== undefined) connection.end(failure);
    else connection.armProbe();
  }

  /** The backoff pause, cut short when no watcher is left. */
  private async sleep(ms: number): Promise<void> {
    const woken = new AbortController();
    this.wake = () => woken.abort();
    await sleep(ms, woken.signal);
    this.wake = undefined;
  }
}

function explain(error: unknown, endpoint: string | undefined): EtcdError {
  if (error instanceof EtcdError) return error;
  const mapped = mapFetchError(error, endpoint ?? '', `/v3${PATH}`, 'the watch stream broke off');
  if (mapped instanceof EtcdError) return mapped;
  return new UnavailableError(`the watch stream broke off: ${(error as Error)?.message ?? String(error)}`, {
    endpoint,
    path: `/v3${PATH}`,
    cause: error,
  });
}

/**
 * Failures a new stream may cure; others (bad request, permission, a malformed or endless line)
 * end the watchers.
 */
function isRetryable(error: EtcdError): boolean {
  return (
    (error instanceof UnavailableError && error.retryable) ||
    isLearnerRefusal(error) ||
    error instanceof TimeoutError ||
    error instanceof AbortedError
  );
}

/**
 * A learner refuses watches: 503 code 14 on etcd 3.4 and 3.5 (an UnavailableError), 400 code 9
 * from 3.6 on. Either way the stream goes to the next endpoint, as Go's client does.
 */
function isLearnerRefusal(error: EtcdError): boolean {
  return error instanceof FailedPreconditionError && /rpc not supported for learner/.test(error.message);
}

/** A line that is not JSON is a protocol error (a proxy's page, another server): it ends the watch. */
function parseWatchLine(line: string, endpoint: string): unknown {
  try {
    return parseLine(line);
  } catch (cause) {
    throw new MalformedResponseError((cause as Error).message, {
      endpoint,
      path: `/v3${PATH}`,
      cause: (cause as Error).cause,
    });
  }
}

/**
 * The last line of a stream that ended without a newline. etcd's own (a stream error) is whole
 * JSON. A line that begins as every message does (`{`) but does not parse was cut off: the
 * connection broke, and the watch resumes. Anything else is not JSON, whether or not a newline
 * follows it: the same protocol error as `parseWatchLine`.
 */
function parseLastLine(line: string, endpoint: string): unknown {
  try {
    return parseLine(line);
  } catch (cause) {
    if (!line.trimStart().startsWith('{')) return parseWatchLine(line, endpoint);
    throw new UnavailableError('the watch stream ended in the middle of a message', {
      endpoint,
      path: `/v3${PATH}`,
      cause,
    });
  }
}

const streams = /* @__PURE__ */ new WeakMap<Transport, WatchStream>();

const clientClosed = () => new AbortedError('the watch ended: the client was closed', { path: `/v3${PATH}` });

/**
 * The watch connection a new watcher of this client joins: the client's one shared connection
 * (its namespaces share it too). When the client closes, every watcher on it ends with an
 * `AbortedError` and the connection closes.
 *
 * In an edge worker (workerd) a connection and its reader belong to the request that opened
 * them and die silently when it ends, so a connection shared by watchers of several requests
 * would stall every other watcher when its opener's request ends. There each watcher gets a
 * connection of its own, opened (and reopened after a failure) in the request that created it.
 */
export function watchStreamOf(core: Core): WatchStream {
  if (inEdgeWorker()) return ownWatchStream(core);
  return perClient(
    streams,
    core,
    () => new WatchStream(core.transport, core.transport.maxResponseBytes),
    (stream) => stream.closeAll(clientClosed()),
  );
}

/** A connection for one watcher, ended with the others when the client closes. */
function ownWatchStream(core: Core): WatchStream {
  const close = () => stream.closeAll(clientClosed());
  const stream = new WatchStream(core.transport, core.transport.maxResponseBytes, () =>
    core.closed.removeEventListener('abort', close),
  );
  core.closed.addEventListener('abort', close, { once: true });
  return stream;
}
