/**
 * Deliberately broken variants of the raft core and of the driver, to show
 * that the simulator catches the bugs raft implementers make. Two are
 * subclasses of the core (as before); the others are one small source edit
 * each (a dropped check, a wrong bound, a reordered step) applied to a copy
 * of `shared/raft`, exactly as a bug would be written: {@linkcode loadVariant}
 * copies the edited file and every file on the import path from `node.ts` to
 * it into a temporary directory, points their other imports at the real
 * files, and imports the copy. Never used outside tests and `deno task sim`.
 *
 * @module
 */

import { relative } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";
import { Raft } from "../../shared/raft/raft.ts";
import type { RaftFactory } from "../../shared/raft/raw_node.ts";
import type { Message } from "../../shared/raft/types.ts";
import { REAL_DRIVER } from "./cluster.ts";
import type { DriverImpl } from "./sim_node.ts";

/** Grants every vote whose log is up to date, even after voting for another candidate in the term. */
export class VotesTwiceRaft extends Raft {
  protected override canGrantVote(_m: Message): boolean {
    return true;
  }
}

/** Commits whatever a majority holds, even an entry of an older term (the Figure 8 bug). */
export class CommitsOldTermRaft extends Raft {
  protected override maybeCommit(): boolean {
    const idx = this.trk.committed();
    const term = this.raftLog.term(idx);
    return term !== undefined && this.raftLog.maybeCommit(idx, term);
  }
}

/** A source edit of one file under `shared/raft`: each `find` occurs exactly once. */
export interface Patch {
  file: string;
  edits: [find: string, replace: string][];
}

/** One broken variant and where it is caught. */
export interface BrokenVariant {
  name: string;
  /** The bug, in one sentence. */
  bug: string;
  /** The class of bug (for the README table). */
  kind: "dropped check" | "wrong bound" | "reordered step";
  /** Which part is broken. */
  part: "core" | "driver";
  /** A core subclass, or */
  factory?: RaftFactory;
  /** a source edit. */
  patch?: Patch;
  /** The violation the swarm reports (a regular expression on the error). */
  expect: RegExp;
  /**
   * Where CI shows it is caught: the swarm (within the seeds of
   * `broken_variants_test.ts`), or a scripted scenario or unit check that
   * `broken_variants_test.ts` runs against the variant.
   */
  caughtBy: "swarm" | `scenario: ${string}` | `unit: ${string}`;
}

