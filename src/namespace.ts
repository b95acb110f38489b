import { type Bytes, toBytes } from './codec.ts';
import { InvalidArgumentError } from './errors.ts';
import { Keyspace } from './keyspace.ts';
import type { ReadBatcher } from './batch.ts';
import type { Transport } from './transport.ts';

/**
 * What a namespaced client shares with its parent: the transport (so one connection pool,
 * one token, one lease keep-alive loop), the read batcher, and a keyspace one prefix deeper.
 */
export interface ClientParts {
  transport: Transport;
  keyspace: Keyspace;
  batcher: ReadBatcher | undefined;
}

/** Key under which `Etcd.namespace` hands its parts to the new client's constructor. */
export const clientParts: unique symbol = Symbol('etcd-fetch client parts');

/** The keyspace of `parent.namespace(prefix)`: prefixes nest (`a/` then `b/` is `a/b/`). */
export function nestedKeyspace(parent: Keyspace, prefix: Bytes): Keyspace {
  const bytes = toBytes(prefix, 'namespace prefix');
  if (bytes.length === 0) throw new InvalidArgumentError('a namespace prefix must not be empty');
  return new Keyspace(parent.key(bytes));
}
