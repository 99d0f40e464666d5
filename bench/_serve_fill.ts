/**
 * Fills cassemdb with `n` served elements of app `mem`, env `prod` (keys
 * `e0`…, or padded to `keyChars` characters with {@linkcode benchKey}, plaintext of `valueBytes` bytes of a {@linkcode BodyKind}, version
 * 1), in Txns of 64 from 8
 * writers, and reads them all twice through an agent: what the agent memory
 * bench and its dev probe do.
 *
 * @module
 */

import {
  encodeRecord,
  rawFingerprint,
  serveLiveKey,
  ServeLiveRecord,
} from "../shared/config/mod.ts";
import { FlagError } from "../shared/flags.ts";
import { benchBody, type BodyKind } from "./_config_text.ts";
import { isUnavailable, type KvClient, mayHaveApplied, type TxnOp } from "../shared/db/mod.ts";

/**
 * The key of element `i`: `e{i}`, or that padded in front with `k` to
 * `keyChars` characters (real keys, such as `database.connection.url`, are
 * longer than `e12345`, and a key of 13 characters or more costs V8 more).
 */
export function benchKey(i: number, keyChars = 0): string {
  return `e${i}`.padStart(keyChars, "k");
}

/** `--key-chars` as a number. @throws {FlagError} unless it is an integer in [0, 128]. */
export function keyCharsFlag(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 128) {
    throw new FlagError(
      "--key-chars",
      `it must be an integer in [0, 128]: current value is ${JSON.stringify(text)}`,
    );
  }
  return n;
}

/** How long filling cassemdb may take. */
const FILL_DEADLINE_MS = 600_000;

/**
 * Writes the elements (the app and env records must exist); answers the
 * seconds it took.
 * @throws {Error} after {@linkcode FILL_DEADLINE_MS}, or when a Txn fails
 * five times or for another reason than being unavailable or in doubt.
 */
export async function fillServedElements(
  db: KvClient,
  n: number,
  valueBytes: number,
  kind: BodyKind,
  keyChars: number,
): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const publishedAt = new Date().toISOString();
  const filler = async () => {
    while (next < n) {
      const ops: TxnOp[] = [];
      for (let j = 0; j < 64 && next < n; j++, next++) {
        const key = benchKey(next, keyChars);
        const raw = benchBody(kind, key, valueBytes, next);
        const rec = {
          app: "mem",
          env: "prod",
          key,
          version: 1,
          contentType: "plaintext" as const,
          fingerprint: await rawFingerprint(raw),
          publishedAt,
          raw,
        };
        ops.push({
          op: "set",
          key: serveLiveKey("mem", "prod", key),
          val: encodeRecord(ServeLiveRecord, rec),
          overwrite: true,
        });
      }
      // The sets overwrite: a write whose outcome is unknown is simply sent again.
      for (let attempt = 1;; attempt++) {
        try {
          await db.commitTxn({ compares: [], ops }, { timeoutMs: 30_000 });
          break;
        } catch (e) {
          if (attempt >= 5 || !mayHaveApplied(e) && !isUnavailable(e)) throw e;
        }
      }
      if (performance.now() - t0 > FILL_DEADLINE_MS) {
        throw new Error(`Cannot fill cassemdb within ${FILL_DEADLINE_MS / 1000} s`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, filler));
  return (performance.now() - t0) / 1000;
}

/**
 * Reads every filled element twice from the agent at `http` (100 keys a
 * request, 8 readers), so that LRU-K admits each at its second access.
 * @throws {Error} on an answer other than 200.
 */
export async function readServedTwice(http: string, n: number, keyChars: number): Promise<void> {
  const base = `http://${http}/v1/apps/mem/envs/prod/elements?keys=`;
  for (let round = 0; round < 2; round++) {
    let i = 0;
    const reader = async () => {
      while (i < n) {
        const from = i;
        i += 100;
        const keys = Array.from(
          { length: Math.min(100, n - from) },
          (_, j) => benchKey(from + j, keyChars),
        );
        const r = await fetch(base + keys.join(","));
        if (r.status !== 200) throw new Error(`read: ${r.status} ${await r.text()}`);
        await r.body?.cancel();
      }
    };
    await Promise.all(Array.from({ length: 8 }, reader));
  }
}
