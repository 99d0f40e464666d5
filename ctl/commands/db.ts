/**
 * `cassemctl db ...`: cassemdb directly, over gRPC through the shared
 * client (`shared/db`), for the operator who would reach for etcdctl: keys
 * (`get`, `put`, `rm`, `ls`, `watch`, `ttl`) and the cluster (`members`,
 * `status`, `add-node`, `remove-node`, `transfer-leader`). Writing keys by
 * hand under `cassem/` bypasses cassemadm's checks and oplog: it is for
 * repairs and inspection.
 *
 * @module
 */

import type {
  Change,
  Condition,
  Entity,
  Member,
  NodeStatus,
  WatchEvent,
} from "../../shared/db/mod.ts";
import { DbError } from "../../shared/db/mod.ts";
import { bool, type Command, type Ctx, int, type Parsed, str } from "../command.ts";
import { CONNECT_FAILED, CtlError, UnreachableError, UsageError } from "../errors.ts";
import { dash } from "../output.ts";
import { readContent } from "./elements.ts";

const dec = new TextDecoder("utf-8", { fatal: true });

/** A value as text, or base64 (`b64:`-prefixed in tables) when it is not UTF-8. */
function valueText(val: Uint8Array): { text: string; base64: boolean } {
  try {
    return { text: dec.decode(val), base64: false };
  } catch {
    let s = "";
    for (const b of val) s += String.fromCharCode(b);
    return { text: btoa(s), base64: true };
  }
}

/** An entity as JSON: its value as text (or base64), times as ISO 8601. */
function entityJson(e: Entity, withValue: boolean): Record<string, unknown> {
  const v = valueText(e.val);
  return {
    key: e.key,
    type: e.type === "DIRECTORY" ? "dir" : "element",
    ...(withValue && e.type !== "DIRECTORY"
      ? { value: v.text, valueEncoding: v.base64 ? "base64" : "utf8" }
      : {}),
    size: e.size,
    fingerprint: e.fingerprint,
    createRevision: e.createRevision,
    modRevision: e.modRevision,
    createdAt: new Date(e.createdAt).toISOString(),
    updatedAt: new Date(e.updatedAt).toISOString(),
    ttl: e.ttl,
    expireAt: e.expireAt ? new Date(e.expireAt).toISOString() : null,
  };
}

/** `--if-revision`, `--if-absent`, `--if-exists` as a condition. */
function conditionOf(p: Parsed): Condition | undefined {
  const rev = int(p, "if-revision");
  const given =
    [rev !== undefined, bool(p, "if-absent"), bool(p, "if-exists")].filter(Boolean).length;
  if (given > 1) {
    throw new UsageError(
      "Cannot combine --if-revision, --if-absent and --if-exists as a put takes one condition: give one",
    );
  }
  if (rev !== undefined) return { modRevision: rev };
  if (bool(p, "if-absent")) return { mustNotExist: true };
  if (bool(p, "if-exists")) return { mustExist: true };
  return undefined;
}

function key(p: Parsed): string {
  return p.args[0]!;
}

const get: Command = {
  path: ["db", "get"],
  summary: "print a key's value",
  usage: "KEY",
  details: "Prints the value as stored; --json adds its revisions, size, ttl and times.",
  flags: {
    serializable: { type: "boolean", help: "answer from the node's own state (may be stale)" },
  },
  arity: [1, 1],
  db: true,
  async run(ctx, p) {
    const { entity, revision } = await ctx.db().get(key(p), {
      serializable: bool(p, "serializable"),
    });
    if (!entity) {
      throw new DbError(
        "NOT_FOUND",
        `Cannot get ${key(p)} as it does not exist (revision ${revision})`,
      );
    }
    if (ctx.out.json) return ctx.out.data({ ...entityJson(entity, true), revision });
    if (entity.type === "DIRECTORY") {
      ctx.note(`${key(p)} is a directory: see cassemctl db ls ${key(p)}/`);
      return;
    }
    const v = valueText(entity.val);
    ctx.out.raw(
      v.base64 ? `${v.text}\n` : v.text.endsWith("\n") || v.text === "" ? v.text : `${v.text}\n`,
    );
    if (v.base64) ctx.note("(the value is not UTF-8: printed as base64)");
  },
};

