import type { CallOptions, WireObject } from '../core/call-options.ts';
import { type Client, type Core, coreOf } from '../core/client-core.ts';
import { asRecord, type Bytes, checkCount, decodeArray, decodeBool, describe, encodeBytes } from '../core/codec.ts';
import { InvalidArgumentError, MalformedResponseError } from '../core/errors.ts';
import { decodeHeader, type KeyValue, type ResponseHeader } from '../core/key-value.ts';
import { type KeySelector, Keyspace, selectorOnly, toSelector } from '../core/keyspace.ts';
import { type LeaseRef, leaseId } from '../core/lease-ref.ts';
import { rangesOfTxn } from './key-ranges.ts';
import {
  type DeleteOptions,
  type DeleteResult,
  decodeDelete,
  decodePut,
  decodeRange,
  encodeDelete,
  encodePut,
  encodeRange,
  type GetOptions,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type RangeQuery,
  type RangeResult,
} from './kv.ts';
import { orderedRead } from './ordered-read.ts';
import { schedulerOf } from './scheduler.ts';
import { unreadAnswer } from './write-batch.ts';

/**
 * How a `cmp` condition compares: equal, not equal, less, greater.
 *
 * @example
 * ```ts
 * cmp.version('config', '>', 0); // the key exists
 * ```
 */
export type CompareOperator = '=' | '!=' | '<' | '>';

/**
 * One condition of a transaction's `if`. Build with `cmp.value(...)`, `cmp.version(...)`, ...
 *
 * @example
 * ```ts
 * const unchanged: Comparison = cmp.modRevision('config', '=', kv.modRevision);
 * await etcd.txn().if(unchanged).then(op.put('config', next)).commit();
 * ```
 */
export interface Comparison {
  /** @internal */
  readonly encode: (keyspace: Keyspace) => WireObject;
}

declare const resultType: unique symbol;

/**
 * One operation of a transaction's `then` or `else`, with the type of its result.
 *
 * @example
 * ```ts
 * const read: Operation<KeyValue | undefined> = op.get('config');
 * const { results: [config] } = await etcd.txn().then(read).commit();
 * ```
 */
export interface Operation<Result> {
  /** True when the operation only reads (a call that only reads may be retried). */
  readonly readOnly: boolean;
  /** The type of the result, for `ResultsOf` (there is no such property at run time). */
  readonly [resultType]?: Result;
  /** @internal */
  readonly encode: (keyspace: Keyspace) => WireObject;
  /** @internal */
  readonly decode: (keyspace: Keyspace, wire: WireObject) => Result;
}

type AnyOperation = Operation<unknown>;
/**
 * The results of a list of operations, in order, each typed by its operation.
 *
 * @example
 * ```ts
 * type Both = ResultsOf<[Operation<PutResult>, Operation<KeyValue | undefined>]>; // [PutResult, KeyValue | undefined]
 * ```
 */
export type ResultsOf<Ops extends readonly AnyOperation[]> = {
  -readonly [K in keyof Ops]: Ops[K] extends Operation<infer R> ? R : never;
};

/**
 * The outcome of a commit: which branch ran, and each of its operations' results in order.
 *
 * @example
 * ```ts
 * const result = await etcd.txn().if(cmp.version('k', '=', 0)).then(op.put('k', 'v')).else(op.get('k')).commit();
 * if (!result.succeeded) console.log('taken:', result.results[0]?.valueText);
 * ```
 */
export type TxnResult<Then extends readonly AnyOperation[], Else extends readonly AnyOperation[]> =
  | { succeeded: true; results: ResultsOf<Then>; revision: number; header: ResponseHeader }
  | { succeeded: false; results: ResultsOf<Else>; revision: number; header: ResponseHeader };

// A Map, not an object: a name every object inherits ('toString') is no operator.
const RESULTS: ReadonlyMap<unknown, string> = /* @__PURE__ */ new Map<CompareOperator, string>([
  ['=', 'EQUAL'],
  ['!=', 'NOT_EQUAL'],
  ['<', 'LESS'],
  ['>', 'GREATER'],
]);

