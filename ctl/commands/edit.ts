/**
 * `edit` (a new version from a file or from `$EDITOR`) and `diff` (two
 * versions side by side, as a unified diff and, for structured types, the
 * paths added, removed and changed).
 *
 * @module
 */

import { join } from "node:path";
import { bool, type Command, type Ctx, int, str } from "../command.ts";
import { ConflictError, CtlError, InvalidInputError, UsageError } from "../errors.ts";
import { elementTarget } from "../target.ts";
import { type Element, elementPath, readContent, stateOf, type Version } from "./elements.ts";

const EXTENSION: Record<string, string> = {
  json: ".json",
  yaml: ".yaml",
  toml: ".toml",
  ini: ".ini",
  properties: ".properties",
  plaintext: ".txt",
};

/**
 * Opens `raw` in the user's editor (`$VISUAL`, `$EDITOR`, else vi) in a
 * private temporary file and answers the edited text, or undefined when
 * the editor failed.
 */
async function editInEditor(
  ctx: Ctx,
  raw: string,
  name: string,
  ext: string,
): Promise<{ text: string; file: string; dir: string }> {
  const chosen = ctx.io.env("VISUAL") || ctx.io.env("EDITOR");
  // vi on something that is not a terminal hangs or garbles it; an editor
  // the user named (a script, `code -w`) is trusted to know what it does.
  if (!chosen && !ctx.io.stdinIsTty) {
    throw new UsageError(
      `Cannot open an editor on ${name} as stdin is not a terminal and neither VISUAL nor EDITOR is set: pass --file FILE (or --file - for stdin)`,
    );
  }
  const editor = chosen || "vi";
  // Private: a secret element's text is written there.
  const dir = await Deno.makeTempDir({ prefix: "cassemctl-edit-" });
  await Deno.chmod(dir, 0o700);
  const file = join(dir, `${name.replaceAll("/", "_")}${ext}`);
  await Deno.writeTextFile(file, raw, { mode: 0o600 });
  const code = await ctx.io.runEditor(editor, file);
  if (code !== 0) {
    await Deno.remove(dir, { recursive: true });
    throw new CtlError(
      `Cannot edit ${name} as the editor (${editor}) exited with code ${code}: nothing was saved`,
    );
  }
  return { text: await Deno.readTextFile(file), file, dir };
}

const edit: Command = {
  path: ["edit"],
  summary: "add a version: from --file, or edit the latest one in $EDITOR",
  usage: "APP/ENV/KEY",
  details: `Without --file, opens the latest version in $VISUAL or $EDITOR (else vi); saving
an unchanged text saves nothing. A version the server refuses (bad content, a
schema violation, a change meanwhile) is kept in a file whose name is printed,
to fix and send with --file. Refused while an unpublished version exists
(publish it first).`,
  flags: {
    file: { type: "string", short: "f", value: "FILE", help: "the new content (- for stdin)" },
    remark: { type: "string", value: "TEXT", help: "why (kept with the version and in the oplog)" },
    publish: { type: "boolean", help: "also make it live (full release)" },
  },
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "edit");
    const name = `${t.app}/${t.env}/${t.key}`;
    const adm = await ctx.adm();
    const file = str(p, "file");
    let raw: string;
    let ifMatch: string | undefined;
    let kept: { file: string; dir: string } | undefined;
    if (file !== undefined) {
      raw = await readContent(ctx, file, `edit ${name}`);
    } else {
      const current = await adm.json<Version>("GET", elementPath(t));
      const e = current.element;
      if (e.unpublishedVersion !== null) {
        throw new ConflictError(
          `Cannot edit ${name} as version ${e.unpublishedVersion} is unpublished: publish it (cassemctl publish ${name}) before adding another`,
        );
      }
      const latest = current.version === e.latestVersion
        ? current
        : await adm.json<Version>("GET", elementPath(t), { query: { version: e.latestVersion } });
      if (latest.raw === null) {
        throw new CtlError(`Cannot edit ${name} as it is a secret you may not read`);
      }
      const edited = await editInEditor(
        ctx,
        latest.raw,
        name,
        EXTENSION[latest.contentType] ?? ".txt",
      );
      kept = edited;
      if (edited.text === latest.raw) {
        await Deno.remove(edited.dir, { recursive: true });
        if (ctx.out.json) ctx.out.data({ changed: false, version: latest.version });
        else ctx.out.line(`No change to ${name}: nothing saved`);
        return;
      }
      raw = edited.text;
      ifMatch = e.etag;
    }
    let v: Version;
    try {
      v = await adm.json<Version>("PUT", elementPath(t), {
        body: { raw, remark: str(p, "remark"), publish: bool(p, "publish") },
        ifMatch,
      });
    } catch (e) {
      if (kept && (e instanceof InvalidInputError || e instanceof ConflictError)) {
        ctx.note(
          `cassemctl: your edit is kept in ${kept.file}: fix it and run cassemctl edit ${name} --file ${kept.file}`,
        );
      } else if (kept) {
        await Deno.remove(kept.dir, { recursive: true }).catch(() => {});
      }
      throw e;
    }
    if (kept) await Deno.remove(kept.dir, { recursive: true }).catch(() => {});
    if (ctx.out.json) return ctx.out.data(v);
    ctx.out.line(
      `Saved ${name} version ${v.version}${v.live ? " (live)" : ""}: ${stateOf(v.element)}`,
    );
  },
};

