import assert from "node:assert/strict";
import { lockDataDir, probeDataDirLock } from "./data_dir.ts";
import { DataDirError, DataDirLockedError } from "./errors.ts";

Deno.test("lockDataDir holds the dir until released and names the holder's PID to a second taker", async () => {
  const root = await Deno.makeTempDir();
  const dir = `${root}/a/b`;
  try {
    assert.deepEqual(await probeDataDirLock(dir), { free: true });
    const lock = await lockDataDir(dir);
    assert.equal((await Deno.readTextFile(`${dir}/LOCK`)).trim(), String(Deno.pid));
    await assert.rejects(
      lockDataDir(dir),
      (e) =>
        e instanceof DataDirLockedError && e.pid === Deno.pid &&
        e.message.startsWith(
          `Cannot use the data dir ${dir} as process ${Deno.pid} holds its lock`,
        ),
    );
    assert.deepEqual(await probeDataDirLock(dir), { free: false, pid: Deno.pid });
    // The refused attempts left the holder's PID in place.
    assert.equal((await Deno.readTextFile(`${dir}/LOCK`)).trim(), String(Deno.pid));
    lock.release();
    lock.release();
    assert.deepEqual(await probeDataDirLock(dir), { free: true });
    (await lockDataDir(dir)).release();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("lockDataDir releases with its process, however it dies", async () => {
  const root = await Deno.makeTempDir();
  try {
    // The file stays referenced from globalThis: nothing may close it but the process's death.
    const code = `const f = await Deno.open("${root}/LOCK", { write: true, create: true });
      await f.lock(true); await f.write(new TextEncoder().encode(Deno.pid + "\\n"));
      globalThis.held = f; console.log("locked"); setInterval(() => {}, 60_000);`;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.match((await reader.read()).value ?? "", /locked/);
    await assert.rejects(
      lockDataDir(root),
      (e) => e instanceof DataDirLockedError && e.pid === child.pid,
    );
    child.kill("SIGKILL");
    await child.status;
    await reader.cancel();
    (await lockDataDir(root)).release();
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("lockDataDir names the path and the OS cause when the dir cannot be made", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${root}/file`, "");
    await assert.rejects(
      lockDataDir(`${root}/file/sub`),
      (e) =>
        e instanceof DataDirError && e.path === `${root}/file/sub` &&
        e.message === `Cannot create the data dir ${root}/file/sub as not a directory`,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
