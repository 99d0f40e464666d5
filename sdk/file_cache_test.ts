import assert from "node:assert/strict";
import { fileCache } from "./file_cache.ts";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "cassem_sdk_cache_" });
}

Deno.test("fileCache saves and loads a text, creating the directory, as a 0600 file", async () => {
  const root = await tempDir();
  try {
    const store = fileCache(`${root}/a/b/`);
    assert.equal(await store.load("x.json"), undefined);
    await store.save("x.json", "one");
    assert.equal(await store.load("x.json"), "one");
    await store.save("x.json", "two");
    assert.equal(await store.load("x.json"), "two");
    assert.equal((await Deno.stat(`${root}/a/b/x.json`)).mode! & 0o777, 0o600);
    const names = [...Deno.readDirSync(`${root}/a/b`)].map((e) => e.name);
    assert.deepEqual(names, ["x.json"], "no temporary file is left behind");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fileCache saves atomically: a reader polling during 200 overlapping saves only ever sees a whole text", async () => {
  const root = await tempDir();
  try {
    const store = fileCache(root);
    // Texts large enough that a plain write would be seen half done.
    const text = (i: number) => JSON.stringify({ i, pad: String(i).repeat(20_000) });
    await store.save("c.json", text(0));
    let reads = 0;
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const got = await store.load("c.json");
        assert.ok(got !== undefined, "the file never disappears");
        const parsed = JSON.parse(got!) as { i: number; pad: string };
        assert.equal(parsed.pad, String(parsed.i).repeat(20_000), "never a mix of two texts");
        reads++;
      }
    })();
    const saves = [];
    for (let i = 1; i <= 200; i++) {
      saves.push(store.save("c.json", text(i)));
      if (i % 20 === 0) await Promise.all(saves.splice(0));
    }
    await Promise.all(saves);
    writing = false;
    await reader;
    assert.ok(reads > 0);
    const names = [...Deno.readDirSync(root)].map((e) => e.name);
    assert.deepEqual(names, ["c.json"], "no temporary file is left behind");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fileCache never reads the temporary file of a save that crashed before its rename", async () => {
  const root = await tempDir();
  try {
    const store = fileCache(root);
    await store.save("c.json", "good");
    await Deno.writeTextFile(`${root}/c.json.deadbeef.tmp`, "torn{");
    assert.equal(await store.load("c.json"), "good");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("fileCache refuses an empty directory and reports an unreadable one", async () => {
  assert.throws(() => fileCache(""), /cacheDir must be a directory path: current value is ""/);
  const root = await tempDir();
  try {
    await Deno.writeTextFile(`${root}/file`, "");
    const store = fileCache(`${root}/file`);
    await assert.rejects(() => store.save("c.json", "x"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