const put: Command = {
  path: ["db", "put"],
  summary: "set a key (replacing its value), with an optional ttl and condition",
  usage: "KEY [VALUE]",
  details: `The value is VALUE, else --file (- for stdin). Conditions make it a
compare-and-swap: exit 5 when it does not hold. Example:
  cassemctl db put app/a hello --ttl 30 --if-absent`,
  flags: {
    file: { type: "string", short: "f", value: "FILE", help: "the value (- for stdin)" },
    ttl: { type: "string", value: "SECONDS", help: "expire after this many seconds" },
    dir: { type: "boolean", help: "create a directory (no value)" },
    "if-revision": { type: "string", value: "N", help: "only if the key is at this mod revision" },
    "if-absent": { type: "boolean", help: "only if the key does not exist" },
    "if-exists": { type: "boolean", help: "only if the key exists" },
  },
  arity: [1, 2],
  db: true,
  async run(ctx, p) {
    const isDir = bool(p, "dir");
    let val = "";
    if (!isDir) {
      if (p.args[1] !== undefined && str(p, "file") !== undefined) {
        throw new UsageError("Cannot put a value as both VALUE and --file are given: give one");
      }
      val = p.args[1] ?? await readContent(ctx, str(p, "file"), `put ${key(p)}`);
    } else if (p.args[1] !== undefined) {
      throw new UsageError(
        "Cannot put a directory with a value as --dir holds none: drop VALUE or --dir",
      );
    }
    const condition = conditionOf(p);
    const r = await ctx.db().set(key(p), val, {
      overwrite: condition === undefined || !("mustNotExist" in condition),
      isDir,
      ttl: int(p, "ttl", 0, 2 ** 31),
      condition,
    });
    if (ctx.out.json) return ctx.out.data({ ...entityJson(r.entity, false), revision: r.revision });
    ctx.out.line(`OK revision ${r.revision}`);
  },
};

const rm: Command = {
  path: ["db", "rm"],
  summary: "remove a key (--dir: a directory and everything below it)",
  usage: "KEY",
  flags: {
    dir: { type: "boolean", help: "remove a directory and everything below it" },
    "if-revision": { type: "string", value: "N", help: "only if the key is at this mod revision" },
  },
  arity: [1, 1],
  db: true,
  async run(ctx, p) {
    const rev = int(p, "if-revision");
    const r = await ctx.db().unset(key(p), {
      isDir: bool(p, "dir"),
      condition: rev === undefined ? undefined : { modRevision: rev },
    });
    if (ctx.out.json) return ctx.out.data(r);
    ctx.out.line(
      `Removed ${r.removed} ${r.removed === 1 ? "entity" : "entities"} at revision ${r.revision}`,
    );
  },
};

const ls: Command = {
  path: ["db", "ls"],
  summary: "list the keys that start with a prefix, a page at a time",
  usage: "[PREFIX]",
  details: `One page of --limit keys (1 to 100, default 50) after --seek; the last line says
how to get the next page. --all reads every page (at most 100,000 keys).`,
  flags: {
    limit: { type: "string", short: "n", value: "N", help: "keys per page (default 50)" },
    seek: { type: "string", value: "KEY", help: "start after this key (the previous page's last)" },
    all: { type: "boolean", help: "every page" },
    serializable: { type: "boolean", help: "answer from the node's own state (may be stale)" },
  },
  arity: [0, 1],
  db: true,
  async run(ctx, p) {
    const prefix = p.args[0] ?? "";
    const limit = int(p, "limit", 1, 100) ?? 50;
    const db = ctx.db();
    const entities: Entity[] = [];
    let seek = str(p, "seek");
    let page;
    do {
      page = await db.range(prefix, { seek, limit, serializable: bool(p, "serializable") });
      entities.push(...page.entities);
      seek = page.nextSeekKey;
    } while (bool(p, "all") && page.hasMore && entities.length < 100_000);
    const rows = entities.map((e) => entityJson(e, false));
    ctx.out.table(entities, [
      { head: "KEY", cell: (e) => e.key + (e.type === "DIRECTORY" ? "/" : "") },
      { head: "SIZE", cell: (e) => (e.type === "DIRECTORY" ? "-" : String(e.size)) },
      { head: "MOD REV", cell: (e) => String(e.modRevision) },
      { head: "TTL", cell: (e) => (e.ttl ? `${e.ttl}s` : "-") },
      { head: "UPDATED", cell: (e) => new Date(e.updatedAt).toISOString().replace(/\.\d+Z$/, "Z") },
    ], {
      json: {
        entities: rows,
        hasMore: page.hasMore,
        nextSeekKey: page.nextSeekKey,
        revision: page.revision,
      },
      empty: `No keys start with ${JSON.stringify(prefix)}.`,
    });
    if (page.hasMore && !ctx.out.json) {
      ctx.out.line(
        `(more: cassemctl db ls ${prefix === "" ? '""' : prefix} --seek ${page.nextSeekKey})`,
      );
    }
  },
};

