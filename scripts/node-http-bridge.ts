// Between node:http and fetch's Request/Response, for the servers in scripts/ and test/ that
// answer with `relayWatch` (the playground's /relay, the hostile-request test's relay).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

/** The request's headers as fetch `Headers`; a header fetch cannot carry is dropped, as a framework would. */
export function fetchHeaders(request: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    try {
      if (typeof value === 'string') headers.set(name, value);
    } catch {
      // Not a valid fetch header: dropped.
    }
  }
  return headers;
}

/** A signal that aborts when the client goes away. */
export function closeSignal(response: ServerResponse): AbortSignal {
  const abort = new AbortController();
  response.on('close', () => abort.abort());
  return abort.signal;
}

/** Writes a fetch `Response` (a stream, say) to `response`; a failing body ends the connection. */
export function sendAnswer(answer: Response, response: ServerResponse): void {
  response.writeHead(answer.status, Object.fromEntries(answer.headers));
  if (!answer.body) return void response.end();
  Readable.fromWeb(answer.body as NodeReadableStream)
    .on('error', () => response.destroy())
    .pipe(response);
}
