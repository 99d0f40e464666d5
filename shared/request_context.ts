/**
 * The request a piece of code is working for, carried across `await`s
 * (node:async_hooks `AsyncLocalStorage`): an HTTP middleware or a gRPC
 * interceptor runs the rest of the request inside {@linkcode withRequestId},
 * and code below it reads {@linkcode currentRequestId} without the id being
 * passed through every call. The logger adds it to each line; cassemadm's
 * cassemdb client sends it as gRPC metadata.
 *
 * @module
 */

import { AsyncLocalStorage } from "node:async_hooks";

const storage = new AsyncLocalStorage<string>();

/**
 * Runs `fn` with `requestId` as the current request id; everything `fn`
 * starts, synchronously or after any number of `await`s, sees it. Returns
 * what `fn` returns.
 */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return storage.run(requestId, fn);
}

/** The id of the request the caller works for, or `undefined` outside any. */
export function currentRequestId(): string | undefined {
  return storage.getStore();
}
