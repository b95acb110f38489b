import { encodeId } from './codec.ts';
import { InvalidArgumentError } from './errors.ts';

/**
 * A lease ID (decimal string, safe integer or bigint) or a lease object.
 *
 * @example
 * ```ts
 * const lease = await etcd.grant(30);
 * await etcd.put('a', '1', { lease });
 * await etcd.put('b', '2', { lease: lease.id }); // the same lease by its ID
 * ```
 */
export type LeaseRef = string | number | bigint | { readonly id: string };

/** The decimal ID a lease reference stands for, checked. */
export function leaseId(lease: LeaseRef): string {
  const id =
    typeof lease === 'object' && lease !== null && 'id' in lease
      ? encodeId(lease.id, 'lease')
      : encodeId(lease, 'lease');
  if (id.startsWith('-')) throw new InvalidArgumentError(`a lease ID is positive, got ${id}`);
  return id;
}
