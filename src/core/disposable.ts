// `Symbol.asyncDispose` and `AsyncDisposable`, for projects whose TypeScript `lib` lacks
// `esnext.disposable` (the same declarations as TypeScript's lib and @types/node, so they merge).
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
  interface AsyncDisposable {
    [Symbol.asyncDispose](): PromiseLike<void>;
  }
}

/**
 * What `await using` takes: a thing with `[Symbol.asyncDispose]()`.
 *
 * @example
 * ```ts
 * {
 *   await using lease = await etcd.grant(10); // an AsyncDisposableLike: revoked at the end of the block
 * }
 * ```
 */
export type AsyncDisposableLike = AsyncDisposable;