/** One change as a line: `REV SET key = value` or `REV UNSET key (reason)`. */
function changeText(revision: number, c: Change): string {
  if (c.op === "UNSET") {
    return `${revision} UNSET ${c.key}${c.reason && c.reason !== "unset" ? ` (${c.reason})` : ""}`;
  }
  const e = c.current!;
  if (e.type === "DIRECTORY") return `${revision} SET ${c.key}/ (directory)`;
  const v = valueText(e.val);
  const shown = v.text.length > 200 ? `${v.text.slice(0, 200)}… (${e.size} bytes)` : v.text;
  return `${revision} SET ${c.key} = ${v.base64 ? `b64:${shown}` : shown.replace(/\n/g, "\\n")}`;
}

/** One change as a JSON object. */
function changeJson(revision: number, c: Change): Record<string, unknown> {
  const value = c.current && c.current.type !== "DIRECTORY"
    ? valueText(c.current.val).text
    : undefined;
  return {
    revision,
    op: c.op,
    key: c.key,
    reason: c.reason,
    ...(value !== undefined ? { value } : {}),
    modRevision: (c.current ?? c.last)?.modRevision ?? null,
  };
}

const watch: Command = {
  path: ["db", "watch"],
  summary: "print every change of keys (or prefixes) as it happens",
  usage: "KEY...",
  details: `One line per change: REVISION SET key = value, or REVISION UNSET key (reason).
--json prints one JSON object per change, one a line. Runs until Ctrl-C, or until
--count changes were printed. --from REV replays from that revision (resume
with the last revision seen + 1).`,
  flags: {
    prefix: { type: "boolean", help: "match every key that starts with KEY" },
    from: {
      type: "string",
      value: "REV",
      help: "start at this revision (default: changes from now on)",
    },
    count: { type: "string", value: "N", help: "stop after N changes" },
  },
  arity: [1, 20],
  db: true,
  async run(ctx, p) {
    const count = int(p, "count");
    const from = int(p, "from", 1);
    let seen = 0;
    let stop!: () => void;
    const stopped = new Promise<void>((r) => (stop = r));
    let failure: Error | undefined;
    const w = ctx.db().watch({ keys: p.args, prefix: bool(p, "prefix"), startRevision: from }, {
      onChanges(ev: WatchEvent) {
        for (const c of ev.changes) {
          if (count !== undefined && seen >= count) break;
          seen++;
          const line = ctx.out.json
            ? JSON.stringify(changeJson(ev.revision, c))
            : changeText(ev.revision, c);
          ctx.io.stdout(line + "\n");
        }
        if (count !== undefined && seen >= count) stop();
      },
      onRetry(e) {
        ctx.note(`cassemctl: the watch resumes after: ${e.message.split("\n")[0]}`);
      },
      onError(e) {
        failure = e;
        stop();
      },
    });
    const onAbort = () => stop();
    ctx.io.signal.addEventListener("abort", onAbort, { once: true });
    await stopped;
    ctx.io.signal.removeEventListener("abort", onAbort);
    w.close();
    // A DbError is mapped where every command's is, naming the endpoints (cli.ts).
    if (failure) throw failure instanceof DbError ? failure : new CtlError(failure.message);
  },
};

