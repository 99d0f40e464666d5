/**
 * `deno task check-pure`: the raft core and the cassemdb store must have no
 * I/O, clock or randomness of their own: a seeded simulation replays any run
 * exactly, and every node applies the log identically. Fails when such a file
 * mentions an API that would break that, or imports something that is not pure.
 * Also fails when a service reaches through the raft driver into its core
 * (`raftNode.rn…`): services read `RaftNode.status()` instead; and that
 * services import shared modules (raft, store, db, config, content, metrics) through
 * their mod.ts; that nothing under shared/ imports from db/, adm/, agent/,
 * stack/, ctl/ or sdk/; and that db/ reaches its peer layer only through
 * db/peer/mod.ts (the rules of `_import_rules.ts`).
 *
 * @module
 */

import { importRuleProblems, SURFACE_DIRS } from "./_import_rules.ts";

/** The pure files of the raft core. */
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
  "shared/raft/raft_storage.ts",
  "shared/raft/raw_node.ts",
  "shared/raft/read_only.ts",
  "shared/raft/storage.ts",
  "shared/raft/tracker.ts",
  "shared/raft/types.ts",
];

/**
 * The pure part of the config layout, which the agent and the SDK share:
 * names, keys, content types, gray rules, and the parse-error locating of
 * `shared/content`.
 */
const CONFIG = [
  "shared/config/names.ts",
  "shared/config/keys.ts",
  "shared/config/content_rules.ts",
  "shared/config/content_types.ts",
  "shared/content/json_locate.ts",
  "shared/content/properties.ts",
  "shared/config/gray.ts",
];

/** Folders whose every non-test file is pure. */
const PURE_DIRS = ["shared/store"];

/** Bare (import-map) specifiers pure code may use. */
const PURE_PACKAGES = ["sorted-btree", "sorted-btree/extended/bulkLoad.js", "zod"];

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

/**
 * A reach-through into the raft driver's core: `.rn` followed by a property
 * or the end of a name (the services, {@linkcode SURFACE_DIRS}, use its
 * public surface).
 */
const REACH_THROUGH = /\.rn\b/;

const root = new URL("..", import.meta.url);
const pure = [...CORE, ...CONFIG];
for (const dir of PURE_DIRS) {
  for await (const e of Deno.readDir(new URL(`${dir}/`, root))) {
    const name = e.name;
    if (
      e.isFile && name.endsWith(".ts") && !name.endsWith("_test.ts") && !name.startsWith("_test")
    ) {
      pure.push(`${dir}/${name}`);
    }
  }
}

const problems: string[] = [];
for (const file of pure) {
  const lines = (await Deno.readTextFile(new URL(file, root))).split("\n");
  lines.forEach((line, i) => {
    const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
    for (const re of FORBIDDEN) {
      if (re.test(code)) problems.push(`${file}:${i + 1}: ${re.source}: ${line.trim()}`);
    }
  });
  for (const line of lines) {
    const spec = line.match(/from "([^"]+)"/)?.[1];
    if (!spec) continue;
    if (!spec.startsWith(".")) {
      if (!PURE_PACKAGES.includes(spec)) {
        problems.push(`${file}: imports ${spec}, which pure code may not`);
      }
      continue;
    }
    const target = new URL(spec, new URL(file, root)).pathname.replace(root.pathname, "");
    if (!pure.includes(target)) problems.push(`${file}: imports ${target}, which is not pure`);
  }
}
/** Every .ts file under `dir` (relative to the repository root). */
async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(new URL(`${dir}/`, root))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* tsFiles(path);
    else if (e.isFile && e.name.endsWith(".ts")) yield path;
  }
}

// Import rules (file by file, tests included for shared/), and no reach into the raft core.
const selfExports = (JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
  exports?: Record<string, string>;
}).exports ?? {};
const selfNames: Record<string, string> = {};
for (const [k, v] of Object.entries(selfExports)) {
  selfNames[`@cassem/cassem${k === "." ? "" : k.slice(1)}`] = v;
}
let services = 0;
let ruled = 0;
for (const dir of ["shared", ...SURFACE_DIRS]) {
  for await (const file of tsFiles(dir)) {
    ruled++;
    const text = await Deno.readTextFile(new URL(file, root));
    problems.push(...importRuleProblems(file, text, selfNames));
    if (dir === "shared") continue;
    services++;
    text.split("\n").forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
      if (REACH_THROUGH.test(code)) {
        problems.push(
          `${file}:${i + 1}: reaches into the raft core (use RaftNode.status()): ${line.trim()}`,
        );
      }
    });
  }
}

if (problems.length > 0) {
  console.error(
    `Pure code must stay pure (no I/O, clock or randomness) and imports keep their rules:\n${
      problems.join("\n")
    }`,
  );
  Deno.exit(1);
}
console.log(
  `pure code: ${pure.length} files checked; ${services} service files use the driver's surface; ${ruled} files keep the import rules`,
);
