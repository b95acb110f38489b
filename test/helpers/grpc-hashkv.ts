// The real etcd's own HashKV, asked over gRPC (the RPC exists in 3.4; only its gateway route is
// missing there), so the version imitation can serve `/v3/maintenance/hashkv` with the real
// member's hash of its real data. Node-only, for tests: @grpc/grpc-js and the protos come with
// the `etcd3` dev dependency.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { credentials, loadPackageDefinition, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

export interface HashKVAnswer {
  header: { cluster_id: string; member_id: string; revision: string; raft_term: string };
  hash: number;
  compact_revision: string;
}

type HashKVClient = {
  HashKV(
    request: object,
    metadata: Metadata,
    options: { deadline: number },
    callback: (error: ServiceError | null, answer: HashKVAnswer) => void,
  ): void;
  close(): void;
};

let service: (new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => HashKVClient) | undefined;

function maintenanceService() {
  if (service === undefined) {
    const protoDir = join(dirname(createRequire(import.meta.url).resolve('etcd3')), '..', 'proto');
    const definition = loadSync(join(protoDir, 'rpc.proto'), {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      includeDirs: [protoDir],
    });
    const loaded = loadPackageDefinition(definition) as unknown as { etcdserverpb: { Maintenance: typeof service } };
    service = loaded.etcdserverpb.Maintenance;
  }
  return service!;
}

/** Asks the etcd at `endpoint` (http URL) for HashKV at `revision`, with the caller's token if any. */
export function grpcHashKV(endpoint: string, revision: string, token: string | undefined): Promise<HashKVAnswer> {
  const Maintenance = maintenanceService();
  const client = new Maintenance(new URL(endpoint).host, credentials.createInsecure());
  const metadata = new Metadata();
  if (token !== undefined) metadata.set('token', token);
  return new Promise<HashKVAnswer>((resolve, reject) => {
    client.HashKV({ revision }, metadata, { deadline: Date.now() + 10_000 }, (error, answer) => {
      client.close();
      if (error) reject(error);
      else resolve(answer);
    });
  });
}