const ttl: Command = {
  path: ["db", "ttl"],
  summary: "print the seconds until a key expires",
  usage: "KEY",
  flags: {},
  arity: [1, 1],
  db: true,
  async run(ctx, p) {
    const r = await ctx.db().ttl(key(p));
    if (r.ttl === undefined) {
      throw new DbError(
        "NOT_FOUND",
        `Cannot read the ttl of ${key(p)} as it does not exist (revision ${r.revision})`,
      );
    }
    if (ctx.out.json) return ctx.out.data({ key: key(p), ttl: r.ttl, revision: r.revision });
    ctx.out.line(r.ttl === -1 ? `${key(p)} never expires` : `${r.ttl} s`);
  },
};

function memberRows(ctx: Ctx, members: Member[], leader: number): void {
  ctx.out.table(members, [
    { head: "ID", cell: (m) => String(m.id) },
    { head: "PEER", cell: (m) => m.peerAddr },
    { head: "CLIENT", cell: (m) => dash(m.clientAddr) },
    { head: "KIND", cell: (m) => (m.learner ? "learner" : "voter") },
    { head: "LEADER", cell: (m) => (m.id === leader ? "*" : "") },
  ], { json: { members, leader } });
}

const members: Command = {
  path: ["db", "members"],
  summary: "list the cluster's members and its leader",
  usage: "",
  flags: {},
  arity: [0, 0],
  db: true,
  async run(ctx) {
    const r = await ctx.db().members();
    memberRows(ctx, r.members, r.leader);
  },
};

/** Why a node did not answer, in a few words for a table cell. */
function shortReason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  if (/ECONNREFUSED/.test(msg)) return "connection refused";
  if (CONNECT_FAILED.test(msg)) return "no connection";
  if (e instanceof DbError && e.code === "DEADLINE_EXCEEDED") return "timed out";
  return msg.split("\n")[0]!.slice(0, 120);
}

interface StatusRow {
  id: number | null;
  address: string;
  reachable: boolean;
  error?: string;
  status?: NodeStatus;
}

const status: Command = {
  path: ["db", "status"],
  summary: "one table of every node: id, role, term, commit, applied, revision, keys, reachable",
  usage: "",
  details: `Asks each member (and each --endpoints address that is not one) for its own
status, so a node that is down or partitioned shows as unreachable. Exit 6 when
no node answers.`,
  flags: {},
  arity: [0, 0],
  db: true,
  async run(ctx) {
    const db = ctx.db();
    let list: Member[] = [];
    let leader = 0;
    try {
      const r = await db.members({ timeoutMs: 3_000 });
      list = r.members;
      leader = r.leader;
    } catch (e) {
      if (!(e instanceof DbError)) throw e;
      ctx.note(
        `cassemctl: cannot read the members (${shortReason(e)}): asking the endpoints given`,
      );
    }
    const targets: { id: number | null; address: string }[] = list.map((m) => ({
      id: m.id,
      address: m.clientAddr,
    }));
    for (const ep of db.endpoints) {
      if (!targets.some((t) => t.address === ep)) targets.push({ id: null, address: ep });
    }
    const rows: StatusRow[] = await Promise.all(targets.map(async (t) => {
      if (t.address === "") return { ...t, reachable: false, error: "no client address known" };
      try {
        const s = await db.status({ endpoint: t.address, timeoutMs: 2_000 });
        return { id: s.id, address: t.address, reachable: true, status: s };
      } catch (e) {
        return { ...t, reachable: false, error: shortReason(e) };
      }
    }));
    const known = new Set<number>();
    const unique = rows.filter((r) => {
      if (r.id === null || !r.reachable) return true;
      if (known.has(r.id)) return false;
      known.add(r.id);
      return true;
    });
    if (!unique.some((r) => r.reachable)) {
      throw new UnreachableError(
        `Cannot read the status of any cassemdb node (${
          targets.map((t) => t.address).join(", ")
        }): ${unique[0]?.error ?? "no address"}`,
      );
    }
    const leaderId = leader || unique.find((r) => r.status?.role === "leader")?.id || 0;
    ctx.out.table(unique, [
      { head: "ID", cell: (r) => dash(r.id) + (r.id !== null && r.id === leaderId ? "*" : "") },
      { head: "ADDRESS", cell: (r) => r.address },
      { head: "ROLE", cell: (r) => dash(r.status?.role) },
      { head: "TERM", cell: (r) => dash(r.status?.term) },
      { head: "COMMIT", cell: (r) => dash(r.status?.commit) },
      { head: "APPLIED", cell: (r) => dash(r.status?.applied) },
      { head: "REVISION", cell: (r) => dash(r.status?.revision) },
      { head: "KEYS", cell: (r) => dash(r.status?.keys) },
      { head: "REACHABLE", cell: (r) => (r.reachable ? "yes" : `no: ${r.error}`) },
    ], {
      json: {
        leader: leaderId,
        nodes: unique.map((r) => ({
          id: r.id,
          address: r.address,
          reachable: r.reachable,
          ...(r.error ? { error: r.error } : {}),
          ...(r.status
            ? {
              role: r.status.role,
              leader: r.status.leader,
              term: r.status.term,
              commit: r.status.commit,
              applied: r.status.applied,
              revision: r.status.revision,
              keys: r.status.keys,
              watchOldestRevision: r.status.watchOldestRevision,
            }
            : {}),
        })),
      },
    });
  },
};