function comparison(
  target: string,
  field: string,
  key: Bytes | KeySelector,
  operator: CompareOperator,
  operand: string,
): Comparison {
  const result = RESULTS.get(operator);
  if (result === undefined)
    throw new InvalidArgumentError(`comparison operator must be one of = != < >, got ${describe(operator)}`);
  const selector = toSelector(key);
  return {
    encode: (keyspace) => ({ ...keyspace.encode(selector), target, result, [field]: operand }),
  };
}

/**
 * Conditions on a key (or on every key of a selector).
 *
 * @example
 * ```ts
 * await etcd.txn().if(cmp.value('state', '=', 'ready'), cmp.version('lock', '=', 0)).then(op.put('state', 'running')).commit();
 * ```
 */
export const cmp = {
  /** Compares the key's value: `cmp.value('state', '=', 'ready')`. */
  value: (key: Bytes | KeySelector, operator: CompareOperator, value: Bytes): Comparison =>
    comparison('VALUE', 'value', key, operator, encodeBytes(value, 'value')),
  /** Version 0 means "the key does not exist". */
  version: (key: Bytes | KeySelector, operator: CompareOperator, version: number): Comparison =>
    comparison('VERSION', 'version', key, operator, String(checkCount(version, 'version'))),
  /** Create revision 0 means "the key does not exist". */
  createRevision: (key: Bytes | KeySelector, operator: CompareOperator, revision: number): Comparison =>
    comparison('CREATE', 'create_revision', key, operator, String(checkCount(revision, 'createRevision'))),
  /** Compares the revision of the key's last change: `cmp.modRevision('k', '=', kv.modRevision)` (unchanged since read). */
  modRevision: (key: Bytes | KeySelector, operator: CompareOperator, revision: number): Comparison =>
    comparison('MOD', 'mod_revision', key, operator, String(checkCount(revision, 'modRevision'))),
  /** Lease "0" means "no lease". */
  lease: (key: Bytes | KeySelector, operator: CompareOperator, lease: LeaseRef): Comparison =>
    comparison('LEASE', 'lease', key, operator, leaseId(lease)),
};

function operation<Result>(
  kind: string,
  encode: (keyspace: Keyspace) => WireObject,
  decode: (keyspace: Keyspace, wire: WireObject) => Result,
): Operation<Result> {
  return {
    readOnly: kind === 'range',
    encode: (keyspace) => ({ [`request_${kind}`]: encode(keyspace) }),
    decode: (keyspace, wire) => decode(keyspace, asRecord(wire[`response_${kind}`] ?? {}, `response_${kind}`)),
  };
}

/**
 * Operations a transaction runs.
 *
 * @example
 * ```ts
 * await etcd.txn().then(op.put('a', '1'), op.del({ prefix: 'tmp/' }), op.get('b')).commit();
 * ```
 */
export const op = {
  /** One key's key-value, or undefined. */
  get: (key: Bytes, options: GetOptions = {}): Operation<KeyValue | undefined> =>
    operation(
      'range',
      (ks) =>
        encodeRange(ks, {
          revision: options.revision,
          serializable: options.serializable,
          keysOnly: options.keysOnly,
          key,
        }),
      (ks, wire) => decodeRange(ks, wire).kvs[0],
    ),
  /** Keys by key, prefix or range, as `range` reads them. */
  range: (selector: KeySelector, options: RangeOptions = {}): Operation<RangeResult> => {
    const query: RangeQuery = { ...options, ...selectorOnly(selector, 'op.range') };
    return operation('range', (ks) => encodeRange(ks, query), decodeRange);
  },
  /** Writes one key, as `put`. */
  put: (key: Bytes, value: Bytes | undefined, options: PutOptions = {}): Operation<PutResult> => {
    // Checked now, so a bad argument throws where the operation is written.
    encodePut(plainKeyspace, key, value, options);
    return operation('put', (ks) => encodePut(ks, key, value, options), decodePut);
  },
  /** Deletes one key or every key of a selector, as `del`. */
  del: (target: Bytes | KeySelector, options: DeleteOptions = {}): Operation<DeleteResult> =>
    operation('delete_range', (ks) => encodeDelete(ks, target, options), decodeDelete),
  /** A nested transaction: `op.txn().if(...).then(...)`. */
  txn: (): TxnBuilder<[], []> => new TxnBuilder([], [], []),
};

