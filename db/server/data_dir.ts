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
  let file: Deno.FsFile;
  try {
    // No truncate: the holder's PID must survive our attempt.
    file = await Deno.open(path, { read: true, write: true, create: true });
  } catch (e) {
    throw new DataDirError(path, "open the lock file", e);
  }
  let locked: boolean;
  try {
    locked = await file.tryLock(true);
  } catch (e) {
    file.close();
    throw new DataDirError(path, "lock", e);
  }
  if (!locked) {
    file.close();
    throw new DataDirLockedError(dir, path, await lockHolder(dir));
  }
  try {
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (e) {
    file.close();
    throw new DataDirError(path, "write", e);
  }
  let released = false;
  return {
    dir,
    release() {
      if (released) return;
      released = true;
      file.close();
    },
  };
}

/**
 * Whether `dir`'s lock is free right now (also when there is no dir or lock
 * file yet); when it is held, the PID the lock file names. Takes and drops
 * the lock to find out, so it never blocks.
 */
export async function probeDataDirLock(
  dir: string,
): Promise<{ free: true } | { free: false; pid: number | undefined }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(`${dir}/${LOCK_FILE}`, { read: true });
  } catch {
    return { free: true }; // no lock file: nobody ever held it
  }
  try {
    if (await file.tryLock(true)) return { free: true };
    return { free: false, pid: await lockHolder(dir) };
  } finally {
    file.close(); // drops the probe's lock too
  }
}

/** The PID written in `dir`'s lock file, if it holds one. */
async function lockHolder(dir: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(`${dir}/${LOCK_FILE}`)).trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
