import type { CallOptions } from '../core/call-options.ts';
import { type Client, coreOf } from '../core/client-core.ts';
import { describe } from '../core/codec.ts';
import { InvalidArgumentError } from '../core/errors.ts';
import { decodeHeader, type ResponseHeader } from '../core/key-value.ts';

/**
 * What `downgrade` asks of the cluster: check that a downgrade to a version is allowed, start one,
 * or call it off (Go's `DowngradeValidate`, `DowngradeEnable`, `DowngradeCancel`).
 *
 * @example
 * await downgrade(etcd, 'VALIDATE', '3.5');
 */
export type DowngradeAction = 'VALIDATE' | 'ENABLE' | 'CANCEL';

/**
 * etcd's answer to `downgrade`.
 *
 * @example
 * const { version } = await downgrade(etcd, 'VALIDATE', '3.5');   // '3.6': the cluster's version now
 */
export interface DowngradeResult {
  /**
   * The cluster version as etcd had it when it answered, e.g. `3.6` (3.6 and 3.7 give major.minor,
   * 3.5 gives `3.5.0`). An enabled downgrade lowers it a moment later; `status().downgradeInfo`
   * and `storageVersion` follow the downgrade.
   */
  version: string;
  header: ResponseHeader;
}

const ACTIONS: readonly string[] = ['VALIDATE', 'ENABLE', 'CANCEL'];
const VERSION = /^\d+\.\d+(?:\.\d+)?$/;

/**
 * Downgrades the cluster one minor version (`/v3/maintenance/downgrade`, Go's `Downgrade`): the
 * steps of etcd 3.6's downgrade procedure. `VALIDATE` checks that `version` (the next minor version
 * down, e.g. `3.5` on a 3.6 cluster) is allowed without changing anything; `ENABLE` starts the
 * downgrade: the cluster version and the members' storage version drop to it, after which each
 * member can be replaced by a binary of that version; `CANCEL` stops it (the cluster version goes
 * back up once every member runs the newer binary). Admin only while auth is on.
 *
 * Served by etcd 3.6 and later. etcd 3.4 has no route for it (`UnimplementedError`); etcd 3.5
 * answers `VALIDATE`, but its `ENABLE` and `CANCEL` take effect without answering (`UnavailableError`
 * "request timed out" after about 7 s): etcd supports downgrades from 3.6 on. A version that is not
 * the next one down, or an `ENABLE` while one is in progress, is refused with `InvalidArgumentError`;
 * a `CANCEL` with none in progress succeeds on 3.6+ (3.5: `FailedPreconditionError`).
 *
 * @example
 * await downgrade(etcd, 'VALIDATE', '3.5');
 * await downgrade(etcd, 'ENABLE', '3.5');
 * // ... replace each member's binary with 3.5's, one at a time; or give up:
 * await downgrade(etcd, 'CANCEL');
 */
export async function downgrade(
  client: Client,
  action: DowngradeAction,
  version = '',
  options: CallOptions = {},
): Promise<DowngradeResult> {
  if (!ACTIONS.includes(action)) {
    throw new InvalidArgumentError(
      `downgrade action must be 'VALIDATE', 'ENABLE' or 'CANCEL', got ${describe(action)}`,
    );
  }
  if (action !== 'CANCEL' && (typeof version !== 'string' || !VERSION.test(version))) {
    throw new InvalidArgumentError(`a downgrade's version must look like '3.5', got ${describe(version)}`);
  }
  const request = action === 'CANCEL' ? { action } : { action, version };
  const wire = await coreOf(client).transport.request('/maintenance/downgrade', request, {
    ...options,
    idempotent: action === 'VALIDATE',
  });
  return { version: typeof wire.version === 'string' ? wire.version : '', header: decodeHeader(wire.header) };
}