interface Diff {
  key: string;
  contentType: string;
  base: number;
  compare: number;
  masked: boolean;
  unified: string | null;
  structural: {
    added: { path: string; value: unknown }[];
    removed: { path: string; value: unknown }[];
    changed: { path: string; base: unknown; compare: unknown }[];
  } | null;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const diff: Command = {
  path: ["diff"],
  summary: "show what changed between two versions (default: live → latest)",
  usage: "APP/ENV/KEY",
  details: `--base defaults to the live version (else the one before --compare), --compare to
the latest. Prints a unified diff, then for json, yaml, toml, ini and properties the
paths added (+), removed (-) and changed (~).`,
  flags: {
    base: { type: "string", value: "N", help: "the older version" },
    compare: { type: "string", value: "M", help: "the newer version" },
  },
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "diff");
    const name = `${t.app}/${t.env}/${t.key}`;
    const adm = await ctx.adm();
    let base = int(p, "base");
    let compare = int(p, "compare");
    if (base === undefined || compare === undefined) {
      const e = (await adm.json<Version>("GET", elementPath(t))).element as Element;
      compare ??= e.latestVersion;
      base ??= e.publishedVersion !== null && e.publishedVersion !== compare
        ? e.publishedVersion
        : compare - 1;
    }
    if (base < 1) {
      throw new UsageError(
        `Cannot diff ${name} as it has only version ${compare}: pass --base and --compare`,
      );
    }
    const d = await adm.json<Diff>("GET", `${elementPath(t)}/diff`, { query: { base, compare } });
    if (ctx.out.json) return ctx.out.data(d);
    if (d.masked) {
      ctx.out.line(
        `${name}: versions ${d.base} and ${d.compare} are secret; you may not read them`,
      );
      return;
    }
    const text = d.unified ?? "";
    const hunks = text.split("\n").filter((l) => l.startsWith("@@")).length;
    if (hunks === 0) {
      ctx.out.line(`${name}: versions ${d.base} and ${d.compare} are the same text`);
    } else {
      ctx.out.raw(text.endsWith("\n") ? text : text + "\n");
    }
    const s = d.structural;
    if (s && s.added.length + s.removed.length + s.changed.length > 0) {
      ctx.out.line("");
      ctx.out.line(`structural changes (${d.contentType}):`);
      for (const a of s.added) ctx.out.line(`  + ${a.path} = ${short(a.value)}`);
      for (const r of s.removed) ctx.out.line(`  - ${r.path} (was ${short(r.value)})`);
      for (const c of s.changed) {
        ctx.out.line(`  ~ ${c.path}: ${short(c.base)} → ${short(c.compare)}`);
      }
    }
  },
};

/** `edit` and `diff`. */
export const EDIT_COMMANDS: Command[] = [edit, diff];
