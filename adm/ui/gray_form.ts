/**
 * The gray release form: its fields as a gray rule (`shared/config`'s
 * {@linkcode GrayRuleSchema}, the one the API checks) and a rule back as
 * fields and words. Pure.
 *
 * @module
 */

import { type GrayRule, GrayRuleSchema, parseLabels } from "../../shared/config/mod.ts";

/** The form's fields, as posted (strings; absent when not sent). */
export interface GrayFields {
  /** `clients`, `labels` or `percentage`. */
  readonly mode?: string | undefined;
  /** Client ids separated by commas, blanks or line breaks. */
  readonly clientIds?: string | undefined;
  /** A label selector: `region=eu,tier=canary`. */
  readonly labels?: string | undefined;
  /** A percentage of clients, 0 < p ≤ 100, at most two decimals. */
  readonly percent?: string | undefined;
}

/** The outcome of {@linkcode grayRuleOf}. */
export type GrayFormResult =
  | { readonly ok: true; readonly rule: GrayRule }
  | { readonly ok: false; readonly message: string; readonly field: string };

function refuse(field: string, why: string, value: string | undefined): GrayFormResult {
  return {
    ok: false,
    field,
    message: `Cannot use the gray rule as ${why}: current value is ${JSON.stringify(value ?? "")}`,
  };
}

/** The rule the fields describe, or why they describe none (naming the field). */
export function grayRuleOf(f: GrayFields): GrayFormResult {
  let candidate: unknown;
  switch (f.mode) {
    case "clients": {
      const ids = (f.clientIds ?? "").split(/[\s,]+/).filter((s) => s !== "");
      if (ids.length === 0) {
        return refuse("clientIds", "it must list at least one client id", f.clientIds);
      }
      candidate = { kind: "clients", clientIds: ids };
      break;
    }
    case "labels": {
      try {
        candidate = { kind: "labels", selector: parseLabels(f.labels ?? "") };
      } catch (e) {
        return { ok: false, field: "labels", message: (e as Error).message };
      }
      break;
    }
    case "percentage": {
      const text = (f.percent ?? "").trim();
      const n = Number(text);
      if (text === "" || !Number.isFinite(n)) {
        return refuse("percent", "the percentage must be a number", f.percent);
      }
      candidate = { kind: "percentage", percent: n };
      break;
    }
    default:
      return refuse("mode", "the mode must be clients, labels or percentage", f.mode);
  }
  const parsed = GrayRuleSchema.safeParse(candidate);
  if (parsed.success) return { ok: true, rule: parsed.data };
  const issue = parsed.error.issues[0]!;
  const field = f.mode === "clients" ? "clientIds" : f.mode === "labels" ? "labels" : "percent";
  const path = issue.path.length > 0 ? ` (${issue.path.join(".")})` : "";
  return refuse(field, `${field}${path} ${issue.message}`, (f as Record<string, string>)[field]);
}

/** The form fields that describe `rule` (to pre-fill a form that changes it). */
export function fieldsOf(rule: GrayRule): Required<GrayFields> {
  return {
    mode: rule.kind,
    clientIds: rule.kind === "clients" ? rule.clientIds.join(", ") : "",
    labels: rule.kind === "labels"
      ? Object.entries(rule.selector).map(([k, v]) => `${k}=${v}`).join(",")
      : "",
    percent: rule.kind === "percentage" ? String(rule.percent) : "",
  };
}

/** `rule` in words: "clients a, b", "clients labelled region=eu, tier=canary", "12.5% of clients". */
export function describeRule(rule: GrayRule): string {
  switch (rule.kind) {
    case "clients":
      return `${rule.clientIds.length === 1 ? "client" : "clients"} ${rule.clientIds.join(", ")}`;
    case "labels":
      return `clients labelled ${
        Object.entries(rule.selector).map(([k, v]) => `${k}=${v}`).join(", ")
      }`;
    case "percentage":
      return `${rule.percent}% of clients (by a stable hash of the client id)`;
  }
}

/** `value` (a rule the API answered) as a gray rule, or undefined when it is none. */
export function asGrayRule(value: unknown): GrayRule | undefined {
  const r = GrayRuleSchema.safeParse(value);
  return r.success ? r.data : undefined;
}
