import { encodeId } from './codec.ts';

/** A lease ID (decimal string, safe integer or bigint) or a lease object. */
export type LeaseRef = string | number | bigint | { readonly id: string };

/** The decimal ID a lease reference stands for, checked. */
export function leaseId(lease: LeaseRef): string {
  if (typeof lease === 'object' && lease !== null && 'id' in lease) return encodeId(lease.id, 'lease');
  return encodeId(lease, 'lease');
}
