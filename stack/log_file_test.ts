import assert from "node:assert/strict";
import { LogFile } from "./log_file.ts";

Deno.test("LogFile appends lines and rotates to .1 past its size, keeping two files", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/svc.log`;
  try {
    await Deno.writeTextFile(path, "old\n");
    const log = LogFile.open(path, 20);
    log.write("0123456789"); // 4 + 11 = 15 bytes: fits
    log.write("abcdefghij"); // would make 26: rotates first
    log.write("x");
    log.close();
    assert.equal(await Deno.readTextFile(`${path}.1`), "old\n0123456789\n");
    assert.equal(await Deno.readTextFile(path), "abcdefghij\nx\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
