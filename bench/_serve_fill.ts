/**
 * Fills cassemdb with `n` served elements of app `mem`, env `prod` (keys
 * `e0`…, plaintext of `valueBytes` bytes of a {@linkcode BodyKind}, version
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
import { benchBody, type BodyKind } from "./_config_text.ts";
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
  kind: BodyKind = "config",
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
      if (performance.now() - t0 > deadlineMs) {
        throw new Error(`Cannot fill cassemdb within ${deadlineMs / 1000} s`);
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
export async function readServedTwice(http: string, n: number): Promise<void> {
  const base = `http://${http}/v1/apps/mem/envs/prod/elements?keys=`;
  for (let round = 0; round < 2; round++) {
    let i = 0;
    const reader = async () => {
      while (i < n) {
        const from = i;
        i += 100;
        const keys = Array.from({ length: Math.min(100, n - from) }, (_, j) => `e${from + j}`);
        const r = await fetch(base + keys.join(","));
        if (r.status !== 200) throw new Error(`read: ${r.status} ${await r.text()}`);
        await r.body?.cancel();
      }
    };
    await Promise.all(Array.from({ length: 8 }, reader));
  }
}
