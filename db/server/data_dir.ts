/**
 * The exclusive lock on a node's data directory: `<dir>/LOCK`, held with an
 * advisory `flock` (Deno's `FsFile.tryLock`) for as long as the node runs,
 * with the holder's PID written in it. Two processes on one directory would
 * each elect themselves and acknowledge writes the other overwrites; the
 * second one now refuses at once, naming the directory and the PID.
 *
 * The kernel releases the lock when its process dies, however it dies
 * (SIGKILL included): a stale LOCK file with a dead PID in it locks nothing.
 * The lock is per open file, so a second open in the same process is refused
 * too.
 *
 * @module
 */

import { PidLockError, probePidLock, tryPidLock } from "../../shared/pid_lock.ts";
import { DataDirError, DataDirLockedError } from "./errors.ts";

/** The lock file's name inside a data directory. */
export const LOCK_FILE = "LOCK";

/** A held data-directory lock. */
export interface DataDirLock {
  /** The directory locked. */
  readonly dir: string;
  /** Releases the lock (closing the file); safe to call twice. */
  release(): void;
}

/**
 * Creates `dir` if needed and takes its lock without waiting.
 * @throws {DataDirLockedError} when another process (or another open in this one) holds it.
 * @throws {DataDirError} when the directory or the lock file cannot be created, opened or written.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new DataDirError(dir, "create the data dir", e);
  }
  const path = `${dir}/${LOCK_FILE}`;
  let taken;
  try {
    taken = await tryPidLock(path);
  } catch (e) {
    if (e instanceof PidLockError) throw new DataDirError(path, e.step, e.cause);
    throw e;
  }
  if ("heldBy" in taken) throw new DataDirLockedError(dir, path, taken.heldBy);
  return { dir, release: taken.lock.release };
}

/**
 * Whether `dir`'s lock is free right now (also when there is no dir or lock
 * file yet); when it is held, the PID the lock file names. Takes and drops
 * the lock to find out, so it never blocks.
 */
export function probeDataDirLock(
  dir: string,
): Promise<{ free: true } | { free: false; pid: number | undefined }> {
  return probePidLock(`${dir}/${LOCK_FILE}`);
}
