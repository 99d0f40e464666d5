import assert from "node:assert/strict";
import { configPath, loadConfig, normalizeServer, saveConfig } from "./config.ts";
import { CtlError } from "./errors.ts";

Deno.test("configPath: CASSEM_CONFIG, else XDG_CONFIG_HOME, else ~/.config", () => {
  const env = (m: Record<string, string>) => (n: string) => m[n];
  assert.equal(configPath(env({ CASSEM_CONFIG: "/c.json", HOME: "/h" })), "/c.json");
  assert.equal(configPath(env({ XDG_CONFIG_HOME: "/x", HOME: "/h" })), "/x/cassem/ctl.json");
  assert.equal(configPath(env({ HOME: "/h" })), "/h/.config/cassem/ctl.json");
  assert.throws(() => configPath(env({})), CtlError);
});

Deno.test("saveConfig writes mode 0600 in a 0700 dir; loadConfig reads it back and warns when others may read it", async () => {
  const root = await Deno.makeTempDir();
  const path = `${root}/sub/ctl.json`;
  try {
    assert.deepEqual(await loadConfig(path), { config: { servers: {} }, warnings: [] });
    const config = {
      current: "http://a:1",
      servers: {
        "http://a:1": { account: "admin", token: "tok", expiresAt: "2030-01-01T00:00:00Z" },
      },
    };
    await saveConfig(path, config);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${root}/sub`)).mode! & 0o777, 0o700);
    assert.deepEqual(await loadConfig(path), { config, warnings: [] });
    await Deno.chmod(path, 0o640);
    assert.match((await loadConfig(path)).warnings[0]!, /may be read by others \(mode 640\)/);
    await saveConfig(path, config); // rewriting restores 0600
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    await Deno.writeTextFile(path, "{oops");
    await assert.rejects(loadConfig(path), /Cannot read the config file .* as it is not JSON/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("normalizeServer adds http:// and drops trailing slashes", () => {
  assert.equal(normalizeServer("127.0.0.1:7061/"), "http://127.0.0.1:7061");
  assert.equal(normalizeServer("https://adm.example.com"), "https://adm.example.com");
});
