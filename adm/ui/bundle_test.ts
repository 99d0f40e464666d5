import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { bundleClientScript, BundleError } from "./bundle.ts";

Deno.test("bundleClientScript serves a prebuilt script as it is, and refuses an unreadable one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cassem-bundle-" });
  try {
    const file = `${dir}/client.bundle.js`;
    await Deno.writeTextFile(file, "console.log('prebuilt');\n");
    assert.equal(
      await bundleClientScript(1_000, pathToFileURL(file)),
      "console.log('prebuilt');\n",
    );
    // A directory where the file should be: said, not silently rebuilt.
    await assert.rejects(
      bundleClientScript(1_000, pathToFileURL(dir)),
      (e: unknown) => e instanceof BundleError && e.message.includes(dir),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
