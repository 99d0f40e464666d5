/**
 * Two processes on one data dir (issue 7 §1): a second cassemdb started on
 * the dir of a running node, with ports of its own, refuses at once, naming
 * the dir and the running node's PID; the first keeps serving, and after a
 * restart every write it acknowledged is still there.
 */

import assert from "node:assert/strict";
import { sleep, waitFor } from "../support/procs.ts";
import { withCluster } from "./_cluster.ts";
import { scenario } from "./_scenario.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

scenario(
  import.meta.url,
  "a second cassemdb on a locked data dir refuses at once, naming the dir and the PID",
  async () => {
    await withCluster({ name: "data dir lock" }, async (c) => {
      const [first] = await c.startFounders(1);
      const db = c.client({ endpoints: [first!.clientAddr] });
      const acked = new Map<string, string>();
      const write = async (i: number) => {
        const key = `lock/k${i}`;
        await db.set(key, enc.encode(`v${i}`), { overwrite: true });
        acked.set(key, `v${i}`);
      };
      for (let i = 0; i < 20; i++) await write(i);

      const t0 = Date.now();
      const second = c.spawn({
        dir: first!.dir,
        args: () => ["--id", "1"],
        mayExit: true,
      });
      // "At once": it neither waits for the lock nor tries to elect itself.
      const status = await Promise.race([second.exited!, sleep(30_000)]);
      const tookMs = Date.now() - t0;
      const out = c.linesOf(second).join("\n");
      assert.ok(status, `the second process still runs after ${tookMs} ms:\n${out}`);
      c.note(`the second process exited with code ${status.code} after ${tookMs} ms`);
      assert.equal(status.code, 1, out);
      assert.match(
        out,
        new RegExp(`Cannot use the data dir ${first!.dir} as process ${first!.pid}`),
      );
      assert.doesNotMatch(out, /cassemdb node started/);

      // The first node still serves, and its writes survive a restart.
      for (let i = 20; i < 40; i++) await write(i);
      await c.terminate(first!);
      await c.restart(first!);
      await c.waitLeader({ among: [first!] });
      await waitFor("every acknowledged write after the restart", async () => {
        const got = await db.getMany([...acked.keys()]);
        return got.entities.length === acked.size ? got : undefined;
      }, { timeoutMs: 20_000 }).then((got) => {
        for (const e of got.entities) assert.equal(dec.decode(e.val), acked.get(e.key));
      });
    });
  },
);

scenario(
  import.meta.url,
  "an unusable data dir stops a node with one line naming the path and the cause",
  async () => {
    await withCluster({ name: "unusable data dir" }, async (c) => {
      const file = `${c.root}/a-file`;
      await Deno.writeTextFile(file, "");
      const broken = `${c.root}/broken`;
      await Deno.mkdir(broken);
      await Deno.writeTextFile(`${broken}/node.json`, "garbage\n");
      for (
        const [dir, text] of [
          [file, `Cannot create the data dir ${file} as file exists`],
          [`${file}/sub`, `Cannot create the data dir ${file}/sub as not a directory`],
          [broken, `Cannot use ${broken}/node.json as it is not a node record: `],
        ]
      ) {
        const p = c.spawn({ dir, args: () => [], mayExit: true });
        const status = await Promise.race([p.exited!, sleep(30_000)]);
        const out = c.linesOf(p).filter((l) => !/ (started|exited): /.test(l));
        assert.ok(status, `the node on ${dir} still runs:\n${out.join("\n")}`);
        assert.equal(status.code, 1, out.join("\n"));
        assert.equal(out.length, 1, `one line: ${out.join("\n")}`);
        assert.ok(out[0]!.includes(`ERROR cassemdb[1] ${text}`), out[0]!);
      }
    });
  },
);
