import { after, before } from 'node:test';
import { startEtcd, type EtcdServer, type EtcdServerOptions } from '../../scripts/etcd.ts';

export interface TestEtcd {
  /** The endpoint under test (a throwaway etcd, or ETCD_ENDPOINTS' first). */
  readonly endpoint: string;
  /** The throwaway server, when this suite started one (undefined with ETCD_ENDPOINTS). */
  readonly server: EtcdServer | undefined;
}

/**
 * Starts a throwaway etcd before the suite and removes it after, or uses ETCD_ENDPOINTS when
 * set (and `options` asks for no special flags).
 */
export function useEtcd(options: EtcdServerOptions & { ownServer?: boolean } = {}): TestEtcd {
  const context: { endpoint: string; server: EtcdServer | undefined } = { endpoint: '', server: undefined };
  const shared = process.env.ETCD_ENDPOINTS;
  before(async () => {
    if (shared && !options.ownServer && !options.args) {
      context.endpoint = shared.split(',')[0]!.trim();
      return;
    }
    context.server = await startEtcd(options);
    context.endpoint = context.server.endpoint;
  });
  after(async () => {
    await context.server?.stop();
  });
  return context;
}

let counter = 0;
/** A key prefix no other test uses, so suites can share one etcd. */
export function uniquePrefix(name: string): string {
  return `test/${name}/${process.pid}-${Date.now().toString(36)}-${counter++}/`;
}
