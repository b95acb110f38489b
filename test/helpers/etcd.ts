import { after, before } from 'node:test';
import type { Etcd } from 'etcd-fetch';
import { startEtcd, type EtcdServer, type EtcdServerOptions } from '../../scripts/etcd.ts';
import { GATEWAY_VERSIONS, type GatewayVersion, startVersionGateway, type VersionGateway } from './version-gateway.ts';

export interface TestEtcd {
  /** The endpoint under test: the real etcd's, or the version imitation's in front of it. */
  readonly endpoint: string;
  /** The real etcd's endpoint (the same as `endpoint` without an imitation). */
  readonly upstream: string;
  /** The throwaway server, when this suite started one (undefined with ETCD_ENDPOINTS). */
  readonly server: EtcdServer | undefined;
  /** The etcd version imitated in front of the real one (`ETCD_GATEWAY`), if any. */
  readonly gateway: GatewayVersion | undefined;
}

/** The version `ETCD_GATEWAY` asks to imitate (unset or `debian`: the real etcd, unchanged). */
export function gatewayVersion(): GatewayVersion | undefined {
  const wanted = process.env.ETCD_GATEWAY;
  if (wanted === undefined || wanted === '' || wanted === 'debian') return undefined;
  if (!(GATEWAY_VERSIONS as readonly string[]).includes(wanted)) {
    throw new Error(`ETCD_GATEWAY=${wanted} is not one of debian, ${GATEWAY_VERSIONS.join(', ')}`);
  }
  return wanted as GatewayVersion;
}

/**
 * Starts a throwaway etcd before the suite and removes it after, or uses ETCD_ENDPOINTS when
 * set (and `options` asks for no special flags). With ETCD_GATEWAY, the suite talks to etcd
 * through an imitation of that version (test/helpers/version-gateway.ts).
 */
export function useEtcd(options: EtcdServerOptions & { ownServer?: boolean } = {}): TestEtcd {
  const context: { endpoint: string; upstream: string; server: EtcdServer | undefined; gateway: GatewayVersion | undefined } = {
    endpoint: '',
    upstream: '',
    server: undefined,
    gateway: undefined,
  };
  const shared = process.env.ETCD_ENDPOINTS;
  let imitation: VersionGateway | undefined;
  before(async () => {
    if (shared && !options.ownServer && !options.args) {
      context.upstream = shared.split(',')[0]!.trim();
    } else {
      context.server = await startEtcd(options);
      context.upstream = context.server.endpoint;
    }
    context.endpoint = context.upstream;
    const version = gatewayVersion();
    if (version !== undefined) {
      imitation = await startVersionGateway({ upstream: context.upstream, version });
      context.endpoint = imitation.endpoint;
      context.gateway = version;
    }
  });
  after(async () => {
    await imitation?.close();
    await context.server?.stop();
  });
  return context;
}

/**
 * Wraps a client factory so that every client it makes is closed after the suite: their
 * watches, keep-alive loops and locks end with them, so a failed test cannot leave one
 * reconnecting and keep the test file from exiting.
 */
export function closedAfter<A extends unknown[]>(make: (...args: A) => Etcd): (...args: A) => Etcd {
  const made: Etcd[] = [];
  after(() => {
    for (const etcd of made) etcd.close();
  });
  return (...args: A) => {
    const etcd = make(...args);
    made.push(etcd);
    return etcd;
  };
}

let counter = 0;
/** A key prefix no other test uses, so suites can share one etcd. */
export function uniquePrefix(name: string): string {
  return `test/${name}/${process.pid}-${Date.now().toString(36)}-${counter++}/`;
}
