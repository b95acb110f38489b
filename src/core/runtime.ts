/**
 * True in an edge worker (Cloudflare workerd, Vercel's edge runtime), where a connection belongs
 * to the request that opened it: advice about that is given only there.
 */
export function inEdgeWorker(): boolean {
  const runtime = globalThis as { navigator?: { userAgent?: unknown }; EdgeRuntime?: unknown; WebSocketPair?: unknown };
  return (
    runtime.navigator?.userAgent === 'Cloudflare-Workers' ||
    typeof runtime.EdgeRuntime === 'string' ||
    typeof runtime.WebSocketPair === 'function'
  );
}
