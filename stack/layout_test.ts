import assert from "node:assert/strict";
import { localNodeArgs } from "../db/mod.ts";
import { stackLayout } from "./layout.ts";

Deno.test("stackLayout puts the default stack on the ports the README names", () => {
  const l = stackLayout("/d", 7000, 1);
  assert.equal(l.adm, "127.0.0.1:7061");
  assert.equal(l.agentHttp, "127.0.0.1:7081");
  assert.equal(l.agentGrpc, "127.0.0.1:7082");
  assert.deepEqual(l.db, [{
    id: 1,
    client: "127.0.0.1:7021",
    peer: "127.0.0.1:7022",
    http: "127.0.0.1:7023",
    dir: "/d/node-1",
  }]);
  assert.equal(l.secretKeyFile, "/d/secret.key");
  assert.equal(l.logsDir, "/d/logs");
});

Deno.test("stackLayout's cassemdb nodes are those of deno task db --cluster on port base + 21", () => {
  const l = stackLayout("/d", 8000, 4);
  for (const node of l.db) {
    const args = localNodeArgs(node.id, 4, "/d", [], l.dbClientPort, "t");
    const flag = (f: string) => args[args.indexOf(f) + 1];
    assert.equal(flag("--listen"), node.client);
    assert.equal(flag("--peer-listen"), node.peer);
    assert.equal(flag("--http"), node.http);
    assert.equal(flag("--dir"), node.dir);
  }
  // Every port of the largest stack is distinct.
  const ports = [
    ...l.db.flatMap((n) => [n.client, n.peer, n.http]),
    l.adm,
    l.agentHttp,
    l.agentGrpc,
  ];
  assert.equal(new Set(ports).size, ports.length);
  assert.equal(l.db[3]!.http, "127.0.0.1:8053");
});
