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

/** The same rules as `tests/check_pure.ts` applies to the raft core. */
const FORBIDDEN = [
  /\bDeno\./,
  /\bDate\b/,
  /\bMath\.random\b/,
  /\bperformance\b/,
  /\bcrypto\b/,
  /\bset(Timeout|Interval|Immediate)\b/,
  /\bqueueMicrotask\b/,
  /\bfetch\(/,
  /\bawait\b/,
  /\basync\b/,
  /from "node:/,
  /from "npm:/,
];

Deno.test("db/store sources have no I/O, clock or randomness of their own", async () => {
  const dir = new URL(".", import.meta.url);
  const problems: string[] = [];
  let files = 0;
  for await (const entry of Deno.readDir(dir)) {
    const name = entry.name;
    if (!name.endsWith(".ts") || name.endsWith("_test.ts") || name === "_test_util.ts") continue;
    files++;
    const lines = (await Deno.readTextFile(new URL(name, dir))).split("\n");
    lines.forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
      for (const re of FORBIDDEN) {
        if (re.test(code)) problems.push(`${name}:${i + 1}: ${re.source}: ${line.trim()}`);
      }
    });
  }
  assert.ok(files >= 10);
  assert.deepEqual(problems, []);
});