/** Every broken variant, by name. */
export const BROKEN_VARIANTS: readonly BrokenVariant[] = [
  {
    name: "votes-twice",
    bug: "grants a second vote in a term to another candidate",
    kind: "dropped check",
    part: "core",
    factory: (c) => new VotesTwiceRaft(c),
    expect: /election-safety|sent-before-durable/,
    caughtBy: "swarm",
  },
  {
    name: "commits-old-term",
    bug: "commits an entry of an older term by counting replicas (Figure 8)",
    kind: "dropped check",
    part: "core",
    factory: (c) => new CommitsOldTermRaft(c),
    expect: /state-machine-safety|leader-completeness|applied-entry-replaced|lost-write/,
    caughtBy: "scenario: Figure 8 (scenarios_test.ts)",
  },
  {
    name: "acks-before-durable",
    bug: "the driver sends votes and append answers before the write that backs them is durable",
    kind: "reordered step",
    part: "driver",
    patch: {
      file: "node.ts",
      edits: [
        [
          "    this.#transport.send(rd.earlyMessages);\n",
          "    this.#transport.send(rd.earlyMessages);\n    this.#transport.send(rd.messages);\n",
        ],
        ["    // Persisted: now it is safe to send.\n    this.#transport.send(rd.messages);\n", ""],
      ],
    },
    expect: /sent-before-durable/,
    caughtBy: "swarm",
  },
  {
    name: "unsynced",
    bug:
      "the driver ignores mustSync: a vote or a new term rides along with the next entry write instead of being saved before the messages that depend on it go out",
    kind: "dropped check",
    part: "driver",
    patch: {
      file: "node.ts",
      edits: [[
        "if (rd.mustSync || rd.entries.length > 0 || rd.snapshot) {",
        "if (rd.entries.length > 0 || rd.snapshot) {",
      ]],
    },
    expect: /sent-before-durable|election-safety/,
    caughtBy: "swarm",
  },
  {
    name: "advances-before-durable",
    bug: "the driver tells the core its entries are stable before the write completes",
    kind: "reordered step",
    part: "driver",
    patch: {
      file: "node.ts",
      edits: [
        [
          "    if (rd.hardState) this.#unsavedHardState = rd.hardState;\n",
          "    if (rd.hardState) this.#unsavedHardState = rd.hardState;\n    this.rn.advance(rd);\n",
        ],
        [
          "    this.rn.advance(rd);\n    this.#releaseApplied();\n",
          "    this.#releaseApplied();\n",
        ],
      ],
    },
    expect: /sent-before-durable|state-machine-safety|applied-entry-replaced|leader-completeness/,
    caughtBy: "swarm",
  },
  {
    name: "applies-uncommitted",
    bug: "the driver applies the entries it persists instead of the committed ones",
    kind: "wrong bound",
    part: "driver",
    patch: {
      file: "node.ts",
      edits: [[
        "if (rd.committedEntries.length > 0 && !applyEarly) this.#apply(rd.committedEntries);",
        "if (rd.entries.length > 0 && !applyEarly) this.#apply(rd.entries);",
      ]],
    },
    expect: /applied-uncommitted/,
    caughtBy: "swarm",
  },
  {
    name: "resolves-replaced",
    bug:
      "the driver acknowledges a proposal whose entry a new leader replaced (index without term)",
    kind: "wrong bound",
    part: "driver",
    patch: {
      file: "node.ts",
      edits: [[
        "if (p.term === e.term) p.resolve(e.index);",
        "if (p.term <= e.term) p.resolve(e.index);",
      ]],
    },
    expect: /proposal-outcome/,
    caughtBy: "swarm",
  },
  {
    name: "snapshot-drops",
    bug:
      "the driver reports proposals covered by an installed snapshot as dropped (they may have applied)",
    kind: "wrong bound",
    part: "driver",
    patch: {
      file: "node.ts",
      edits: [[
        "p.reject(new ProposalOutcomeUnknownError(index, p.term));",
        'p.reject(new ProposalDroppedError("a snapshot replaced the log", this.#lead));',
      ]],
    },
    expect: /proposal-outcome/,
    // The swarm finds it too (seed 100, 3 nodes), later than CI should wait.
    caughtBy: "scenario: a snapshot holding a pending proposal (scenarios_test.ts)",
  },
  {
    name: "grants-stale-votes",
    bug: "grants a vote without checking that the candidate's log is up to date",
    kind: "dropped check",
    part: "core",
    patch: {
      file: "raft.ts",
      edits: [[
        "if (this.canGrantVote(m) && this.raftLog.isUpToDate(m.index, m.logTerm)) {",
        "if (this.canGrantVote(m)) {",
      ]],
    },
    expect: /leader-completeness|state-machine-safety|applied-entry-replaced|lost-write|Cannot/,
    caughtBy: "swarm",
  },
  {
    name: "commit-cap",
    bug:
      "a follower caps the leader's commit index at its log's end instead of the append's last entry",
    kind: "wrong bound",
    part: "core",
    patch: {
      file: "log.ts",
      edits: [[
        "this.commitTo(Math.min(commit, lastNew));",
        "this.commitTo(Math.min(commit, this.lastIndex()));",
      ]],
    },
    expect: /applied-entry-replaced|state-machine-safety|log-matching|Cannot/,
    caughtBy: "unit: checkCommitCap (log_test.ts)",
  },
  {
    name: "counts-unstable-self",
    bug: "a new leader counts its own entries as replicated before they are on its disk",
    kind: "wrong bound",
    part: "core",
    patch: {
      file: "raft.ts",
      edits: [[
        "return Math.min(this.raftLog.storage.lastIndex(), this.raftLog.unstable.offset - 1);",
        "return this.raftLog.lastIndex();",
      ]],
    },
    expect: /sent-before-durable/,
    caughtBy: "swarm",
  },
  {
    name: "rare-read",
    bug:
      "a new leader serves ReadIndex before an entry of its term commits (its commit index may lag what the previous leader acknowledged)",
    kind: "dropped check",
    part: "core",
    patch: {
      file: "raft.ts",
      edits: [[
        "    if (!this.committedEntryInCurrentTerm()) {\n      // Our commit index may be behind until an entry of this term commits.\n      this.pendingReadIndexMessages.push(m);\n      return;\n    }\n",
        "",
      ]],
    },
    expect: /linearizability/,
    caughtBy: "swarm",
  },
  {
    name: "many-conf-changes",
    bug: "a leader accepts a membership change while an earlier one is not applied",
    kind: "dropped check",
    part: "core",
    patch: {
      file: "raft.ts",
      edits: [[
        '        if (r.pendingConfIndex > r.raftLog.applied) {\n          throw new ProposalDroppedError("a membership change is still being applied");\n        }\n',
        "",
      ]],
    },
    expect: /membership-changes/,
    caughtBy: "swarm",
  },
];