const addNode: Command = {
  path: ["db", "add-node"],
  summary: "add a member as a learner (promoted to voter once it has caught up)",
  usage: "",
  details: `A new node usually adds itself: start it with --join (deno task db --listen ...
--peer-listen ... --join EXISTING:7021), which makes this same call. add-node is for
adding back a node that was removed but kept its data dir: add it with its old
--id and addresses, then restart it on that dir.`,
  flags: {
    peer: { type: "string", value: "HOST:PORT", help: "the node's raft peer address (required)" },
    client: { type: "string", value: "HOST:PORT", help: "the node's client address (required)" },
    id: { type: "string", value: "N", help: "its id (default: the next free one)" },
  },
  arity: [0, 0],
  db: true,
  async run(ctx, p) {
    const peer = str(p, "peer");
    const client = str(p, "client");
    if (!peer || !client) {
      throw new UsageError(
        "Cannot add a node as --peer and --client are required: see cassemctl db add-node --help",
      );
    }
    const r = await ctx.db().addNode(
      { peerAddr: peer, clientAddr: client, id: int(p, "id") ?? 0 },
      {
        timeoutMs: 15_000,
      },
    );
    if (ctx.out.json) return ctx.out.data(r);
    ctx.out.line(`Added node ${r.id} as a learner at ${peer}`);
    memberRows(ctx, r.members, 0);
  },
};

const removeNode: Command = {
  path: ["db", "remove-node"],
  summary: "remove a member (a leader removing itself hands leadership over first)",
  usage: "ID",
  flags: {},
  arity: [1, 1],
  db: true,
  async run(ctx, p) {
    const id = Number(p.args[0]);
    if (!Number.isInteger(id) || id < 1) {
      throw new UsageError(
        `Cannot remove node ${JSON.stringify(p.args[0])} as ID must be a positive integer`,
      );
    }
    const r = await ctx.db().removeNode(id, { timeoutMs: 15_000 });
    if (ctx.out.json) return ctx.out.data(r);
    ctx.out.line(
      `Removed node ${id}; it stops taking part (stop its process, keep or remove its data dir)`,
    );
    memberRows(ctx, r.members, 0);
  },
};

const transferLeader: Command = {
  path: ["db", "transfer-leader"],
  summary: "move leadership to a voter",
  usage: "ID",
  flags: {},
  arity: [1, 1],
  db: true,
  async run(ctx, p) {
    const id = Number(p.args[0]);
    if (!Number.isInteger(id) || id < 1) {
      throw new UsageError(
        `Cannot transfer leadership to ${
          JSON.stringify(p.args[0])
        } as ID must be a positive integer`,
      );
    }
    const r = await ctx.db().transferLeader(id, { timeoutMs: 15_000 });
    if (ctx.out.json) return ctx.out.data(r);
    ctx.out.line(`Node ${r.leader} leads`);
  },
};

/** The `db` commands. */
export const DB_COMMANDS: Command[] = [
  get,
  put,
  rm,
  ls,
  watch,
  ttl,
  members,
  status,
  addNode,
  removeNode,
  transferLeader,
];
