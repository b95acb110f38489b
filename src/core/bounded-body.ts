import { toText } from './codec.ts';
import { MalformedResponseError } from './errors.ts';

/**
 * Reads a whole answer as UTF-8 text, refusing one longer than `maxBytes` without buffering it.
 * Bytes are counted as `fetch` hands them over, that is DECODED (a gzip answer inflated), while
 * reading: a small compressed body cannot grow past the bound, whatever its Content-Length says.
 */
export async function readBoundedText(response: Response, maxBytes: number): Promise<string> {
  const encoded = (response.headers.get('content-encoding') ?? 'identity').trim().toLowerCase();
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  // Without an encoding the declared length is the decoded one: refuse it before reading.
  if (encoded === 'identity' && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(maxBytes);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return toText(chunks.length === 1 ? chunks[0]! : concat(chunks, total));
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const whole = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}

function tooLarge(maxBytes: number): MalformedResponseError {
  return new MalformedResponseError(`answer is longer than ${maxBytes} bytes (maxResponseBytes)`);
}
