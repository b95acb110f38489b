// The subscriber process of cases/relay-fanout.ts:
// `node bench/relay-fanout-subscribers.ts <relay URL> <count> <etcd endpoint> <prefix> <puts>`.
// Opens `count` SSE connections to the relay, measures the ms until every one had `event: ready`,
// then writes `puts` keys under the prefix at 100/s and measures, per event and connection, the
// lag from the put's answer to its arrival; prints the figures as JSON.
import { Agent, get } from 'node:http';
import { Etcd } from 'etcd-fetch';

const [relayUrl, countText, endpoint, prefix, putsText] = process.argv.slice(2);
const count = Number(countText);
const puts = Number(putsText);
const PUT_INTERVAL_MS = 10;
/** Connections opening at once: more only queue in the relay's accept backlog. */
const OPENING = 256;
const agent = new Agent({ keepAlive: false, maxSockets: Infinity });

const acked = new Map<number, number>();
const lags: number[] = [];
/** Arrivals before the put's answer came back: their lag is computed once it does. */
const early = new Map<number, number[]>();
let arrivals = 0;
let duplicates = 0;
let ready = 0;
let onAllReady!: () => void;
const allReady = new Promise<void>((resolve) => (onAllReady = resolve));
const requests: Array<ReturnType<typeof get>> = [];

function arrived(revision: number, at: number): void {
  arrivals++;
  const ack = acked.get(revision);
  if (ack !== undefined) lags.push(at - ack);
  else early.set(revision, [...(early.get(revision) ?? []), at]);
}

let reconnects = 0;
let finished = false;

/**
 * One subscriber: resolves at its first `event: ready`. A stream the relay breaks (its pool over
 * budget disconnects the client holding the most) is reopened with `Last-Event-ID`, as
 * EventSource does.
 */
function subscribe(): Promise<void> {
  const seen = new Set<number>();
  let lastId: string | undefined;
  let counted = false;
  return new Promise((resolve, reject) => {
    const open = () => {
      let text = '';
      const headers = lastId === undefined ? {} : { 'last-event-id': lastId };
      const request = get(
        `${relayUrl}/events?prefix=${encodeURIComponent(prefix!)}`,
        { agent, headers },
        (response) => {
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            const at = performance.now();
            text += chunk;
            let end: number;
            while ((end = text.indexOf('\n\n')) !== -1) {
              const message = text.slice(0, end);
              text = text.slice(end + 2);
              lastId = /^id: (\S+)/m.exec(message)?.[1] ?? lastId;
              if (message.includes('event: ready')) {
                if (!counted && (counted = true) && ++ready === count) onAllReady();
                resolve();
              } else if (message.includes('event: put')) {
                const revision = Number(/^id: (\d+)/m.exec(message)?.[1]);
                if (seen.has(revision)) duplicates++;
                else seen.add(revision), arrived(revision, at);
              }
            }
          });
          response.on('close', () => {
            if (finished) return;
            reconnects++;
            open();
          });
        },
      );
      request.on('error', (error) =>
        finished ? undefined : lastId === undefined ? reject(error) : (reconnects++, setTimeout(open, 100)),
      );
      requests.push(request);
    };
    open();
  });
}

const started = performance.now();
const opening = new Set<Promise<void>>();
for (let i = 0; i < count; i++) {
  const next = subscribe().finally(() => opening.delete(next));
  opening.add(next);
  if (opening.size >= OPENING) await Promise.race(opening);
}
await allReady;
const readyMs = performance.now() - started;

const writer = new Etcd({ endpoints: [endpoint!] });
const writes: Promise<void>[] = [];
for (let i = 0; i < puts; i++) {
  const sent = performance.now();
  writes.push(
    writer.put(`${prefix}k${i}`, 'v').then(({ revision }) => {
      const at = performance.now();
      acked.set(revision, at);
      for (const arrival of early.get(revision) ?? []) lags.push(arrival - at);
      early.delete(revision);
    }),
  );
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, PUT_INTERVAL_MS - (performance.now() - sent))));
}
await Promise.all(writes);
for (const deadline = performance.now() + 10_000; arrivals < puts * count && performance.now() < deadline; )
  await new Promise((resolve) => setTimeout(resolve, 20));
lags.sort((a, b) => a - b);
const percentile = (p: number) => lags[Math.min(lags.length - 1, Math.floor((lags.length * p) / 100))] ?? NaN;
process.stdout.write(
  `${JSON.stringify({ readyMs, lagP50: percentile(50), lagP99: percentile(99), lost: puts * count - arrivals, duplicates, reconnects, cpuMs: (process.cpuUsage().user + process.cpuUsage().system) / 1000 })}\n`,
);
finished = true;
for (const request of requests) request.destroy();
await writer.close();
process.exit(0);
