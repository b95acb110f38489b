// Every entry of the package as one object, as the runtime smoke suites take it: the root entry
// carries KV, watch and leases; concurrency, admin and relay are entries of their own.
import * as root from 'etcd-fetch';
import * as admin from 'etcd-fetch/admin';
import * as concurrency from 'etcd-fetch/concurrency';
import * as relay from 'etcd-fetch/relay';

export const lib = { ...root, ...concurrency, ...admin, ...relay };
export type Library = typeof lib;
