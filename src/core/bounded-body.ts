import { MalformedResponseError } from './errors.ts';

/** Reads a whole answer as UTF-8 text, refusing one longer than `maxBytes` without buffering it. */
export async function readBoundedText(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(maxBytes);
  }
  if (!response.body) return '';
  // A declared length within bounds bounds the body too (the HTTP parser stops there): read it natively.
  if (Number.isFinite(declared)) return response.text();
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parts: string[] = [];
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
      parts.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    reader.releaseLock();
  }
  parts.push(decoder.decode());
  return parts.join('');
}

function tooLarge(maxBytes: number): MalformedResponseError {
  return new MalformedResponseError(`answer is longer than ${maxBytes} bytes (maxResponseBytes)`);
}
