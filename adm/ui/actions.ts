/**
 * The release actions of an element, in one table: what each one does
 * (in words), which two versions its diff compares, and the API request
 * that performs it. The confirm page shows an action's plan and its diff;
 * the confirm button posts the same parameters back with the element's
 * ETag of that moment as `If-Match`, so what is applied is exactly what was
 * shown, or nothing (412: the element changed meanwhile).
 *
 * @module
 */

import type { GrayRule } from "../../shared/config/mod.ts";
import type { UiApi } from "./api.ts";
import type { ApprovalView, ElementView, GrayView, ReleasedView } from "./api_types.ts";
import { approvalApi, elementApi, type ElementRef } from "./element_data.ts";
import { asGrayRule, describeRule, grayRuleOf } from "./gray_form.ts";

/** Every action, in the order the element page offers them. */
export const ACTIONS = [
  "publish",
  "gray",
  "widen",
  "promote",
  "abort",
  "rollback",
  "approve",
  "reject",
] as const;

/** A release action. */
export type Action = typeof ACTIONS[number];

/** Whether `s` names an action. */
export function isAction(s: string): s is Action {
  return (ACTIONS as readonly string[]).includes(s);
}

/** What an action will do, as the confirm page shows it. */
export interface Plan {
  /** The action. */
  readonly action: Action;
  /** The confirm page's heading: "Publish version 3 of db.json". */
  readonly title: string;
  /** The confirm button's label. */
  readonly button: string;
  /** Whether it takes a version away from clients (abort, rollback, reject). */
  readonly danger: boolean;
  /** Sentences saying what changes for whom. */
  readonly effects: readonly string[];
  /** The diff's left side: the version clients have now (null: none). */
  readonly base: number | null;
  /** The diff's right side: the version they will have (null: none). */
  readonly compare: number | null;
  /** The left column's heading. */
  readonly left: string;
  /** The right column's heading. */
  readonly right: string;
  /** The version acted on, when the action names one. */
  readonly version?: number | undefined;
  /** The gray rule it sets, for gray and widen. */
  readonly rule?: GrayRule | undefined;
  /** The rule it replaces, for widen. */
  readonly oldRule?: GrayRule | undefined;
  /** The approval request decided, for approve and reject. */
  readonly approval?: ApprovalView | undefined;
}

/** The element's state an action is planned against. */
export interface PlanState {
  /** The element's metadata. */
  readonly element: ElementView;
  /** Its running gray release, if any. */
  readonly gray: GrayView | undefined;
  /** Its pending approval request, if any. */
  readonly approval: ApprovalView | undefined;
  /** Whether its env turns publishes into approval requests. */
  readonly requireApproval: boolean;
}

/** The outcome of {@linkcode planAction}. */
export type PlanResult =
  | { readonly ok: true; readonly plan: Plan }
  | { readonly ok: false; readonly message: string; readonly field?: string };

/** The parameters an action takes (query or form fields): version, rule fields, request id. */
export type ActionParams = Readonly<Record<string, string | undefined>>;

function vname(n: number | null): string {
  return n === null ? "no version" : `version ${n}`;
}

function versionParam(
  action: string,
  p: ActionParams,
): { ok: true; n: number } | { ok: false; message: string; field: string } {
  const text = (p.version ?? "").trim();
  const n = Number(text);
  if (!/^[0-9]{1,10}$/.test(text) || n < 1) {
    return {
      ok: false,
      field: "version",
      message: `Cannot ${action} as the version must be a version number: current value is ${
        JSON.stringify(text)
      }`,
    };
  }
  return { ok: true, n };
}

