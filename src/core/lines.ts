import { EtcdError, MalformedResponseError, UnavailableError } from './errors.ts';

/** Longest line (in UTF-16 units) a stream may send before it is refused: 64 Mi. */
export const DEFAULT_MAX_LINE = 64 * 1024 * 1024;

/**
 * Decides about a line longer than the limit, from its start (`maxLine` characters or more):
 * true skips the rest of it unread, false refuses it (the stream fails).
 */
export type OverlongLine = (start: string) => boolean;

const NEWLINE = 0x0a;

/**
 * Splits a byte stream into lines of newline-delimited JSON, keeping the partial tail and any
 * split UTF-8 sequence between chunks, and refusing a line longer than `maxLine` (unless
 * `overlong` says to skip it).
 */
export class LineSplitter {
  private decoder = new TextDecoder('utf-8');
  private tail = '';
  private readonly maxLine: number;
  private readonly overlong: OverlongLine | undefined;
  /** Dropping bytes up to the next newline: the rest of a line that was skipped. */
  private skipping = false;

  constructor(maxLine = DEFAULT_MAX_LINE, overlong?: OverlongLine) {
    this.maxLine = maxLine;
    this.overlong = overlong;
  }

  /** Complete lines found after adding `chunk` (without their `\n`; blank lines dropped). */
  feed(chunk: Uint8Array): string[] {
    if (this.skipping) {
      // A newline byte is never part of a longer UTF-8 sequence: the next line starts after it.
      const newline = chunk.indexOf(NEWLINE);
      if (newline === -1) return [];
      this.skipping = false;
      chunk = chunk.subarray(newline + 1);
    }
    const text = this.decoder.decode(chunk, { stream: true });
    const lines: string[] = [];
    let start = 0;
    let newline = text.indexOf('\n');
    if (newline === -1) {
      this.tail += text;
    } else {
      pushLine(lines, this.tail + text.slice(0, newline));
      this.tail = '';
      start = newline + 1;
      while ((newline = text.indexOf('\n', start)) !== -1) {
        pushLine(lines, text.slice(start, newline));
        start = newline + 1;
      }
      this.tail = text.slice(start);
    }
    if (this.tail.length > this.maxLine) {
      const size = this.tail.length;
      const start = this.tail;
      this.tail = '';
      if (this.overlong?.(start)) {
        this.skipping = true;
        // What the decoder holds of a split character belongs to the skipped line.
        this.decoder = new TextDecoder('utf-8');
        return lines;
      }
      throw new MalformedResponseError(`a stream line exceeded ${this.maxLine} characters (${size} so far)`);
    }
    return lines;
  }

  /** The last line when the stream ended without a newline (how etcd sends a stream error). */
  end(): string[] {
    if (this.skipping) return [];
    const rest = this.tail + this.decoder.decode();
    this.tail = '';
    return rest.trim() === '' ? [] : [rest];
  }
}

function pushLine(lines: string[], line: string): void {
  if (line.trim() !== '') lines.push(line);
}

export function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (cause) {
    throw new MalformedResponseError(`a stream line is not JSON: ${JSON.stringify(line.slice(0, 80))}`, { cause });
  }
}

/**
 * Reads a body of newline-delimited JSON, one parsed message per line, through
 * `getReader()` (Safari cannot `for await` a ReadableStream). Cancels the body when the
 * consumer stops early.
 */
export async function* readJsonLines(
  body: ReadableStream<Uint8Array>,
  maxLine = DEFAULT_MAX_LINE,
): AsyncGenerator<unknown, void, undefined> {
  const reader = body.getReader();
  const splitter = new LineSplitter(maxLine);
  let done = false;
  try {
    for (;;) {
      const chunk = await reader.read().catch(brokeOff);
      if (chunk.done) break;
      for (const line of splitter.feed(chunk.value)) yield parseLine(line);
    }
    done = true;
    for (const line of splitter.end()) yield parseLine(line);
  } finally {
    if (!done) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** A stream that fails while being read broke off (reset, member gone); a cancellation stays one. */
function brokeOff(error: unknown): never {
  const name = (error as { name?: unknown })?.name;
  if (error instanceof EtcdError || name === 'AbortError' || name === 'TimeoutError') throw error;
  throw new UnavailableError(`the stream broke off: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}
