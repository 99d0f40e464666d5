/**
 * Gray release rules and their evaluation, shared by adm (which stores a
 * rule), the agent (which evaluates it for each client) and the SDK. Pure
 * and synchronous: no I/O, clock or randomness.
 *
 * A rule picks the clients that get the gray version of one element:
 *
 * - `clients`: the listed client ids;
 * - `labels`: clients whose labels hold every pair of the selector
 *   (`region=eu,tier=canary`: both must match);
 * - `percentage`: clients whose bucket is below `percent`·100, where the
 *   bucket is the 32-bit FNV-1a hash (finished with murmur3's fmix32 for an
 *   even spread) of the UTF-8 text `"{app}/{env}/{key}/{clientId}"`, modulo
 *   10,000. The element is part of the text, so each element's canary set is
 *   independent of the others'; widening the percentage only adds clients.
 *
 * @module
 */

import { z } from "zod";
import { ClientId } from "./names.ts";

/** Most client ids one rule lists (keeps a gray record under the value cap). */
export const MAX_GRAY_CLIENTS = 200;
/** Most pairs in a label selector, and in a client's labels. */
export const MAX_LABELS = 20;
/** The number of percentage buckets: a percent has two decimals. */
export const GRAY_BUCKETS = 10_000;

const LABEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const LABEL_VALUE = /^[A-Za-z0-9._-]{0,63}$/;

/** zod schema of a label name: 1..63 of A-Z a-z 0-9 . _ / - starting with a letter or digit. */
export const LabelName: z.ZodString = z.string().regex(LABEL_NAME, {
  error: "must be 1 to 63 of A-Z a-z 0-9 . _ / - starting with a letter or digit",
});
/** zod schema of a label value: 0..63 of A-Z a-z 0-9 . _ -. */
export const LabelValue: z.ZodString = z.string().regex(LABEL_VALUE, {
  error: "must be 0 to 63 of A-Z a-z 0-9 . _ -",
});

/** zod schema of a set of labels (at most {@linkcode MAX_LABELS}). */
export const Labels = z.record(LabelName, LabelValue).refine(
  (l) => Object.keys(l).length <= MAX_LABELS,
  { error: `must hold at most ${MAX_LABELS} labels` },
);

/** zod schema of a gray rule (see the module doc). */
export const GrayRuleSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("clients"),
    clientIds: z.array(ClientId).min(1).max(MAX_GRAY_CLIENTS).refine(
      (ids) => new Set(ids).size === ids.length,
      { error: "must not repeat a client id" },
    ),
  }),
  z.strictObject({
    kind: z.literal("labels"),
    selector: Labels.refine((l) => Object.keys(l).length >= 1, {
      error: "must hold at least one label",
    }),
  }),
  z.strictObject({
    kind: z.literal("percentage"),
    percent: z.number().gt(0).max(100).refine(
      (p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-9,
      { error: "must have at most two decimals" },
    ),
  }),
]);

/** A gray rule. */
export type GrayRule = z.infer<typeof GrayRuleSchema>;

/** The client a rule is evaluated for, and the element it asks for. */
export interface GrayTarget {
  /** The app of the element. */
  readonly app: string;
  /** The env of the element. */
  readonly env: string;
  /** The element key. */
  readonly key: string;
  /** The client's id. */
  readonly clientId: string;
  /** The client's labels (absent: none). */
  readonly labels?: Readonly<Record<string, string>>;
}

const encoder = new TextEncoder();

/** 32-bit FNV-1a of `bytes`, finished with murmur3's fmix32. */
export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  }
  // fmix32: FNV-1a alone leaves texts that differ in their last byte close together.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The percentage bucket of a client for one element, in [0, 10,000): the
 * hash of `"{app}/{env}/{key}/{clientId}"` modulo {@linkcode GRAY_BUCKETS}.
 */
export function grayBucket(target: Pick<GrayTarget, "app" | "env" | "key" | "clientId">): number {
  const text = `${target.app}/${target.env}/${target.key}/${target.clientId}`;
  return fnv1a32(encoder.encode(text)) % GRAY_BUCKETS;
}

/** Whether the gray version of the element applies to the client of `target` under `rule`. */
export function grayApplies(rule: GrayRule, target: GrayTarget): boolean {
  switch (rule.kind) {
    case "clients":
      return rule.clientIds.includes(target.clientId);
    case "labels": {
      const labels = target.labels ?? {};
      return Object.entries(rule.selector).every(([k, v]) =>
        Object.hasOwn(labels, k) && labels[k] === v
      );
    }
    case "percentage":
      return grayBucket(target) < Math.round(rule.percent * 100);
  }
}

/**
 * Parses a label selector or label list such as `region=eu,tier=canary`
 * (blanks around items ignored; `""` is no labels).
 * @throws {TypeError} naming the item when one is not `name=value` with a
 * valid name and value, or a name repeats.
 */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const items = text.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const item of items) {
    const eq = item.indexOf("=");
    const name = eq === -1 ? item : item.slice(0, eq).trim();
    const value = eq === -1 ? undefined : item.slice(eq + 1).trim();
    if (value === undefined || !LABEL_NAME.test(name) || !LABEL_VALUE.test(value)) {
      throw new TypeError(
        `Cannot parse the labels as each item must be name=value (name: 1 to 63 of A-Z a-z 0-9 . _ / -, value: 0 to 63 of A-Z a-z 0-9 . _ -): current item is ${
          JSON.stringify(item)
        }`,
      );
    }
    if (Object.hasOwn(out, name)) {
      throw new TypeError(
        `Cannot parse the labels as a name must appear once: current text repeats ${
          JSON.stringify(name)
        }`,
      );
    }
    out[name] = value;
  }
  if (Object.keys(out).length > MAX_LABELS) {
    throw new TypeError(
      `Cannot parse the labels as at most ${MAX_LABELS} are allowed: current count is ${
        Object.keys(out).length
      }`,
    );
  }
  return out;
}
