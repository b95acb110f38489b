// The subscriber process of cases/relay-fanout.ts:
// `node bench/relay-fanout-subscribers.ts <relay URL> <count> <prefix> <puts>`.
// Opens `count` SSE connections to the relay, prints the ms until every one had `event: ready`
// (and the relay's heap then) as a JSON line; while the bench process writes `puts` keys under the
// prefix, records when each event arrives on each connection; then reads from stdin when etcd
// answered each put (`[[revision, ms since the epoch], ...]`) and prints, as a second JSON line,
// the lag from the put's answer to each arrival, events lost and repeated, and the relay's CPU
// time over the deliveries.
//
// Connections are plain TCP sockets reading the answer's bytes: this process must read a million
// events a second on a shared core, so it parses no more than the `id:` of each message (the relay
// writes whole messages per chunk, so chunk-size lines fall between messages and are skipped).
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

const [relayUrl, countText, prefix, putsText] = process.argv.slice(2);
const count = Number(countText);
const puts = Number(putsText);
/** Connections opening at once: more only queue in the relay's accept backlog. */
const OPENING = 256;
const relay = new URL(relayUrl!);
const path = `/events?prefix=${encodeURIComponent(prefix!)}`;

/** Arrival times (ms since the epoch, high resolution) of each revision's event, over all connections. */
const arrivalsByRevision = new Map<number, number[]>();
let arrivals = 0;
let duplicates = 0;
let ready = 0;
let reconnects = 0;
let finished = false;
let onAllReady!: () => void;
const allReady = new Promise<void>((resolve) => (onAllReady = resolve));
const sockets = new Set<Socket>();

function arrived(revision: number, at: number): void {
  arrivals++;
  let list = arrivalsByRevision.get(revision);
  if (list === undefined) arrivalsByRevision.set(revision, (list = []));
  list.push(at);
}

const ID = Buffer.from('id: ');
const READY = Buffer.from('event: ready');
const PUT = Buffer.from('event: put');
const END = Buffer.from('\n\n');
const HEADERS_END = Buffer.from('\r\n\r\n');

/** One subscriber: resolves at its first `event: ready`; a broken stream is reopened with `Last-Event-ID`. */
function subscribe(): Promise<void> {
  let lastId: string | undefined;
  let lastRevision = 0;
  let counted = false;
  return new Promise((resolve, reject) => {
    const open = () => {
      let pending: Buffer | undefined;
      let inBody = false;
      const socket = connect(Number(relay.port), relay.hostname);
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.write(
        `GET ${path} HTTP/1.1\r\nhost: ${relay.host}\r\naccept: text/event-stream\r\n${lastId === undefined ? '' : `last-event-id: ${lastId}\r\n`}\r\n`,
      );
      socket.on('data', (chunk: Buffer) => {
        const at = performance.timeOrigin + performance.now();
        const data = pending === undefined ? chunk : Buffer.concat([pending, chunk]);
        pending = undefined;
        let at0 = 0;
        if (!inBody) {
          const end = data.indexOf(HEADERS_END);
          if (end === -1) return void (pending = data);
          inBody = true;
          at0 = end + 4;
        }
        for (;;) {
          const end = data.indexOf(END, at0);
          if (end === -1) break;
          const id = data.indexOf(ID, at0);
          if (id !== -1 && id < end) {
            let stop = id + 4;
            while (data[stop] !== 10) stop++;
            lastId = data.toString('latin1', id + 4, stop);
            const put = data.indexOf(PUT, stop);
            if (put !== -1 && put < end) {
              const revision = Number.parseInt(lastId, 10);
              if (revision <= lastRevision) duplicates++;
              else {
                lastRevision = revision;
                arrived(revision, at);
              }
            } else {
              const isReady = data.indexOf(READY, stop);
              if (isReady !== -1 && isReady < end && !counted) {
                counted = true;
                if (++ready === count) onAllReady();
                resolve();
              }
            }
          }
          at0 = end + 2;
        }
        if (at0 < data.length) pending = data.subarray(at0);
      });
      socket.on('error', (error) => {
        if (!finished && lastId === undefined && !counted) reject(error);
      });
      socket.on('close', () => {
        sockets.delete(socket);
        if (finished || (lastId === undefined && !counted)) return;
        reconnects++;
        setTimeout(open, 100);
      });
    };
    open();
  });
}

const stats = async (gc = false) =>
  (await (await fetch(`${relayUrl}/stats${gc ? '?gc=1' : ''}`)).json()) as { cpuMs: number; heapUsedBytes: number };

const started = performance.now();
const opening = new Set<Promise<void>>();
for (let i = 0; i < count; i++) {
  const next = subscribe().finally(() => opening.delete(next));
  opening.add(next);
  if (opening.size >= OPENING) await Promise.race(opening);
}
await allReady;
const readyMs = performance.now() - started;
const heapReady = (await stats(true)).heapUsedBytes;
const cpuBefore = (await stats()).cpuMs;
const ownCpuBefore = process.cpuUsage();
process.stdout.write(`${JSON.stringify({ readyMs, heapReady })}\n`);

// The bench process writes the puts (this one is busy reading) and then sends when etcd answered each.
const lines = createInterface({ input: process.stdin });
const acks = await new Promise<Array<[number, number]>>((resolve) =>
  lines.once('line', (line) => resolve(JSON.parse(line) as Array<[number, number]>)),
);
for (const deadline = performance.now() + 20_000; arrivals < puts * count && performance.now() < deadline; )
  await new Promise((resolve) => setTimeout(resolve, 20));
const cpuAfter = (await stats()).cpuMs;
const own = process.cpuUsage(ownCpuBefore);

/** Lags in whole ms, 0 to 60 s (negative lags, an event read before the put's answer, count as 0). */
const histogram = new Uint32Array(60_001);
let lagCount = 0;
for (const [revision, ack] of acks) {
  for (const at of arrivalsByRevision.get(revision) ?? []) {
    histogram[Math.min(60_000, Math.max(0, Math.round(at - ack)))]!++;
    lagCount++;
  }
}
function percentile(p: number): number {
  const rank = Math.ceil((lagCount * p) / 100);
  for (let ms = 0, seen = 0; ms < histogram.length; ms++) if ((seen += histogram[ms]!) >= rank) return ms;
  return Number.NaN;
}
process.stdout.write(
  `${JSON.stringify({
    lagP50: percentile(50),
    lagP99: percentile(99),
    lost: puts * count - arrivals,
    duplicates,
    reconnects,
    relayCpuMs: cpuAfter - cpuBefore,
    deliveries: arrivals,
    subscriberCpuMs: (own.user + own.system) / 1000,
  })}\n`,
);
finished = true;
for (const socket of sockets) socket.destroy();
process.exit(0);
