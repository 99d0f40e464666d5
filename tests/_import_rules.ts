/**
 * Import rules `deno task check-pure` enforces beyond purity, as functions
 * of one file's path and source so that `import_rules_test.ts` can try them
 * on planted sources:
 * - nothing under `shared/` imports from a service or app folder
 *   ({@linkcode APP_DIRS}): shared code is what they build on, never the reverse;
 * - inside `db/`, only `db/peer` itself reaches past `db/peer/mod.ts`, the
 *   peer layer's import surface (tests may go deeper);
 * - the services ({@linkcode SURFACE_DIRS}) import each shared module
 *   ({@linkcode SHARED_MODULES}) through its mod.ts, its import surface
 *   (tests may go deeper, and the dashboard's browser code imports the
 *   zod-free parser files itself: the mod.ts would bundle the schemas).
 *
 * @module
 */

/** Top-level folders `shared/` must never import from. */
export const APP_DIRS = ["db", "adm", "agent", "stack", "ctl", "sdk"] as const;

/** Shared folders whose mod.ts is their import surface for the services. */
export const SHARED_MODULES = ["raft", "store", "db", "config", "content", "metrics"] as const;

/** Folders whose files import {@linkcode SHARED_MODULES} only through their mod.ts. */
export const SURFACE_DIRS = ["db", "adm", "agent", "stack", "ctl", "bench"] as const;

/** Browser code, bundled for the dashboard. */
const BROWSER_DIR = "adm/ui/client/";

/** One import of a source: its specifier and 1-based line. */
export interface ImportSite {
  spec: string;
  line: number;
}

/**
 * The static (`import … from`, `export … from`, `import "…"`) and dynamic
 * (`import("…")`) imports of `source`, outside `//` comments and JSDoc lines.
 */
export function importsOf(source: string): ImportSite[] {
  const out: ImportSite[] = [];
  source.split("\n").forEach((raw, i) => {
    const line = raw.replace(/^\s*(\*|\/\*\*).*$/, "").replace(/(^|\s)\/\/.*$/, "");
    for (const m of line.matchAll(/\b(?:from|import)\s*\(?\s*"([^"]+)"/g)) {
      out.push({ spec: m[1]!, line: i + 1 });
    }
  });
  return out;
}

/**
 * The repository path `spec` names when imported from `file` (both relative
 * to the repository root), or undefined for a package that is not this one.
 * `selfExports` maps this package's own export names (`@cassem/cassem/db`)
 * to files, as deno.json `exports` does.
 */
export function resolveImport(
  file: string,
  spec: string,
  selfExports: Record<string, string>,
): string | undefined {
  if (spec.startsWith(".")) {
    return new URL(spec, `file:///repo/${file}`).pathname.slice("/repo/".length);
  }
  const self = selfExports[spec];
  return self?.replace(/^\.\//, "");
}

/** Problems with the imports of `file` (one line each, naming file:line and the target). */
export function importRuleProblems(
  file: string,
  source: string,
  selfExports: Record<string, string> = {},
): string[] {
  const problems: string[] = [];
  const isTest = /_test\.ts$/.test(file);
  for (const { spec, line } of importsOf(source)) {
    const target = resolveImport(file, spec, selfExports);
    if (target === undefined) continue;
    const top = target.split("/")[0]!;
    if (file.startsWith("shared/") && (APP_DIRS as readonly string[]).includes(top)) {
      problems.push(
        `${file}:${line}: imports ${target}: shared/ must not import from ${top}/ (${spec})`,
      );
    }
    if (
      !isTest && file.startsWith("db/") && !file.startsWith("db/peer/") &&
      target.startsWith("db/peer/") && target !== "db/peer/mod.ts"
    ) {
      problems.push(`${file}:${line}: imports ${target} past db/peer/mod.ts (${spec})`);
    }
    const shared = /^shared\/([^/]+)\/(.+)$/.exec(target);
    if (
      shared && !isTest && !file.startsWith(BROWSER_DIR) &&
      (SHARED_MODULES as readonly string[]).includes(shared[1]!) && shared[2] !== "mod.ts" &&
      SURFACE_DIRS.some((d) => file.startsWith(`${d}/`))
    ) {
      problems.push(
        `${file}:${line}: imports ${target} past shared/${
          shared[1]
        }/mod.ts, its import surface (${spec})`,
      );
    }
  }
  return problems;
}