/**
 * A transaction under construction; itself an operation, so it can be nested.
 *
 * @example
 * ```ts
 * const inner = op.txn().if(cmp.version('b', '=', 0)).then(op.put('b', '1'));
 * await etcd.txn().then(op.put('a', '1'), inner).commit();
 * ```
 */
export class TxnBuilder<Then extends readonly AnyOperation[], Else extends readonly AnyOperation[]>
  implements Operation<TxnResult<Then, Else>>
{
  declare readonly [resultType]?: TxnResult<Then, Else>;
  protected readonly compares: readonly Comparison[];
  protected readonly success: Then;
  protected readonly failure: Else;

  constructor(compares: readonly Comparison[], success: Then, failure: Else) {
    this.compares = compares;
    this.success = success;
    this.failure = failure;
  }

  /** Conditions that must all hold for `then` to run; otherwise `else` runs. */
  if(...compares: Comparison[]): this {
    for (const c of compares) {
      if (typeof c?.encode !== 'function')
        throw new InvalidArgumentError(`if() takes comparisons made with cmp.*, got ${describe(c)}`);
    }
    return this.with([...this.compares, ...compares], this.success, this.failure) as this;
  }

  /** The operations to run when every condition holds (all of them, at one revision). */
  then<const Ops extends readonly AnyOperation[]>(...ops: Ops): TxnBuilder<Ops, Else> {
    return this.with(this.compares, checkOps(ops), this.failure);
  }

  /** The operations to run when a condition fails. */
  else<const Ops extends readonly AnyOperation[]>(...ops: Ops): TxnBuilder<Then, Ops> {
    return this.with(this.compares, this.success, checkOps(ops));
  }

  get readOnly(): boolean {
    return this.success.every((o) => o.readOnly) && this.failure.every((o) => o.readOnly);
  }

  /** @internal */
  readonly encode = (keyspace: Keyspace): WireObject => ({ request_txn: this.encodeBody(keyspace) });

  /** @internal */
  readonly decode = (keyspace: Keyspace, wire: WireObject): TxnResult<Then, Else> =>
    this.decodeBody(keyspace, asRecord(wire.response_txn ?? {}, 'response_txn'));

  /** @internal */
  encodeBody(keyspace: Keyspace): WireObject {
    return {
      compare: this.compares.map((c) => c.encode(keyspace)),
      success: this.success.map((o) => o.encode(keyspace)),
      failure: this.failure.map((o) => o.encode(keyspace)),
    };
  }

  /** @internal */
  decodeBody(keyspace: Keyspace, wire: WireObject): TxnResult<Then, Else> {
    const succeeded = decodeBool(wire.succeeded);
    const ops: readonly AnyOperation[] = succeeded ? this.success : this.failure;
    const responses = decodeArray(wire.responses, 'responses');
    if (responses.length !== ops.length) {
      throw new MalformedResponseError(`txn answered ${responses.length} responses for ${ops.length} operations`);
    }
    const header = decodeHeader(wire.header);
    const results = ops.map((o, i) => o.decode(keyspace, asRecord(responses[i], 'txn response')));
    return { succeeded, results, revision: header.revision, header } as TxnResult<Then, Else>;
  }

  /** @internal */
  protected with<T extends readonly AnyOperation[], E extends readonly AnyOperation[]>(
    compares: readonly Comparison[],
    success: T,
    failure: E,
  ): TxnBuilder<T, E> {
    return new TxnBuilder(compares, success, failure);
  }
}

