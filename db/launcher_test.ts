import assert from "node:assert/strict";
import { freePortBlock } from "../tests/support/procs.ts";
import { checkLocalDataDirs, checkLocalPorts, LauncherError, localFounders } from "./launcher.ts";
import { lockDataDir } from "./server/data_dir.ts";
import { clusterIdOf, writeNodeRecord } from "./server/identity.ts";

Deno.test("checkLocalDataDirs gives fresh dirs a new random token, and existing ones theirs", async () => {
  const root = await Deno.makeTempDir();
  try {
    const a = await checkLocalDataDirs(3, root, 7021);
    const b = await checkLocalDataDirs(3, root, 7021);
    assert.match(a, /^[0-9a-f]{8}$/);
    assert.notEqual(a, b);
    const founders = localFounders(3, 7021);
    const clusterId = clusterIdOf(founders, "tok");
    for (const id of [1, 3]) {
      await Deno.mkdir(`${root}/node-${id}`, { recursive: true });
      await writeNodeRecord(`${root}/node-${id}`, { id, clusterId, founders, token: "tok" });
    }
    assert.equal(await checkLocalDataDirs(3, root, 7021), "tok");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkLocalDataDirs refuses a dir of another cluster, or one in use, saying what to do", async () => {
  const root = await Deno.makeTempDir();
  try {
    // `deno task start`'s one-node cluster in node-1.
    const single = localFounders(1, 7021);
    await Deno.mkdir(`${root}/node-1`);
    await writeNodeRecord(`${root}/node-1`, {
      id: 1,
      clusterId: clusterIdOf(single, ""),
      founders: single,
      token: "",
    });
    await assert.rejects(
      checkLocalDataDirs(3, root, 7021),
      (e) =>
        e instanceof LauncherError &&
        e.message.startsWith(
          `Cannot start a local cluster of 3 nodes as ${root}/node-1 holds node 1 of another cluster`,
        ) &&
        e.message.endsWith(
          `use another --data-root, or remove ${root} to start afresh (its data is lost)`,
        ),
    );
    // The same dirs, launched with another --cluster-port: another membership too.
    const three = localFounders(3, 7021);
    for (const id of [1, 2, 3]) {
      await Deno.mkdir(`${root}/node-${id}`, { recursive: true });
      await writeNodeRecord(`${root}/node-${id}`, {
        id,
        clusterId: clusterIdOf(three, "t"),
        founders: three,
        token: "t",
      });
    }
    assert.equal(await checkLocalDataDirs(3, root, 7021), "t");
    await assert.rejects(checkLocalDataDirs(3, root, 8021), LauncherError);
    await assert.rejects(checkLocalDataDirs(2, root, 7021), LauncherError);
    const lock = await lockDataDir(`${root}/node-2`);
    try {
      await assert.rejects(
        checkLocalDataDirs(3, root, 7021),
        (e) =>
          e instanceof LauncherError &&
          e.message.includes(`${root}/node-2 is in use by process ${Deno.pid}`),
      );
    } finally {
      lock.release();
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("checkLocalPorts names the first port in use, its node and its role", () => {
  const port = freePortBlock([0, 1, 2, 10, 11, 12]);
  checkLocalPorts(2, port);
  const held = Deno.listen({ hostname: "127.0.0.1", port: port + 12 });
  try {
    assert.throws(
      () => checkLocalPorts(2, port),
      (e) =>
        e instanceof LauncherError &&
        e.message ===
          `Cannot start a local cluster as the debug HTTP port of node 2, 127.0.0.1:${
            port + 12
          } (--cluster-port ${port}), cannot be bound: it is in use; stop what listens there, or pick another --cluster-port`,
    );
  } finally {
    held.close();
  }
});