/** What `action` with `params` would do to the element in `s`, or why it cannot be planned. */
export function planAction(action: Action, s: PlanState, params: ActionParams): PlanResult {
  const e = s.element;
  const live = e.publishedVersion;
  const where = `${e.app}/${e.env}`;
  const approvalNote = s.requireApproval
    ? [`${where} needs approval: this files a request that another releaser approves or rejects.`]
    : [];
  const liveNow = live === null ? "Nothing is live yet." : `Clients have version ${live} now.`;
  switch (action) {
    case "publish":
    case "rollback": {
      const v = versionParam(action, params);
      if (!v.ok) return v;
      if (v.n === live) {
        return {
          ok: false,
          field: "version",
          message: `Cannot ${action} version ${v.n} of ${e.key} as it is live already`,
        };
      }
      if (e.grayVersion !== null) {
        return {
          ok: false,
          message:
            `Cannot ${action} ${e.key} as a gray release of version ${e.grayVersion} is running: promote or abort it first`,
        };
      }
      const verb = action === "publish" ? "Publish" : "Roll back to";
      return {
        ok: true,
        plan: {
          action,
          title: `${verb} version ${v.n} of ${e.key}`,
          button: `${verb} version ${v.n}`,
          danger: action === "rollback",
          effects: [
            liveNow,
            `Version ${v.n} becomes live for every client of ${where}${
              action === "rollback" ? ", recorded as a rollback" : ""
            }.`,
            ...approvalNote,
          ],
          base: live,
          compare: v.n,
          left: `Live now: ${vname(live)}`,
          right: `After: version ${v.n}`,
          version: v.n,
        },
      };
    }
    case "gray": {
      const v = versionParam("start a gray release", params);
      if (!v.ok) return v;
      const r = grayRuleOf(params);
      if (!r.ok) return r;
      return {
        ok: true,
        plan: {
          action,
          title: `Gray release of version ${v.n} of ${e.key}`,
          button: `Start the gray release of version ${v.n}`,
          danger: false,
          effects: [
            liveNow,
            `Version ${v.n} goes to ${describeRule(r.rule)}; every other client keeps ${
              vname(live)
            }.`,
            ...approvalNote,
          ],
          base: live,
          compare: v.n,
          left: `Live now: ${vname(live)}`,
          right: `Gray: version ${v.n}`,
          version: v.n,
          rule: r.rule,
        },
      };
    }
    case "widen":
    case "promote":
    case "abort": {
      const g = s.gray;
      if (!g) {
        return {
          ok: false,
          message: `Cannot ${action} the gray release of ${e.key} as none is running`,
        };
      }
      const old = asGrayRule(g.rule);
      const oldWords = old ? describeRule(old) : "its clients";
      if (action === "widen") {
        const r = grayRuleOf(params);
        if (!r.ok) return r;
        return {
          ok: true,
          plan: {
            action,
            title: `Change the gray release of version ${g.version} of ${e.key}`,
            button: "Change the gray rule",
            danger: false,
            effects: [
              `Version ${g.version} goes to ${describeRule(r.rule)} instead of ${oldWords}.`,
              `Every other client keeps ${vname(live)}.`,
            ],
            base: live,
            compare: g.version,
            left: `Live: ${vname(live)}`,
            right: `Gray: version ${g.version}`,
            version: g.version,
            rule: r.rule,
            oldRule: old,
          },
        };
      }
      if (action === "promote") {
        return {
          ok: true,
          plan: {
            action,
            title: `Promote version ${g.version} of ${e.key} to everyone`,
            button: `Promote version ${g.version}`,
            danger: false,
            effects: [
              `Version ${g.version} now goes to ${oldWords}.`,
              `It becomes live for every client of ${where}, replacing ${
                vname(live)
              }, and the gray release ends.`,
            ],
            base: live,
            compare: g.version,
            left: `Live now: ${vname(live)}`,
            right: `After: version ${g.version}`,
            version: g.version,
          },
        };
      }
      return {
        ok: true,
        plan: {
          action,
          title: `Abort the gray release of version ${g.version} of ${e.key}`,
          button: "Abort the gray release",
          danger: true,
          effects: [
            `Version ${g.version} now goes to ${oldWords}.`,
            live === null
              ? "They go back to no version: nothing is live."
              : `They go back to version ${live}, which every other client has.`,
          ],
          base: g.version,
          compare: live,
          left: `Gray now: version ${g.version}`,
          right: `After: ${vname(live)}`,
          version: g.version,
        },
      };
    }
    case "approve":
    case "reject": {
      const a = s.approval;
      if (!a || (params.id !== undefined && params.id !== "" && params.id !== a.id)) {
        return {
          ok: false,
          message: `Cannot ${action} the request for ${e.key} as ${
            a ? "another request replaced it" : "no request is waiting"
          }`,
        };
      }
      const rule = a.action === "gray" ? asGrayRule(a.rule) : undefined;
      const what = a.action === "publish"
        ? `publish version ${a.version}`
        : a.action === "rollback"
        ? `roll back to version ${a.version}`
        : `gray release version ${a.version}${rule ? ` to ${describeRule(rule)}` : ""}`;
      const approve = action === "approve";
      return {
        ok: true,
        plan: {
          action,
          title: `${approve ? "Approve" : "Reject"} the request to ${what} of ${e.key}`,
          button: approve ? "Approve and apply" : "Reject the request",
          danger: !approve,
          effects: [
            `${a.requestedBy} asked to ${what}${a.remark ? ` (“${a.remark}”)` : ""}.`,
            approve
              ? `It is applied at once: ${liveNow.toLowerCase()}`
              : "Nothing changes for clients; the request is dropped.",
          ],
          base: live,
          compare: a.version,
          left: `Live now: ${vname(live)}`,
          right: `Requested: version ${a.version}`,
          version: a.version,
          rule,
          approval: a,
        },
      };
    }
  }
}

/**
 * Performs `plan` through the API, with `etag` as If-Match where the API
 * takes it, and answers what happened, for the next page.
 * @throws {ApiError} when the API refuses (412: the element changed since `etag`).
 */
export async function performAction(
  api: UiApi,
  ref: ElementRef,
  plan: Plan,
  etag: string,
  remark: string,
): Promise<string> {
  const released = (a: { body: ReleasedView }, done: string) =>
    a.body.applied ? done : `Requested approval to ${done.toLowerCase()}: another releaser decides`;
  switch (plan.action) {
    case "publish":
    case "rollback": {
      const a = await api.send<ReleasedView>(
        "POST",
        elementApi(ref, plan.action),
        { version: plan.version, remark },
        etag,
      );
      return released(
        a,
        plan.action === "publish"
          ? `Published version ${plan.version}`
          : `Rolled back to version ${plan.version}`,
      );
    }
    case "gray": {
      const a = await api.send<ReleasedView>(
        "POST",
        elementApi(ref, "gray"),
        { version: plan.version, rule: plan.rule, remark },
        etag,
      );
      return released(
        a,
        `Started the gray release of version ${plan.version} to ${describeRule(plan.rule!)}`,
      );
    }
    case "widen":
      await api.send("PUT", elementApi(ref, "gray"), { rule: plan.rule, remark }, etag);
      return `The gray release of version ${plan.version} now goes to ${describeRule(plan.rule!)}`;
    case "promote":
      await api.send("POST", elementApi(ref, "gray", "promote"), { remark }, etag);
      return `Promoted version ${plan.version}: it is live for everyone`;
    case "abort":
      await api.send("DELETE", elementApi(ref, "gray"), undefined, etag);
      return `Aborted the gray release of version ${plan.version}`;
    case "approve":
    case "reject":
      await api.send("POST", approvalApi(ref, plan.action), { id: plan.approval!.id, remark });
      return plan.action === "approve"
        ? `Approved and applied the request for version ${plan.version}`
        : `Rejected the request for version ${plan.version}`;
  }
}
