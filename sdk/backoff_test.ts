import assert from "node:assert/strict";
import { Backoff } from "./backoff.ts";

Deno.test("Backoff doubles from initialMs up to maxMs, jitter taking up to its share off, and reset starts over", () => {
  const top = new Backoff({ initialMs: 100, maxMs: 1_000, jitter: 0.5, random: () => 0 });
  assert.deepEqual(Array.from({ length: 6 }, () => top.next()), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(top.attempts, 6);
  top.reset();
  assert.equal(top.next(), 100);
  const low = new Backoff({ initialMs: 100, maxMs: 1_000, jitter: 0.5, random: () => 0.999999 });
  assert.deepEqual(Array.from({ length: 5 }, () => low.next()), [50, 100, 200, 400, 500]);
});

Deno.test("Backoff delays stay within [d × (1 − jitter), d] for any random draw", () => {
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const b = new Backoff({ initialMs: 250, maxMs: 10_000, random });
  for (let i = 0; i < 50; i++) {
    const d = Math.min(10_000, 250 * 2 ** i);
    const got = b.next();
    assert.ok(
      got >= Math.floor(d * 0.5) && got <= d,
      `attempt ${i}: ${got} not in [${d / 2}, ${d}]`,
    );
  }
});

Deno.test("Backoff refuses options out of range, naming them", () => {
  assert.throws(
    () => new Backoff({ initialMs: -1 }),
    /initialMs must be at least 0: current value is -1/,
  );
  assert.throws(
    () => new Backoff({ initialMs: 500, maxMs: 100 }),
    /maxMs must be at least initialMs/,
  );
  assert.throws(() => new Backoff({ factor: 0.5 }), /factor must be at least 1/);
  assert.throws(() => new Backoff({ jitter: 2 }), /jitter must be in \[0, 1\]: current value is 2/);
});
