// How a keep-alive request's body is laid out so that etcd's gateway answers every lease in it.
//
// The gateway (Go net/http, HTTP/1.1) decodes the body with a json.Decoder in one goroutine while
// another already streams answers back; when it flushes the first answer, net/http discards the
// part of the body that was not read yet, and those leases get no answer (the response still ends
// cleanly). What was read by then is what the decoder's buffer holds: its first read takes 512
// bytes, each later one as much as all before it plus 512 (512, 1,536, 3,584, 7,680, 15,872,
// 32,256 bytes in all). Measured with scripts/measure-keepalive-batch.ts on Debian's etcd 3.4.23
// and on etcd 3.7.4 built from its Go modules (grpc-gateway v2, Go 1.26), alike: unpadded bodies of
// more than 17 leases were cut in up to 43% of the tries (5 of 5 at 5,000 leases), most often at
// 17 leases (512 bytes), else at 69 (2,048) or later; up to 17 leases were always answered;
// with 15,872 bytes of leading whitespace, 560 leases (16,240 bytes of lines) were answered in
// full every time and 600 were cut at exactly 565 (16,384 bytes). So the body
// starts with whitespace (which JSON allows between values) that fills the decoder's reads up to
// the one that brings the leases, and the leases fill at most three quarters of that read.

/** The longest run of lease lines one request carries: 423 leases of 19-digit IDs. */
export const MAX_BATCH_BYTES = 12 * 1024;

/** Lines may fill this share of the decoder read that brings them (the rest is margin). */
const SHARE = 0.75;
const FIRST_READ = 512;

/** The body asking etcd to refresh `ids`: whitespace, then one `{"ID":"..."}` line per lease. */
export function keepAliveBody(ids: readonly string[]): string {
  let lines = '';
  for (const id of ids) lines += `{"ID":"${id}"}\n`;
  return ' '.repeat(paddingFor(lines.length)) + lines;
}

/**
 * Bytes of whitespace to send before `bytes` of lease lines (ASCII: characters are bytes): the
 * total of the decoder's reads before the first one that can hold the lines with margin.
 */
export function paddingFor(bytes: number): number {
  let before = 0;
  let read = FIRST_READ;
  while (bytes > read * SHARE && read * SHARE < MAX_BATCH_BYTES) {
    before += read;
    read = before + FIRST_READ;
  }
  return before;
}

/** Splits `items` into runs whose lease lines stay within MAX_BATCH_BYTES, in order. */
export function batchesOf<T>(items: readonly T[], idOf: (item: T) => string): T[][] {
  const batches: T[][] = [];
  let batch: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const line = idOf(item).length + 10;
    if (batch.length > 0 && bytes + line > MAX_BATCH_BYTES) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += line;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
