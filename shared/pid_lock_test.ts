import assert from "node:assert/strict";
import { pidIn, PidLockError, tryPidLock } from "./pid_lock.ts";

Deno.test("tryPidLock: one holder at a time, named by its PID; released twice safely; a bad path says which step", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cassem-pidlock-" });
  try {
    const path = `${dir}/lock`;
    const first = await tryPidLock(path);
    assert.ok("lock" in first);
    assert.equal(await pidIn(path), Deno.pid);
    assert.deepEqual(await tryPidLock(path), { heldBy: Deno.pid }, "a second open is refused");
    assert.equal(await pidIn(path), Deno.pid, "the refused try left the holder's PID");
    first.lock.release();
    first.lock.release();
    const again = await tryPidLock(path);
    assert.ok("lock" in again, "free once released");
    again.lock.release();
    await assert.rejects(
      tryPidLock(`${dir}/missing/lock`),
      (e: unknown) => e instanceof PidLockError && e.step === "open the lock file",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