/** The variant called `name`, or undefined. */
export function brokenVariant(name: string): BrokenVariant | undefined {
  return BROKEN_VARIANTS.find((v) => v.name === name);
}

/** What a run of a variant uses: the driver and core classes, and a core factory. */
export interface LoadedVariant {
  impl: DriverImpl;
  factory?: RaftFactory;
  /** The exports of the edited file's copy (for unit checks on a broken class). */
  patched?: Record<string, unknown>;
}

const SHARED = new URL("../../shared/", import.meta.url);
const loaded = new Map<string, Promise<LoadedVariant>>();

/** Loads variant `name` (once per process). @throws {RangeError} for an unknown name. */
export function loadVariant(name: string): Promise<LoadedVariant> {
  const v = brokenVariant(name);
  if (!v) {
    return Promise.reject(
      new RangeError(
        `Cannot use core ${name} as --core must be one of: ${
          BROKEN_VARIANTS.map((x) => x.name).join(", ")
        }`,
      ),
    );
  }
  let p = loaded.get(name);
  if (!p) {
    p = v.patch ? loadPatched(v.patch) : Promise.resolve({ impl: REAL_DRIVER, factory: v.factory });
    loaded.set(name, p);
  }
  return p;
}

/** The relative imports of a source file. */
function importsOf(source: string): string[] {
  return [...source.matchAll(/from "(\.[^"]+)"/g)].map((m) => m[1]!);
}

/**
 * Applies `patch` to a copy of `shared/` and imports the copy's driver and
 * core. Only the edited file and the files between `raft/node.ts` and it are
 * copied; every other import points at the real file, so errors and types
 * stay the real classes.
 */
async function loadPatched(patch: Patch): Promise<LoadedVariant> {
  const target = new URL(`raft/${patch.file}`, SHARED).href;
  const entry = new URL("raft/node.ts", SHARED).href;
  // The import graph reachable from node.ts.
  const sources = new Map<string, string>();
  const deps = new Map<string, string[]>();
  const todo = [entry];
  while (todo.length > 0) {
    const url = todo.pop()!;
    if (sources.has(url)) continue;
    const src = await Deno.readTextFile(new URL(url));
    sources.set(url, src);
    const ds = importsOf(src).map((s) => new URL(s, url).href);
    deps.set(url, ds);
    todo.push(...ds);
  }
  if (!sources.has(target)) {
    throw new Error(`Cannot patch ${patch.file} as node.ts does not import it`);
  }
  // Files that reach the target copy it along.
  const copied = new Set<string>([target]);
  for (let changed = true; changed;) {
    changed = false;
    for (const [url, ds] of deps) {
      if (!copied.has(url) && ds.some((d) => copied.has(d))) {
        copied.add(url);
        changed = true;
      }
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "sim-variant-" });
  try {
    for (const url of copied) {
      let src = sources.get(url)!;
      if (url === target) {
        for (const [find, replace] of patch.edits) {
          const n = src.split(find).length - 1;
          if (n !== 1) {
            throw new Error(
              `Cannot patch ${patch.file} as ${JSON.stringify(find)} occurs ${n} times`,
            );
          }
          src = src.replace(find, replace);
        }
      }
      src = src.replace(/from "(\.[^"]+)"/g, (whole, spec: string) => {
        const dep = new URL(spec, url).href;
        return copied.has(dep) ? whole : `from "${dep}"`;
      });
      const rel = relative(fromFileUrl(SHARED), fromFileUrl(url));
      const out = `${dir}/${rel}`;
      await Deno.mkdir(out.slice(0, out.lastIndexOf("/")), { recursive: true });
      await Deno.writeTextFile(out, src);
    }
    const base = `file://${dir}/`;
    const node = await import(`${base}raft/node.ts`);
    const raftUrl = new URL("raft/raft.ts", SHARED).href;
    const raft = copied.has(raftUrl) ? await import(`${base}raft/raft.ts`) : { Raft };
    const patched = await import(`${base}raft/${patch.file}`);
    return { impl: { RaftNode: node.RaftNode, Raft: raft.Raft }, patched };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
