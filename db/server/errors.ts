/**
 * The errors of a cassemdb node that are its own (the raft and store errors
 * live with raft and the store): why it cannot start, and why it cannot
 * serve a request right now. `grpc_errors.ts` maps them to gRPC statuses;
 * `db/main.ts` turns the start errors into one line and an exit code.
 *
 * @module
 */

/**
 * This node cannot serve a write or a linearizable read now: it knows no
 * leader, it is still recovering from a lost disk, or it was removed. Thrown
 * before anything is proposed or asked of the leader, so the request
 * certainly did not apply and may be retried (UNAVAILABLE, retryable).
 */
export class NoLeaderError extends Error {
  /** Why, for the caller: names the peers this node cannot reach and how. */
  readonly reason: string;
  /** `reason` completes "Cannot serve the request as …". */
  constructor(reason: string) {
    super(`Cannot serve the request as ${reason}`);
    this.name = "NoLeaderError";
    this.reason = reason;
  }
}

/** The data directory cannot be created, opened, read or written; names the path and the OS cause. */
export class DataDirError extends Error {
  /** The file or directory that failed. */
  readonly path: string;
  /** Reads "Cannot `what` `path` as `cause`", the cause without its OS error number. */
  constructor(path: string, what: string, cause: unknown) {
    super(`Cannot ${what} ${path} as ${osCause(cause)}`, { cause });
    this.name = "DataDirError";
    this.path = path;
  }
}

/** Another process holds the data directory's lock: two nodes must never share one. */
export class DataDirLockedError extends Error {
  /** The data directory. */
  readonly dir: string;
  /** The PID the lock file names, when it names one. */
  readonly pid: number | undefined;
  /** `pid`: the holder, as its lock file names it, if it does. */
  constructor(dir: string, lockFile: string, pid: number | undefined) {
    super(
      `Cannot use the data dir ${dir} as ${
        pid ? `process ${pid}` : "another process"
      } holds its lock (${lockFile}): another cassemdb node runs on it; stop that one or pick another --dir`,
    );
    this.name = "DataDirLockedError";
    this.dir = dir;
    this.pid = pid;
  }
}

/** An address from a flag cannot be bound: names the flag and the address. */
export class BindError extends Error {
  /** The flag that gave the address, such as `--peer-listen`. */
  readonly flag: string;
  /** The address that cannot be bound. */
  readonly address: string;
  /** Why, such as "it is in use". */
  readonly reason: string;
  /** `cause`: the error of the bind attempt (Deno's or grpc-js's). */
  constructor(flag: string, address: string, cause: unknown) {
    const reason = bindCause(cause);
    super(`Cannot listen on ${flag} ${address} as ${reason}`, { cause });
    this.name = "BindError";
    this.flag = flag;
    this.address = address;
    this.reason = reason;
  }
}

/**
 * The flags contradict what the data directory holds (another node id,
 * another founding membership, another cluster): the node refuses to start
 * rather than guess (db/README.md, "Flags and data").
 */
export class IdentityConflictError extends Error {
  /** The flag that contradicts the data. */
  readonly flag: string;
  /** `message`: the whole line, saying what the data dir holds and what to do. */
  constructor(flag: string, message: string) {
    super(message);
    this.name = "IdentityConflictError";
    this.flag = flag;
  }
}

/** The OS reason of a Deno error, without its "(os error N)" and path suffix. */
export function osCause(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const plain = msg.replace(/ \(os error \d+\).*$/s, "");
  return plain.charAt(0).toLowerCase() + plain.slice(1);
}

function bindCause(e: unknown): string {
  // Deno's errors by class; grpc-js's by the errno in their text.
  const text = e instanceof Error ? e.message : String(e);
  if (e instanceof Deno.errors.AddrInUse || /EADDRINUSE/.test(text)) return "it is in use";
  if (e instanceof Deno.errors.AddrNotAvailable || /EADDRNOTAVAIL/.test(text)) {
    return "no interface of this host has that address";
  }
  if (e instanceof Deno.errors.PermissionDenied || /EACCES/.test(text)) {
    return "this user may not bind it";
  }
  return osCause(e);
}

/**
 * A write whose outcome this node cannot tell: it may or may not have
 * applied. Answered UNAVAILABLE without `x-cassem-retryable`, so that no
 * client takes it for "not applied" and applies it twice.
 */
export class WriteOutcomeUnknownError extends Error {
  /** `why` completes "Cannot confirm the write as ...". */
  constructor(why: string) {
    super(`Cannot confirm the write as ${why}: its outcome is unknown and it may have applied`);
    this.name = "WriteOutcomeUnknownError";
  }
}

/**
 * A write that applied, whose result the request table no longer holds (it
 * was pushed out before the proposer read it). Answered UNAVAILABLE without
 * `x-cassem-retryable`: retrying would apply it twice.
 */
export class WriteResultLostError extends Error {
  /** The log index the write applied at. */
  readonly index: number;
  constructor(index: number) {
    super(
      `Cannot answer with the write's result as it applied at index ${index} but its result is no longer recorded: read the keys to see it`,
    );
    this.name = "WriteResultLostError";
    this.index = index;
  }
}

/**
 * This node applied its own removal from the cluster: it serves no watch
 * (its state no longer moves). Answered UNAVAILABLE; clients go elsewhere.
 */
export class NodeRemovedError extends Error {
  constructor(id: number) {
    super(
      `Cannot serve the watch as this node (id ${id}) was removed from the cluster: watch another node`,
    );
    this.name = "NodeRemovedError";
  }
}

/**
 * This node has had no leader for a long while: cut off from the others, or
 * removed from the cluster without having learnt it (a removed node stops
 * hearing from the leader, which need not tell it). Its state does not move,
 * so it serves no watch. Answered UNAVAILABLE; clients go elsewhere.
 */
export class WatchLeaderlessError extends Error {
  constructor(ms: number) {
    super(
      `Cannot serve the watch as this node has had no leader for ${ms} ms (cut off from the cluster, or removed from it): watch another node`,
    );
    this.name = "WatchLeaderlessError";
  }
}

/**
 * This node is stopping: its watches end. Answered UNAVAILABLE; clients
 * resume on another node after the last revision they received.
 */
export class NodeStoppingError extends Error {
  constructor() {
    super(
      "Cannot serve the watch as this node is stopping: resume on another node with start_revision one after the last revision received",
    );
    this.name = "NodeStoppingError";
  }
}

/**
 * A linearizable read could not settle which elements had expired: this
 * node's clock did not move past the read's uncertainty window (it went
 * back?). Answered UNAVAILABLE, retryable: a read changes nothing.
 */
export class ReadClockError extends Error {
  constructor(start: number) {
    super(
      `Cannot serve the read as this node's clock did not move past its expiry uncertainty window: the read started at ${start} and the clock reads ${Date.now()}`,
    );
    this.name = "ReadClockError";
  }
}
