/** The request option that carries a call's body text to `nativeFetch` (ky hands unknown options to `fetch`). */
export const BODY_TEXT = 'etcdBodyText';

/**
 * The runtime's `fetch` for ky's `Request`s, sent as URL and init with the body as text: the
 * transport gives ky a Request without a body and the text beside it, since a body stream costs
 * more than the rest of the call (made, cloned for a retry, cancelled, and re-wrapped by
 * `fetch(request)`). Same method, headers (the token), signal and redirect mode.
 */
export function nativeFetch(input: Request, init?: RequestInit & { [BODY_TEXT]?: string }): Promise<Response> {
  const body = init?.[BODY_TEXT];
  if (body === undefined) return globalThis.fetch(input, init);
  return globalThis.fetch(input.url, {
    method: input.method,
    headers: input.headers,
    body,
    signal: input.signal,
    redirect: input.redirect,
  });
}
