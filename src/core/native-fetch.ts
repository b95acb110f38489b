/** The request option that carries a call's body text to `nativeFetch` (ky hands unknown options to `fetch`). */
export const BODY_TEXT = 'etcdBodyText';

/**
 * The runtime's `fetch` for ky's `Request`s, sent as URL and init with the body as text: a
 * `fetch(request)` re-wraps the request's body stream (undici pipes it through a new stream), which
 * costs more than the rest of the call. Same method, headers (the token), signal and redirect
 * mode; the body is the text the `Request` was made from.
 */
export function nativeFetch(input: Request, init?: RequestInit & { [BODY_TEXT]?: string }): Promise<Response> {
  const body = init?.[BODY_TEXT];
  if (body === undefined) return globalThis.fetch(input, init);
  return globalThis.fetch(input.url, { method: input.method, headers: input.headers, body, signal: input.signal, redirect: input.redirect });
}
