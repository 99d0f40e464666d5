/**
 * Fills cassemdb with `n` served elements of app `mem`, env `prod` (keys
 * `e0`…, plaintext of `valueBytes` bytes, version 1), in Txns of 64 from 8
 * writers: what the agent memory bench and its dev probe load.
 *
 * @module
 */

import {
  encodeRecord,
  rawFingerprint,
  serveLiveKey,
  ServeLiveRecord,
} from "../shared/config/mod.ts";
import { isUnavailable, type KvClient, mayHaveApplied, type TxnOp } from "../shared/db/mod.ts";

/**
 * Writes the elements (the app and env records must exist); answers the
 * seconds it took.
 * @throws {Error} after `deadlineMs` (default 600 s), or when a Txn fails
 * five times or for another reason than being unavailable or in doubt.
 */
export async function fillServedElements(
  db: KvClient,
  n: number,
  valueBytes: number,
  deadlineMs = 600_000,
): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const publishedAt = new Date().toISOString();
  const filler = async () => {
    while (next < n) {
      const ops: TxnOp[] = [];
      for (let j = 0; j < 64 && next < n; j++, next++) {
        const key = `e${next}`;
        const raw = `${key}=`.padEnd(valueBytes, "x");
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
      if (performance.now() - t0 > deadlineMs) {
        throw new Error(`Cannot fill cassemdb within ${deadlineMs / 1000} s`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, filler));
  return (performance.now() - t0) / 1000;
}
