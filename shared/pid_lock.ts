/**
 * An exclusive lock on a file that names its holder: `flock` through
 * `Deno.FsFile.tryLock` (released by the kernel when the process dies, so
 * never stale), with the holder's PID written in the file for the message
 * of whoever finds it taken. cassemdb's data-dir lock and the stack's lock
 * are both this.
 *
 * @module
 */

/** A lock taken; {@linkcode PidLock.release} drops it. */
export interface PidLock {
  /** Releases the lock (closing the file); safe to call twice. */
  release(): void;
}

/** Which step of taking a lock failed, and why (`cause`). */
export class PidLockError extends Error {
  /** The lock file. */
  readonly path: string;
  /** What could not be done: "open the lock file", "lock" or "write". */
  readonly step: string;
  /** The file system's error. */
  constructor(path: string, step: string, cause: unknown) {
    super(`Cannot ${step} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = "PidLockError";
    this.path = path;
    this.step = step;
  }
}

/**
 * Takes the lock on `path` (creating the file) without waiting, and writes
 * this process's PID in it. Answers the lock, or, when another process (or
 * another open in this one) holds it, `{ heldBy }` with the PID the file
 * names (undefined when it names none).
 * @throws {PidLockError} when the file cannot be opened, locked or written.
 */
export async function tryPidLock(
  path: string,
): Promise<{ lock: PidLock } | { heldBy: number | undefined }> {
  let file: Deno.FsFile;
  try {
    // No truncate: the holder's PID must survive our attempt.
    file = await Deno.open(path, { read: true, write: true, create: true });
  } catch (e) {
    throw new PidLockError(path, "open the lock file", e);
  }
  let locked: boolean;
  try {
    locked = await file.tryLock(true);
  } catch (e) {
    file.close();
    throw new PidLockError(path, "lock", e);
  }
  if (!locked) {
    file.close();
    return { heldBy: await pidIn(path) };
  }
  try {
    await file.truncate(0);
    await file.write(new TextEncoder().encode(`${Deno.pid}\n`));
  } catch (e) {
    file.close();
    throw new PidLockError(path, "write", e);
  }
  let released = false;
  return {
    lock: {
      release() {
        if (released) return;
        released = true;
        file.close();
      },
    },
  };
}

/** The PID written in the lock file `path`, if it names one. */
export async function pidIn(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await Deno.readTextFile(path)).trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the lock on `path` is free right now (also when there is no such
 * file yet); when it is held, the PID the file names. Takes and drops the
 * lock to find out, so it never blocks.
 */
export async function probePidLock(
  path: string,
): Promise<{ free: true } | { free: false; pid: number | undefined }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch {
    return { free: true }; // no lock file: nobody ever held it
  }
  try {
    if (await file.tryLock(true)) return { free: true };
    return { free: false, pid: await pidIn(path) };
  } finally {
    file.close(); // drops the probe's lock too
  }
}
