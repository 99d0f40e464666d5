import assert from "node:assert/strict";
import { parseKeyring } from "../shared/config/mod.ts";
import { ensureSecretKey, lockStack, settle, writeRecord } from "./data_dir.ts";
import { StackError, StackUsageError } from "./errors.ts";

Deno.test("settle takes the flags on a fresh dir, and the record's values on a used one", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/stack.json`;
  try {
    assert.deepEqual(await settle(file, dir, { portBase: undefined, cluster: undefined }), {
      portBase: 7000,
      cluster: 1,
      fresh: true,
    });
    assert.deepEqual(await settle(file, dir, { portBase: 8000, cluster: 3 }), {
      portBase: 8000,
      cluster: 3,
      fresh: true,
    });
    await writeRecord(file, { portBase: 8000, cluster: 3 });
    assert.deepEqual(await settle(file, dir, { portBase: undefined, cluster: undefined }), {
      portBase: 8000,
      cluster: 3,
      fresh: false,
    });
    assert.deepEqual(await settle(file, dir, { portBase: 8000, cluster: 3 }), {
      portBase: 8000,
      cluster: 3,
      fresh: false,
    });
    await assert.rejects(
      settle(file, dir, { portBase: 7000, cluster: undefined }),
      (e) =>
        e instanceof StackUsageError &&
        e.message.startsWith(
          `Cannot start the stack on --port-base 7000 as ${dir} was made with --port-base 8000`,
        ),
    );
    await assert.rejects(
      settle(file, dir, { portBase: undefined, cluster: 1 }),
      (e) =>
        e instanceof StackUsageError &&
        e.message.startsWith(
          `Cannot start the stack with --cluster 1 as ${dir} holds a cassemdb of 3 nodes`,
        ),
    );
    await Deno.writeTextFile(file, "{not json");
    await assert.rejects(
      settle(file, dir, { portBase: undefined, cluster: undefined }),
      (e) =>
        e instanceof StackError &&
        e.message.startsWith(`Cannot read ${file} as it is not a stack record`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lockStack refuses a second holder, naming the PID that holds it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lock = await lockStack(`${dir}/stack.lock`, dir);
    await assert.rejects(
      lockStack(`${dir}/stack.lock`, dir),
      (e) =>
        e instanceof StackError &&
        e.message ===
          `Cannot start the stack on --data ${dir} as process ${Deno.pid} runs a stack on it (${dir}/stack.lock): stop that one, or use another --data`,
    );
    lock.release();
    (await lockStack(`${dir}/stack.lock`, dir)).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ensureSecretKey writes a keyring readable only by its owner, once", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/secret.key`;
  try {
    assert.equal(await ensureSecretKey(file), true);
    const first = await Deno.readTextFile(file);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const ring = await parseKeyring(first, file);
    assert.deepEqual(ring.ids, ["k1"]);
    assert.equal(await ensureSecretKey(file), false);
    assert.equal(await Deno.readTextFile(file), first);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
