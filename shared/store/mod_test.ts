import assert from "node:assert/strict";
import * as mod from "./mod.ts";

Deno.test("mod.ts exports the public API", () => {
  for (
    const name of [
      "Store",
      "WatchHub",
      "Watcher",
      "CompactedError",
      "WatcherFellBehindError",
      "encodeCommand",
      "decodeCommand",
      "fingerprint",
      "keyProblem",
      "ancestorsOf",
      "MAX_VALUE_BYTES",
      "MAX_KEY_LENGTH",
      "MAX_TXN_OPS",
      "MAX_TXN_COMPARES",
      "MAX_WATCH_KEYS",
    ]
  ) {
    assert.ok(name in mod, name);
  }
});
