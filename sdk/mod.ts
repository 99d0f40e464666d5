/**
 * The cassem client SDK, for Deno, Node ≥ 20 and browsers: reads and
 * watches config elements through the cassem agents, with typed parsing
 * of JSON, YAML, TOML, INI and properties, failover across agents,
 * reconnect with resume, and a disk cache to start from when every agent
 * is down. See `sdk/README.md`.
 *
 * ```ts ignore
 * import { createClient } from "@cassem/cassem/sdk";
 *
 * const client = createClient({
 *   agents: ["http://10.0.0.1:7081", "http://10.0.0.2:7081"],
 *   app: "shop",
 *   env: "prod",
 *   clientId: "checkout-1",
 *   cacheDir: "/var/cache/checkout",
 * });
 * const timeout = await client.get<{ ms: number }>("timeout");
 * console.log(timeout.version, timeout.value.ms);
 * const w = client.watch(["timeout", "flags"], (u) => {
 *   for (const el of u.changed) console.log(el.key, el.version, el.value);
 * });
 * await w.ready;
 * // ...
 * await client.close();
 * ```
 *
 * @module
 */

export {
  CassemClient,
  type ClientOptions,
  createClient,
  type GetOptions,
  type GetResult,
  MAX_KEYS,
  type ReadResult,
} from "./client.ts";
export {
  type ContentType,
  type Element,
  type ElementJson,
  parseElement,
  type ValueParser,
} from "./element.ts";
export type { WatchHandle, WatchOptions, WatchUpdate } from "./watch.ts";
export {
  AgentAnswerError,
  CassemError,
  ClosedError,
  ContentError,
  type ErrorCode,
  isTerminalCode,
  ProtocolError,
  UnavailableError,
} from "./errors.ts";
export { type CacheStore, localStorageCache, memoryCache, type WebStorage } from "./cache_store.ts";
export { fileCache } from "./file_cache.ts";
export type { BackoffOptions } from "./backoff.ts";
export type { FetchLike } from "./agents.ts";
export type { InstanceAnswer } from "./instances.ts";
export { type SseItem, SseParser } from "./sse.ts";
