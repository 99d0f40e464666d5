/**
 * `export` and `import`: an env's elements as one JSON bundle
 * (`cassem.bundle/v1`), and applying a bundle to an env (the same one, a
 * new one, another app's); `--dry-run` says what it would do, element by
 * element, and writes nothing.
 *
 * @module
 */

import { seg } from "../adm_client.ts";
import { bool, type Command, str } from "../command.ts";
import { CtlError, UsageError } from "../errors.ts";
import { dash } from "../output.ts";
import { envTarget } from "../target.ts";
import { readContent } from "./elements.ts";

interface ImportItem {
  key: string;
  action: "create" | "update" | "unchanged" | "conflict";
  reason: string | null;
  addedVersions: number[];
  published: number | null;
  schemaChanged: boolean;
}

interface ImportResult {
  dryRun: boolean;
  from: { app: string; env: string };
  to: { app: string; env: string };
  items: ImportItem[];
  summary: Record<string, number>;
}

const exportCmd: Command = {
  path: ["export"],
  summary: "write an env's elements (live and latest versions) as one JSON bundle",
  usage: "APP/ENV",
  details: `To stdout, or --out FILE. Secret elements are masked unless --secrets (which
needs the right to read them; the file is then written with mode 0600).`,
  flags: {
    out: { type: "string", short: "o", value: "FILE", help: "write the bundle here" },
    secrets: { type: "boolean", help: "include secret elements' text" },
  },
  arity: [1, 1],
  async run(ctx, p) {
    const t = envTarget(p.args[0], "export");
    const secrets = bool(p, "secrets");
    const bundle = await (await ctx.adm()).json<{ elements: unknown[] }>(
      "GET",
      `/api/apps/${seg(t.app)}/envs/${seg(t.env)}/export`,
      { query: { secrets: secrets ? "true" : undefined } },
    );
    const text = JSON.stringify(bundle, null, 2) + "\n";
    const out = str(p, "out");
    if (out === undefined) return ctx.out.raw(text);
    try {
      await Deno.writeTextFile(out, text, secrets ? { mode: 0o600 } : {});
      if (secrets) await Deno.chmod(out, 0o600);
    } catch (e) {
      throw new CtlError(`Cannot write --out ${out} as ${(e as Error).message}`);
    }
    if (ctx.out.json) ctx.out.data({ file: out, elements: bundle.elements.length });
    else ctx.out.line(`Exported ${bundle.elements.length} elements of ${t.app}/${t.env} to ${out}`);
  },
};

const importCmd: Command = {
  path: ["import"],
  summary: "apply a bundle to an env (--dry-run: only say what it would do)",
  usage: "APP/ENV FILE",
  details: `FILE is a bundle written by export (- for stdin); APP/ENV may be another env or
app than the one it came from (environment sync). Each element is created, gets
new versions, is unchanged, or conflicts (listed with the reason). Example:
  cassemctl export shop/staging -o staging.json
  cassemctl import shop/prod staging.json --dry-run`,
  flags: { "dry-run": { type: "boolean", help: "answer the change, write nothing" } },
  arity: [2, 2],
  async run(ctx, p) {
    const t = envTarget(p.args[0], "import");
    const text = await readContent(ctx, p.args[1], "import");
    let bundle: unknown;
    try {
      bundle = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`Cannot import ${p.args[1]} as it is not JSON: ${(e as Error).message}`);
    }
    const dryRun = bool(p, "dry-run");
    const r = await (await ctx.adm()).json<ImportResult>(
      "POST",
      `/api/apps/${seg(t.app)}/envs/${seg(t.env)}/import`,
      { query: { dryRun: dryRun ? "true" : undefined }, body: bundle },
    );
    if (ctx.out.json) return ctx.out.data(r);
    ctx.out.line(
      `${
        r.dryRun ? "Would import" : "Imported"
      } ${r.from.app}/${r.from.env} into ${r.to.app}/${r.to.env}${
        r.dryRun ? " (dry run: nothing written)" : ""
      }:`,
    );
    ctx.out.table(r.items, [
      { head: "KEY", cell: (i) => i.key },
      { head: "ACTION", cell: (i) => i.action },
      {
        head: "NEW VERSIONS",
        cell: (i) => (i.addedVersions.length ? i.addedVersions.join(",") : "-"),
      },
      { head: "LIVE", cell: (i) => dash(i.published) },
      { head: "SCHEMA", cell: (i) => (i.schemaChanged ? "changed" : "-") },
      { head: "REASON", cell: (i) => dash(i.reason) },
    ], { empty: "The bundle holds no elements." });
    ctx.out.line(Object.entries(r.summary).map(([k, v]) => `${k}: ${v}`).join(", "));
  },
};

/** `export` and `import`. */
export const TRANSFER_COMMANDS: Command[] = [exportCmd, importCmd];
