import { UnavailableError } from '../core/errors.ts';
import type { ReconnectInfo } from '../watch/watch.ts';

/**
 * Whether a relay's upstream watch is gone: it has failed to reach etcd over and over for at least
 * `window` ms (the watch's consecutive failures, reset by any healthy answer). A relay stream
 * then ends with `event: error` instead of sending heart-beats over a watch that delivers
 * nothing, so `EventSource` (or `subscribe`) reconnects and resumes from its `Last-Event-ID`.
 */
export class UpstreamHealth {
  private failingSince: number | undefined;
  private readonly window: number;

  constructor(window: number) {
    this.window = window;
  }

  /** A failed attempt of the watch: the error that ends the stream, when the upstream is gone. */
  failed(info: ReconnectInfo): UnavailableError | undefined {
    const now = Date.now();
    if (info.attempt <= 1 || this.failingSince === undefined) this.failingSince = now;
    if (now - this.failingSince < this.window) return undefined;
    // Not the cause's message: it names etcd's endpoints, which the relay's readers need not see.
    return new UnavailableError(
      `the relay lost its watch of etcd (${info.attempt} failed attempts in ${now - this.failingSince} ms); reconnect to resume`,
    );
  }
}