/**
 * A transaction bound to a client: `etcd.txn().if(...).then(...).else(...).commit()`.
 *
 * @example
 * ```ts
 * const { succeeded } = await etcd.txn().if(cmp.version('leader', '=', 0)).then(op.put('leader', 'me')).commit();
 * ```
 */
export class Txn<Then extends readonly AnyOperation[], Else extends readonly AnyOperation[]> extends TxnBuilder<
  Then,
  Else
> {
  readonly #core: Core;

  constructor(
    core: Core,
    compares: readonly Comparison[] = [],
    success: Then = [] as unknown as Then,
    failure: Else = [] as unknown as Else,
  ) {
    super(compares, success, failure);
    this.#core = core;
  }

  /** The operations to run when every condition holds (all of them, at one revision). */
  override then<const Ops extends readonly AnyOperation[]>(...ops: Ops): Txn<Ops, Else> {
    return super.then(...ops) as unknown as Txn<Ops, Else>;
  }

  /** The operations to run when a condition fails. */
  override else<const Ops extends readonly AnyOperation[]>(...ops: Ops): Txn<Then, Ops> {
    return super.else(...ops) as unknown as Txn<Then, Ops>;
  }

  /** Sends the transaction (`/v3/kv/txn`); resolves with the branch that ran and its results. A read-only one may be retried. */
  async commit(options: CallOptions = {}): Promise<TxnResult<Then, Else>> {
    const core = this.#core;
    const { transport, keyspace } = core;
    const body = this.encodeBody(keyspace);
    const { ranges, readOnly } = rangesOfTxn(body);
    // After the calls to its keys issued before it (an un-awaited put is seen by a later compare).
    const wire = await schedulerOf(core).run(
      readOnly ? 'read' : 'write',
      ranges,
      '/v3/kv/txn',
      options,
      async (left) => {
        const floor = core.revisions?.revision ?? 0;
        let answer: WireObject;
        try {
          answer = await transport.request('/kv/txn', body, { ...left, idempotent: readOnly });
        } catch (error) {
          throw readOnly ? error : unreadAnswer(error, '/v3/kv/txn');
        }
        if (core.revisions === undefined) return answer;
        return orderedRead(core, answer, floor, readOnly && servedLocally(body), '/kv/txn', body, left);
      },
    );
    return this.decodeBody(keyspace, wire);
  }

  /** @internal */
  protected override with<T extends readonly AnyOperation[], E extends readonly AnyOperation[]>(
    compares: readonly Comparison[],
    success: T,
    failure: E,
  ): Txn<T, E> {
    return new Txn(this.#core, compares, success, failure);
  }
}

function checkOps<Ops extends readonly AnyOperation[]>(ops: Ops): Ops {
  for (const o of ops) {
    if (typeof o?.encode !== 'function' || typeof o?.decode !== 'function') {
      throw new InvalidArgumentError(`then()/else() take operations made with op.*, got ${describe(o)}`);
    }
  }
  return ops;
}

const plainKeyspace = /* @__PURE__ */ new Keyspace();

/**
 * etcd answers a read-only txn from the local member, without a quorum round trip, when every
 * operation of both branches is a serializable range (etcd's `isTxnSerializable`).
 */
function servedLocally(body: WireObject): boolean {
  const ops = [...(body.success as WireObject[]), ...(body.failure as WireObject[])];
  return ops.length > 0 && ops.every((o) => (o.request_range as WireObject | undefined)?.serializable === true);
}

/**
 * A transaction bound to a client core: `txn(core).if(cmp...).then(op...).else(op...).commit()`.
 *
 * @example
 * ```ts
 * const { succeeded } = await txn(etcd).if(cmp.value('k', '=', 'old')).then(op.put('k', 'new')).commit();
 * ```
 */
export function txn(client: Client): Txn<[], []> {
  return new Txn(coreOf(client));
}
