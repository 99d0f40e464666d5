/**
 * The stack's own files in its data dir: `stack.json`, which remembers the
 * port base and the number of cassemdb nodes the dir was made with (its
 * nodes know their peers by those ports, so a restart must use them again),
 * the lock that keeps a second `deno task start` off a running stack's dir,
 * and the secret keyring made on the first start.
 *
 * @module
 */

import { newSecretKey } from "../shared/config/mod.ts";
import { type PidLock, PidLockError, tryPidLock } from "../shared/pid_lock.ts";
import { DEFAULT_PORT_BASE } from "./flags.ts";
import { StackError, StackUsageError } from "./errors.ts";

/** What `stack.json` holds. */
export interface StackRecord {
  /** The `--port-base` the dir was made with. */
  portBase: number;
  /** The number of cassemdb nodes (`--cluster`). */
  cluster: number;
}

/**
 * The settings to start with: the flags given, else what `recordFile`
 * remembers, else the defaults.
 * @throws {StackUsageError} when a flag given contradicts the record, saying what to do.
 * @throws {StackError} when the record cannot be read.
 */
export async function settle(
  recordFile: string,
  dataRoot: string,
  given: { portBase: number | undefined; cluster: number | undefined },
): Promise<StackRecord & { fresh: boolean }> {
  let text: string | undefined;
  try {
    text = await Deno.readTextFile(recordFile);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) {
      throw new StackError(`Cannot read ${recordFile} as ${(e as Error).message}`);
    }
  }
  if (text === undefined) {
    return {
      portBase: given.portBase ?? DEFAULT_PORT_BASE,
      cluster: given.cluster ?? 1,
      fresh: true,
    };
  }
  let rec: StackRecord;
  try {
    const raw = JSON.parse(text);
    if (!Number.isInteger(raw?.portBase) || !Number.isInteger(raw?.cluster)) {
      throw new Error("it lacks portBase or cluster");
    }
    rec = { portBase: raw.portBase, cluster: raw.cluster };
  } catch (e) {
    throw new StackError(
      `Cannot read ${recordFile} as it is not a stack record (${
        (e as Error).message.replace(/\s*\n\s*/g, " ")
      }): remove it to start the stack with the flags given`,
    );
  }
  if (given.portBase !== undefined && given.portBase !== rec.portBase) {
    throw new StackUsageError(
      `Cannot start the stack on --port-base ${given.portBase} as ${dataRoot} was made with --port-base ${rec.portBase} (its cassemdb nodes know each other by those ports): leave --port-base out, or use another --data`,
    );
  }
  if (given.cluster !== undefined && given.cluster !== rec.cluster) {
    throw new StackUsageError(
      `Cannot start the stack with --cluster ${given.cluster} as ${dataRoot} holds a cassemdb of ${rec.cluster} node${
        rec.cluster === 1 ? "" : "s"
      }: leave --cluster out, use another --data, or change the members with cassemctl db add-node / remove-node`,
    );
  }
  return { ...rec, fresh: false };
}

/** Writes `rec` to `recordFile`. */
export async function writeRecord(recordFile: string, rec: StackRecord): Promise<void> {
  await Deno.writeTextFile(
    recordFile,
    JSON.stringify({ portBase: rec.portBase, cluster: rec.cluster }, null, 2) + "\n",
  );
}

/** A held stack lock; the kernel drops it when the process dies, however it dies. */
export type StackLock = PidLock;

/**
 * Takes the lock on `lockFile` without waiting, writing this PID in it.
 * @throws {StackError} when another process holds it, naming that process and the dir.
 */
export async function lockStack(lockFile: string, dataRoot: string): Promise<StackLock> {
  let taken;
  try {
    taken = await tryPidLock(lockFile);
  } catch (e) {
    if (!(e instanceof PidLockError)) throw e;
    throw new StackError(
      `Cannot use --data ${dataRoot} as ${lockFile} cannot be locked (could not ${e.step}): ${
        e.cause instanceof Error ? e.cause.message : String(e.cause)
      }`,
    );
  }
  if ("heldBy" in taken) {
    throw new StackError(
      `Cannot start the stack on --data ${dataRoot} as ${
        taken.heldBy === undefined ? "another process" : `process ${taken.heldBy}`
      } runs a stack on it (${lockFile}): stop that one, or use another --data`,
    );
  }
  return taken.lock;
}

/**
 * Creates `file` (mode 0600) holding a new secret keyring unless it exists,
 * so that secret elements work from the first start. Answers whether it
 * made one.
 */
export async function ensureSecretKey(file: string): Promise<boolean> {
  // No commas in the comments: the keyring's items are split at commas too.
  const text = `# The keyring that seals cassem's secret elements (made by deno task start).
# Keep it private and back it up with the data: without it secret versions cannot be read.
# To rotate: put a new id:key line first (docs/operating.md).
k1:${newSecretKey()}
`;
  try {
    await Deno.writeTextFile(file, text, { createNew: true, mode: 0o600 });
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return false;
    throw new StackError(`Cannot write the secret keyring ${file} as ${(e as Error).message}`);
  }
}
