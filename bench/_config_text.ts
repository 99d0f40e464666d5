/**
 * Element bodies for the memory benchmark, of three kinds:
 *
 * - `config`: config-like JSON (services with hosts, ports, timeouts, URLs,
 *   flags, a token), its values drawn from a seeded PRNG. Cut to size, 1 KiB
 *   of it deflates about like 1 KiB slices of real config files
 *   (`bench/config_ratio.ts` prints both), so a store that deflates is
 *   measured on text like what it will hold.
 * - `filler`: the key then `x` to size (what the benchmark used before:
 *   deflates about 60×, so it flatters a store that deflates).
 * - `random`: random base64 (deflates about 1.3×: near the worst case).
 *
 * @module
 */

import { FlagError } from "../shared/flags.ts";
import { SeededPrng } from "../shared/prng.ts";

/** The kinds of bodies (see the module doc). */
export const BODY_KINDS = ["config", "filler", "random"] as const;
/** One of {@linkcode BODY_KINDS}. */
export type BodyKind = typeof BODY_KINDS[number];

/** `text` as a {@linkcode BodyKind}. @throws {FlagError} naming `--bodies` when it is none. */
export function bodyKind(text: string): BodyKind {
  if ((BODY_KINDS as readonly string[]).includes(text)) return text as BodyKind;
  throw new FlagError(
    "--bodies",
    `it must be one of ${BODY_KINDS.join(", ")}: current value is ${JSON.stringify(text)}`,
  );
}

const WORDS = (
  "auth billing cart catalog checkout search profile orders payments inventory shipping " +
  "gateway ledger notify session tokens media upload export report audit metrics tracing " +
  "cache queue worker scheduler mailer pricing tax invoice refund review rating feed " +
  "region zone primary replica shard pool cluster edge backend frontend internal public"
).split(" ");
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** A body of exactly `bytes` ASCII bytes for element `key`, of kind `kind`, from `seed`. */
export function benchBody(kind: BodyKind, key: string, bytes: number, seed: number): string {
  if (kind === "filler") return `${key}=`.padEnd(bytes, "x").slice(0, bytes);
  const prng = new SeededPrng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[prng.intn(xs.length)]!;
  const token = (n: number) => Array.from({ length: n }, () => B64[prng.intn(64)]).join("");
  if (kind === "random") return token(bytes);
  const lines = [`{`, `  "element": "${key}",`, `  "revision": ${prng.intn(1_000_000)},`];
  while (lines.reduce((n, l) => n + l.length + 1, 0) < bytes) {
    const name = `${pick(WORDS)}-${pick(WORDS)}`;
    lines.push(
      `  "${name}": {`,
      `    "url": "https://${pick(WORDS)}-${prng.intn(100)}.${pick(WORDS)}.example.com:${
        1024 + prng.intn(60_000)
      }/v${1 + prng.intn(3)}/${pick(WORDS)}",`,
      `    "timeout_ms": ${100 * (1 + prng.intn(100))}, "retries": ${prng.intn(6)}, "enabled": ${
        prng.chance(0.5)
      },`,
      `    "pool": { "min": ${prng.intn(8)}, "max": ${8 + prng.intn(120)}, "idle_s": ${
        prng.intn(600)
      } },`,
      `    "replicas": ["10.${prng.intn(256)}.${prng.intn(256)}.${prng.intn(256)}", "10.${
        prng.intn(256)
      }.${prng.intn(256)}.${prng.intn(256)}"],`,
      `    "token": "${token(24)}", "owner": "${pick(WORDS)}@example.com"`,
      `  },`,
    );
  }
  return lines.join("\n").slice(0, bytes);
}
