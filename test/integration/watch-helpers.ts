import type { Watch, WatchEvent } from 'etcd-fetch';

/** Reads events until `done(events)` says so, failing after `ms` (a bound, not a timing assertion). */
export async function collect(
  watch: Watch,
  done: (events: WatchEvent[]) => boolean,
  ms = 30_000,
): Promise<WatchEvent[]> {
  const events: WatchEvent[] = [];
  const iterator = watch[Symbol.asyncIterator]();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`watch gave ${events.length} events, not enough, within ${ms} ms`)), ms);
  });
  try {
    while (!done(events)) {
      const next = await Promise.race([iterator.next(), timeout]);
      if (next.done) break;
      events.push(next.value);
    }
    return events;
  } finally {
    clearTimeout(timer);
  }
}

export { within } from '../helpers/within.ts';

/** Waits until `condition()` holds, checking every 20 ms, failing after `ms`. */
export async function eventually(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function summary(event: WatchEvent): string {
  return `${event.type} ${event.kv.keyText}=${event.kv.valueText}@${event.revision}`;
}
