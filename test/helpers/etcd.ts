import { after, before } from 'node:test';
import type { Etcd } from 'etcd-fetch';
import { type EtcdServer, type EtcdServerOptions, startEtcd } from '../../scripts/etcd.ts';
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
  /**
   * The etcd release line under test, real or imitated (see versionUnderTest); undefined for
   * Debian's 3.4.23 unchanged.
   */
  readonly version: GatewayVersion | undefined;
}

/**
 * The etcd release line the suites run against: `ETCD_SERVER_VERSION` (3.5, 3.6, 3.7: the real server of
 * that line, built from its Go module; 3.4: Debian's 3.4.23, the default, gives undefined) or
 * `ETCD_GATEWAY` (the imitation of that line in front of Debian's 3.4.23). Undefined means Debian's
 * 3.4.23 as it is: no CVE-2026-33413 checks, 412 for failed preconditions, no auth/status.
 */
export function versionUnderTest(): GatewayVersion | undefined {
  const real = process.env.ETCD_SERVER_VERSION;
  const imitated = gatewayVersion();
  if (real !== undefined && real !== '' && real !== '3.4') {
    if (imitated !== undefined)
      throw new Error(`ETCD_SERVER_VERSION=${real} and ETCD_GATEWAY=${imitated} exclude each other`);
    if (!(GATEWAY_VERSIONS as readonly string[]).includes(real))
      throw new Error(`ETCD_SERVER_VERSION=${real} is not one of 3.4, 3.5, 3.6, 3.7`);
    return real as GatewayVersion;
  }
  return imitated;
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
 * set (and `options` asks for no special flags). The binary is the one scripts/etcd.ts finds:
 * ETCD_BIN, else the real server of the ETCD_SERVER_VERSION line, else Debian's. With ETCD_GATEWAY, the
 * suite talks to etcd through an imitation of that version (test/helpers/version-gateway.ts).
 */
export function useEtcd(options: EtcdServerOptions & { ownServer?: boolean } = {}): TestEtcd {
  const context: {
    endpoint: string;
    upstream: string;
    server: EtcdServer | undefined;
    gateway: GatewayVersion | undefined;
    version: GatewayVersion | undefined;
  } = {
    endpoint: '',
    upstream: '',
    server: undefined,
    gateway: undefined,
    version: versionUnderTest(),
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
