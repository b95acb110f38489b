/**
 * Whether this runs in a Cloudflare worker (workerd), where a connection, a stream reader, a
 * timer or a pending promise belongs to the request that made it and dies with it: one request
 * cannot use what another opened, and nothing outlives the request it was made in.
 */
export function inEdgeWorker(): boolean {
  return (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === 'Cloudflare-Workers';
}
