/**
 * `deno task check-pure`: the raft core must have no I/O, clock or randomness
 * of its own, so that a seeded simulation replays any run exactly. Fails when a
 * core file mentions an API that would break that.
 *
 * @module
 */

const CORE = [
  "shared/bytes.ts",
  "shared/prng.ts",
  "shared/raft/conf_change.ts",
  "shared/raft/errors.ts",
  "shared/raft/inflights.ts",
  "shared/raft/log.ts",
  "shared/raft/log_unstable.ts",
  "shared/raft/progress.ts",
  "shared/raft/quorum.ts",
  "shared/raft/raft.ts",
  "shared/raft/raw_node.ts",
  "shared/raft/read_only.ts",
  "shared/raft/storage.ts",
  "shared/raft/tracker.ts",
  "shared/raft/types.ts",
];

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

const root = new URL("..", import.meta.url);
const problems: string[] = [];
for (const file of CORE) {
  const lines = (await Deno.readTextFile(new URL(file, root))).split("\n");
  lines.forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
    for (const re of FORBIDDEN) {
      if (re.test(code)) problems.push(`${file}:${i + 1}: ${re.source}: ${line.trim()}`);
    }
  });
  for (const line of lines) {
    const m = line.match(/from "(\.\.?\/[^"]+)"/);
    if (!m) continue;
    const target = new URL(m[1]!, new URL(file, root)).pathname.replace(root.pathname, "");
    if (!CORE.includes(target)) {
      problems.push(`${file}: imports ${target}, which is not part of the pure core`);
    }
  }
}
if (problems.length > 0) {
  console.error(
    `The raft core must stay pure (no I/O, clock or randomness):\n${problems.join("\n")}`,
  );
  Deno.exit(1);
}
console.log(`pure core: ${CORE.length} files checked`);
