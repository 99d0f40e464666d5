/** @jsxImportSource hono/jsx */
/**
 * Confirming a release action: `GET .../elements/{key}/confirm?action=…`
 * shows what the action will do (`actions.ts`), the side-by-side diff it
 * will apply (what clients have now on the left, what they will have on
 * the right), the structural changes, and for a gray rule change the old
 * and new rule; its form posts the same parameters, a remark and the
 * element's ETag of that moment to `POST .../elements/{key}/act`, which
 * applies exactly that (If-Match) and goes back to the element page. A
 * refusal (e.g. 412: changed meanwhile) shows on the element page.
 *
 * @module
 */

import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ApiError, apiPath } from "./api.ts";
import type { EnvView } from "./api_types.ts";
import {
  type Action,
  type ActionParams,
  isAction,
  performAction,
  type Plan,
  planAction,
} from "./actions.ts";
import { DiffTable, StructuralChanges } from "./components.tsx";
import { sessionOf, type UiContext, type UiEnv } from "./context.ts";
import { readDiff, readElementState } from "./element_data.ts";
import { elementCrumbs, refOf, renderElement } from "./element_page.tsx";
import { field, formOf } from "./form.ts";
import { describeRule, fieldsOf } from "./gray_form.ts";
import { CsrfField, Layout } from "./layout.tsx";
import { elementPage } from "./paths.ts";
import { setFlash } from "./session.ts";

/** The parameters an action carries from the element page to the confirm form. */
const PARAMS = ["version", "mode", "clientIds", "labels", "percent", "id"] as const;

async function planFor(c: UiContext, action: Action, params: ActionParams) {
  const s = sessionOf(c);
  const ref = refOf(c);
  const [st, env] = await Promise.all([
    readElementState(s.api, ref, undefined, 1),
    s.api.get<EnvView>(apiPath("apps", ref.app, "envs", ref.env)),
  ]);
  const planned = planAction(action, { ...st, requireApproval: env.requireApproval }, params);
  return { st, planned };
}

function ruleChange(plan: Plan) {
  if (!plan.rule) return null;
  return (
    <section aria-label="Gray rule" class="panel">
      <h2>Gray rule</h2>
      <dl class="facts">
        {plan.oldRule
          ? (
            <>
              <dt>Now</dt>
              <dd>{describeRule(plan.oldRule)}</dd>
            </>
          )
          : null}
        <dt>{plan.oldRule ? "After" : "Rule"}</dt>
        <dd data-testid="rule">{describeRule(plan.rule)}</dd>
      </dl>
    </section>
  );
}

/** The confirm page's routes, mounted at `/apps/:app/envs/:env/elements/:key`. */
export function confirmRoutes(): Hono<UiEnv> {
  const r = new Hono<UiEnv>();

  r.get("/confirm", async (c) => {
    const s = sessionOf(c);
    const ref = refOf(c);
    const action = c.req.query("action") ?? "";
    if (!isAction(action)) {
      return renderElement(
        c,
        `Cannot confirm an action as it must be one of publish, gray, widen, promote, abort, rollback, approve, reject: current value is ${
          JSON.stringify(action)
        }`,
        400,
      );
    }
    const params: Record<string, string | undefined> = {};
    for (const p of PARAMS) params[p] = c.req.query(p);
    const { st, planned } = await planFor(c, action, params);
    if (!planned.ok) return renderElement(c, planned.message, 400);
    const plan = planned.plan;
    const diff = await readDiff(s.api, ref, plan.base, plan.compare);
    const hidden: Record<string, string> = {
      action,
      etag: st.element.etag,
      version: plan.version === undefined ? "" : String(plan.version),
      id: plan.approval?.id ?? "",
      ...(plan.rule ? fieldsOf(plan.rule) : {}),
    };
    return c.html(
      <Layout title={plan.title} session={s} section="apps" crumbs={elementCrumbs(ref, "Confirm")}>
        <section aria-label="What changes" class="panel">
          <ul data-testid="effects">
            {plan.effects.map((e) => <li key={e}>{e}</li>)}
          </ul>
        </section>
        {ruleChange(plan)}
        <h2>
          The change it applies ({diff.rows.added} added, {diff.rows.removed} removed lines)
        </h2>
        {diff.masked ? <p class="muted">This secret's content is hidden from you.</p> : (
          <DiffTable
            diff={diff.rows}
            left={plan.left}
            right={plan.right}
            caption={`${plan.left} compared with ${plan.right}`}
          />
        )}
        {diff.api ? <StructuralChanges diff={diff.api} /> : null}
        <form
          class="stack"
          method="post"
          action={elementPage(ref.app, ref.env, ref.key, "/act")}
          aria-label="Confirm"
        >
          <CsrfField session={s} />
          {Object.entries(hidden).map(([k, v]) => (
            <input key={k} type="hidden" name={k} value={v} />
          ))}
          {plan.action === "abort" ? null : (
            <div>
              <label for="remark">Remark</label>
              <input id="remark" name="remark" type="text" aria-describedby="remark-hint" />
              <p id="remark-hint" class="hint">Why: kept in the operation log</p>
            </div>
          )}
          <div class="inline">
            <button class={plan.danger ? "danger" : "primary"} type="submit">{plan.button}</button>
            <a class="btn" href={elementPage(ref.app, ref.env, ref.key)}>Cancel</a>
          </div>
        </form>
      </Layout>,
    );
  });

  r.post("/act", async (c) => {
    const s = sessionOf(c);
    const ref = refOf(c);
    const f = await formOf(c);
    const action = field(f, "action");
    if (!isAction(action)) {
      return renderElement(
        c,
        `Cannot apply an action as it must be one of publish, gray, widen, promote, abort, rollback, approve, reject: current value is ${
          JSON.stringify(action)
        }`,
        400,
      );
    }
    const params: Record<string, string | undefined> = {};
    for (const p of PARAMS) params[p] = f[p];
    const { planned } = await planFor(c, action, params);
    if (!planned.ok) return renderElement(c, planned.message, 409);
    let done: string;
    try {
      done = await performAction(s.api, ref, planned.plan, field(f, "etag"), field(f, "remark"));
    } catch (e) {
      if (!(e instanceof ApiError) || e.status === 401 || e.status >= 500) throw e;
      const message = e.status === 412
        ? `${e.message}. The element changed after you reviewed the diff: review it again`
        : e.message;
      return renderElement(c, message, e.status as ContentfulStatusCode);
    }
    setFlash(c, done);
    return c.redirect(elementPage(ref.app, ref.env, ref.key), 303);
  });

  return r;
}
