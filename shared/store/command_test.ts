import assert from "node:assert/strict";
import { type Command, decodeCommand, encodeCommand } from "./command.ts";
import { dirOp, setOp, T0, txn, unsetOp } from "./_test_util.ts";
import { MAX_VALUE_BYTES } from "./keys.ts";

const encoder = new TextEncoder();

/** An encoded command with a hand-written header and value bytes. */
function raw(header: unknown, values = new Uint8Array(), magic = 0x31444d43): Uint8Array {
  const json = encoder.encode(typeof header === "string" ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + values.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic, true);
  view.setUint32(4, json.byteLength, true);
  out.set(json, 8);
  out.set(values, 8 + json.byteLength);
  return out;
}

function filled(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

Deno.test("encodeCommand() and decodeCommand() round-trip a txn with compares, sets and unsets", () => {
  const cmd: Command = txn([
    setOp("a/b", "hello", { ttl: 30, overwrite: false, condition: { mustNotExist: true } }),
    dirOp("a/d"),
    unsetOp("a/c", { isDir: true, condition: { modRevision: 12 } }),
    setOp("a/e", "", { condition: { mustExist: true } }),
    setOp("a/f", "ünïcode ✓"),
  ], {
    time: T0 + 5,
    compares: [{ key: "x", condition: { modRevision: 0 } }, { key: "y" }],
  });
  assert.deepEqual(decodeCommand(encodeCommand(cmd)), cmd);
});

Deno.test("encodeCommand() and decodeCommand() round-trip expire and members commands", () => {
  const cmds: Command[] = [
    { kind: "expire", time: T0, keys: [{ key: "a", modRevision: 3 }, { key: "b" }] },
    { kind: "expire", time: T0, keys: [{ key: "a", force: true }] },
    { kind: "expire", time: 0, keys: [] },
    {
      kind: "members",
      members: [{ id: 1, peerAddr: "10.0.0.1:7000", clientAddr: "10.0.0.1:2379" }],
    },
  ];
  for (const cmd of cmds) assert.deepEqual(decodeCommand(encodeCommand(cmd)), cmd);
});

Deno.test("encodeCommand() stores values raw after the header, and decodeCommand() does not copy them", () => {
  const big = filled(MAX_VALUE_BYTES, 1);
  const cmd = txn([setOp("a", "x"), { ...setOp("b"), val: big }, setOp("c", "yz")]);
  const data = encodeCommand(cmd);
  const headerLength = new DataView(data.buffer).getUint32(4, true);
  // 8 prefix bytes + header + exactly the value bytes: no base64, no framing per value.
  assert.equal(data.byteLength, 8 + headerLength + 1 + MAX_VALUE_BYTES + 2);
  const back = decodeCommand(data) as typeof cmd;
  assert.deepEqual(back, cmd);
  const val = back.ops[1]!.op === "set" ? back.ops[1]!.val : undefined;
  assert.equal(val?.buffer, data.buffer, "a view into the entry data");
  assert.equal(val?.byteLength, MAX_VALUE_BYTES);
});

Deno.test("encodeCommand() and decodeCommand() round-trip 64 values of 256 KiB", () => {
  const ops = Array.from(
    { length: 64 },
    (_, i) => ({ ...setOp(`k/${i}`), val: filled(MAX_VALUE_BYTES, i) }),
  );
  const cmd = txn(ops);
  const data = encodeCommand(cmd);
  assert.ok(data.byteLength < 64 * MAX_VALUE_BYTES + 8 * 1024);
  assert.deepEqual(decodeCommand(data), cmd);
});

Deno.test("decodeCommand() rejects short data, a wrong magic and truncated headers", () => {
  assert.throws(() => decodeCommand(new Uint8Array(3)), {
    name: "TypeError",
    message: "Cannot decode the command as it must be at least 8 bytes: current length is 3",
  });
  assert.throws(
    () => decodeCommand(raw({ kind: "members", members: [] }, undefined, 0x12345678)),
    /Cannot decode the command as its magic must be 0x31444d43: current value is 0x12345678/,
  );
  const data = raw({ kind: "members", members: [] });
  assert.throws(
    () => decodeCommand(data.subarray(0, data.byteLength - 1)),
    /Cannot decode the command as its header of \d+ bytes is truncated: \d+ bytes follow/,
  );
});

Deno.test("decodeCommand() rejects headers that are not UTF-8 JSON", () => {
  assert.throws(() => decodeCommand(raw("{not json")), /its header is not UTF-8 JSON/);
  const bad = raw('{"kind":"members","members":[]}');
  bad[9] = 0xff; // invalid UTF-8
  assert.throws(() => decodeCommand(bad), /its header is not UTF-8 JSON/);
});

Deno.test("decodeCommand() names the malformed field of a header", () => {
  const cases: [unknown, RegExp][] = [
    [[], /the header must be an object/],
    [{ kind: "nope" }, /kind must be "txn", "expire" or "members": current value is "nope"/],
    [{ kind: "txn", time: "1", compares: [], ops: [] }, /txn\.time must be a finite number/],
    [{ kind: "txn", time: 1, compares: {}, ops: [] }, /txn\.compares must be an array/],
    [{ kind: "txn", time: 1, compares: [], ops: [{ op: "set", key: "a" }] }, /ops\[0\]\.isDir/],
    [
      {
        kind: "txn",
        time: 1,
        compares: [],
        ops: [{ op: "set", key: "a", isDir: false, size: -1, ttl: 0, overwrite: true }],
      },
      /ops\[0\]\.size must be a byte count: current value is -1/,
    ],
    [
      { kind: "txn", time: 1, compares: [], ops: [{ op: "put", key: "a", isDir: false }] },
      /ops\[0\]\.op must be "set" or "unset": current value is "put"/,
    ],
    [
      {
        kind: "txn",
        time: 1,
        compares: [{ key: "a", condition: { mustExist: true, mustNotExist: true } }],
        ops: [],
      },
      /compares\[0\]\.condition must be exactly one of/,
    ],
    [
      { kind: "txn", time: 1, compares: [{ key: "a", condition: { mustExist: 1 } }], ops: [] },
      /compares\[0\]\.condition must be \{modRevision: n\}/,
    ],
    [{ kind: "expire", time: 1, keys: [{ key: "a", force: "yes" }] }, /keys\[0\]\.force/],
    [{ kind: "expire", time: 1, keys: [{ key: "a", modRevision: null }] }, /keys\[0\]\.modRev/],
    [{ kind: "members", members: [{ id: 1, peerAddr: "p" }] }, /members\[0\]\.clientAddr/],
  ];
  for (const [header, re] of cases) {
    assert.throws(() => decodeCommand(raw(header)), (e: Error) => {
      assert.ok(e instanceof TypeError);
      assert.match(e.message, /^Cannot decode the command as /);
      assert.match(e.message, re);
      return true;
    }, JSON.stringify(header));
  }
});

Deno.test("decodeCommand() rejects truncated values and trailing bytes", () => {
  const data = encodeCommand(txn([setOp("a", "abc"), setOp("b", "de")]));
  assert.throws(
    () => decodeCommand(data.subarray(0, data.byteLength - 1)),
    /Cannot decode the command as a value of 2 bytes is truncated: 1 bytes follow/,
  );
  const longer = new Uint8Array(data.byteLength + 1);
  longer.set(data);
  assert.throws(
    () => decodeCommand(longer),
    /Cannot decode the command as it must end after \d+ bytes: current length is \d+/,
  );
  const members = encodeCommand({ kind: "members", members: [] });
  const extra = new Uint8Array(members.byteLength + 2);
  extra.set(members);
  assert.throws(() => decodeCommand(extra), /must end after/);
});

Deno.test("decodeCommand() reads a command inside a larger buffer", () => {
  const data = encodeCommand(txn([setOp("a", "abc")]));
  const outer = new Uint8Array(data.byteLength + 10);
  outer.set(data, 5);
  assert.deepEqual(decodeCommand(outer.subarray(5, 5 + data.byteLength)), txn([setOp("a", "abc")]));
});

Deno.test("encodeCommand() rejects malformed commands with a TypeError", () => {
  assert.throws(
    () => encodeCommand({ kind: "txn", time: NaN, compares: [], ops: [] }),
    /Cannot encode the command as txn\.time must be a finite number: current value is NaN/,
  );
  assert.throws(
    () =>
      encodeCommand(
        txn([{ ...setOp("a"), val: "text" as unknown as Uint8Array }]),
      ),
    /Cannot encode the command as a set op's val must be a Uint8Array/,
  );
  assert.throws(
    () => encodeCommand({ kind: "bogus" } as unknown as Command),
    /Cannot encode the command as kind must be/,
  );
});
