/**
 * `elements ls|get|create|rm|versions|schema`: config elements and their
 * versions (cassemadm's `/api/apps/{app}/envs/{env}/elements` routes).
 * Content is sent and printed byte for byte: `elements get --raw` writes
 * the stored text exactly, for `> file`.
 *
 * @module
 */

import { extname } from "node:path";
import { CONTENT_TYPES, type ContentType } from "../../shared/config/mod.ts";
import { seg } from "../adm_client.ts";
import { bool, type Command, type Ctx, int, type Parsed, str } from "../command.ts";
import { CtlError, UsageError } from "../errors.ts";
import { dash, time } from "../output.ts";
import { type ElementTarget, elementTarget, envTarget } from "../target.ts";
import { confirmRemoval } from "./apps.ts";

/** An element's metadata as cassemadm shows it. */
export interface Element {
  app: string;
  env: string;
  key: string;
  contentType: ContentType;
  secret: boolean;
  hasSchema: boolean;
  latestVersion: number;
  latestFingerprint: string;
  publishedVersion: number | null;
  publishedFingerprint: string | null;
  unpublishedVersion: number | null;
  grayVersion: number | null;
  fingerprint: string;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  etag: string;
}

/** One version's facts, as the versions list shows them. */
interface VersionInfo {
  version: number;
  fingerprint: string;
  author: string;
  createdAt: string;
  remark: string;
  live: boolean;
  gray: boolean;
  published: boolean;
}

/** One version with its text. */
export interface Version extends VersionInfo {
  contentType: ContentType;
  secret: boolean;
  raw: string | null;
  masked: boolean;
  element: Element;
}

/** The path of an element's routes. */
export function elementPath(t: ElementTarget): string {
  return `/api/apps/${seg(t.app)}/envs/${seg(t.env)}/elements/${seg(t.key)}`;
}

const EXTENSIONS: Record<string, ContentType> = {
  ".json": "json",
  ".yaml": "yaml",
  ".yml": "yaml",
  ".toml": "toml",
  ".ini": "ini",
  ".properties": "properties",
  ".txt": "plaintext",
};

/**
 * The content type: `--type`, else the file's extension.
 * @throws {UsageError} when neither says one.
 */
function contentTypeOf(p: Parsed, file: string | undefined): ContentType {
  const given = str(p, "type");
  if (given !== undefined) {
    if (!(CONTENT_TYPES as readonly string[]).includes(given)) {
      throw new UsageError(
        `Cannot accept --type as it must be one of ${CONTENT_TYPES.join(", ")}: current value is ${
          JSON.stringify(given)
        }`,
      );
    }
    return given as ContentType;
  }
  const byExt = file ? EXTENSIONS[extname(file).toLowerCase()] : undefined;
  if (byExt) return byExt;
  throw new UsageError(
    `Cannot tell the content type${
      file ? ` of ${file} as its extension names none` : " as no --file names it"
    }: pass --type (${CONTENT_TYPES.join(", ")})`,
  );
}

/**
 * The content to send: the file named by `--file` (`-` for stdin), read
 * byte for byte as UTF-8.
 * @throws {UsageError} when there is none; {@linkcode CtlError} when the file cannot be read.
 */
export async function readContent(
  ctx: Ctx,
  file: string | undefined,
  what: string,
): Promise<string> {
  if (file === undefined) {
    throw new UsageError(
      `Cannot ${what} as it needs the content: pass --file FILE (or --file - for stdin)`,
    );
  }
  if (file === "-") return await ctx.io.readStdin();
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(await Deno.readFile(file));
  } catch (e) {
    if (e instanceof TypeError) {
      throw new CtlError(`Cannot read --file ${file} as it is not UTF-8 text`);
    }
    throw new CtlError(`Cannot read --file ${file} as ${(e as Error).message}`);
  }
}

/** The element's state in a few words: "v3 live, v4 pending, v3 gray". */
export function stateOf(e: Element): string {
  const parts = [e.publishedVersion === null ? "never published" : `v${e.publishedVersion} live`];
  if (e.grayVersion !== null) parts.push(`v${e.grayVersion} in gray release`);
  if (e.unpublishedVersion !== null) parts.push(`v${e.unpublishedVersion} unpublished`);
  return parts.join(", ");
}

const REMARK = {
  type: "string",
  value: "TEXT",
  help: "why (kept with the version and in the oplog)",
} as const;

const elementsLs: Command = {
  path: ["elements", "ls"],
  summary: "list an env's elements",
  usage: "APP/ENV",
  flags: { keys: { type: "string", value: "K1,K2", help: "only these keys" } },
  arity: [1, 1],
  async run(ctx, p) {
    const t = envTarget(p.args[0], "elements ls");
    const path = `/api/apps/${seg(t.app)}/envs/${seg(t.env)}/elements`;
    const adm = await ctx.adm();
    const keys = str(p, "keys");
    const items = keys === undefined
      ? await adm.all<Element>(path)
      : (await adm.json<{ items: Element[] }>("GET", path, { query: { keys } })).items;
    ctx.out.table(items, [
      { head: "KEY", cell: (e) => e.key },
      { head: "TYPE", cell: (e) => e.contentType + (e.secret ? " (secret)" : "") },
      { head: "LIVE", cell: (e) => dash(e.publishedVersion) },
      { head: "LATEST", cell: (e) => String(e.latestVersion) },
      { head: "GRAY", cell: (e) => dash(e.grayVersion) },
      { head: "UNPUBLISHED", cell: (e) => dash(e.unpublishedVersion) },
      { head: "UPDATED", cell: (e) => `${time(e.updatedAt)} by ${e.updatedBy}` },
    ], { json: { items }, empty: `Env ${t.app}/${t.env} has no elements.` });
  },
};

const elementsGet: Command = {
  path: ["elements", "get"],
  summary: "show an element's live version (else its latest), or --version N",
  usage: "APP/ENV/KEY",
  details: "With --raw, prints only the content, byte for byte (for > file).",
  flags: {
    version: { type: "string", value: "N", help: "this version" },
    raw: { type: "boolean", help: "print only the content" },
  },
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "elements get");
    const v = await (await ctx.adm()).json<Version>("GET", elementPath(t), {
      query: { version: int(p, "version") },
    });
    if (bool(p, "raw")) {
      if (v.raw === null) {
        throw new CtlError(
          `Cannot print ${t.app}/${t.env}/${t.key} v${v.version} as it is a secret you may not read (masked)`,
        );
      }
      return ctx.out.raw(v.raw);
    }
    if (ctx.out.json) return ctx.out.data(v);
    ctx.out.fields([
      ["element", `${t.app}/${t.env}/${t.key}`],
      ["type", v.contentType + (v.secret ? " (secret)" : "")],
      [
        "version",
        `${v.version}${v.live ? " (live)" : ""}${v.gray ? " (gray)" : ""}${
          v.published ? "" : " (unpublished)"
        }`,
      ],
      ["state", stateOf(v.element)],
      ["fingerprint", v.fingerprint],
      ["author", `${v.author} at ${time(v.createdAt)}`],
      ["remark", dash(v.remark)],
      ["etag", v.element.etag],
    ], v);
    ctx.out.line("");
    ctx.out.line(v.raw ?? "(masked: a secret you may not read)");
  },
};

const elementsCreate: Command = {
  path: ["elements", "create"],
  summary: "create an element: version 1 from a file",
  usage: "APP/ENV/KEY",
  details: `The content type comes from --type, else the file's extension (.json .yaml .yml
.toml .ini .properties .txt). Example:
  cassemctl elements create shop/prod/timeout --file timeout.json --publish`,
  flags: {
    file: { type: "string", short: "f", value: "FILE", help: "the content (- for stdin)" },
    type: { type: "string", short: "t", value: "TYPE", help: `${CONTENT_TYPES.join(", ")}` },
    secret: { type: "boolean", help: "store its versions encrypted" },
    schema: { type: "string", value: "FILE", help: "a JSON Schema every version must satisfy" },
    publish: { type: "boolean", help: "also make version 1 live" },
    remark: REMARK,
  },
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "elements create");
    const file = str(p, "file");
    const contentType = contentTypeOf(p, file === "-" ? undefined : file);
    const raw = await readContent(ctx, file, `create ${t.app}/${t.env}/${t.key}`);
    const schemaFile = str(p, "schema");
    let schema: unknown = undefined;
    if (schemaFile !== undefined) {
      try {
        schema = JSON.parse(await readContent(ctx, schemaFile, "read the schema"));
      } catch (e) {
        if (e instanceof CtlError) throw e;
        throw new UsageError(
          `Cannot use --schema ${schemaFile} as it is not JSON: ${(e as Error).message}`,
        );
      }
    }
    const v = await (await ctx.adm()).json<Version>("POST", elementPath(t), {
      body: {
        raw,
        contentType,
        remark: str(p, "remark"),
        secret: bool(p, "secret"),
        schema,
        publish: bool(p, "publish"),
      },
    });
    if (ctx.out.json) return ctx.out.data(v);
    ctx.out.line(
      `Created ${t.app}/${t.env}/${t.key} (${contentType}) version ${v.version}${
        v.live ? ", live" : ""
      }`,
    );
  },
};

const elementsRm: Command = {
  path: ["elements", "rm"],
  summary: "remove an element with every version (clients lose it)",
  usage: "APP/ENV/KEY",
  flags: {
    yes: { type: "boolean", short: "y", help: "do not ask" },
    "if-match": { type: "string", value: "ETAG", help: "only if it is still at this ETag" },
  },
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "elements rm");
    const name = `${t.app}/${t.env}/${t.key}`;
    await confirmRemoval(ctx, p, `element ${name}`, name);
    await (await ctx.adm()).json("DELETE", elementPath(t), { ifMatch: str(p, "if-match") });
    if (ctx.out.json) ctx.out.data({ removed: name });
    else ctx.out.line(`Removed ${name}`);
  },
};

const elementsVersions: Command = {
  path: ["elements", "versions"],
  summary: "list an element's versions",
  usage: "APP/ENV/KEY",
  flags: {},
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "elements versions");
    const items = await (await ctx.adm()).all<VersionInfo>(`${elementPath(t)}/versions`);
    ctx.out.table(items, [
      { head: "VERSION", cell: (v) => String(v.version) },
      {
        head: "STATE",
        cell: (v) => (v.live ? "live" : v.gray ? "gray" : v.published ? "-" : "unpublished"),
      },
      { head: "AUTHOR", cell: (v) => v.author },
      { head: "CREATED", cell: (v) => time(v.createdAt) },
      { head: "FINGERPRINT", cell: (v) => v.fingerprint.slice(0, 12) },
      { head: "REMARK", cell: (v) => v.remark },
    ], { json: { items } });
  },
};

const elementsSchema: Command = {
  path: ["elements", "schema"],
  summary: "set (--file) or remove (--clear) an element's JSON Schema",
  usage: "APP/ENV/KEY",
  flags: {
    file: { type: "string", short: "f", value: "FILE", help: "the JSON Schema (- for stdin)" },
    clear: { type: "boolean", help: "remove the schema" },
    remark: REMARK,
  },
  arity: [1, 1],
  async run(ctx, p) {
    const t = elementTarget(p.args[0], "elements schema");
    const clear = bool(p, "clear");
    const file = str(p, "file");
    if (clear === (file !== undefined)) {
      throw new UsageError(
        "Cannot set the schema as it needs exactly one of --file FILE and --clear",
      );
    }
    let schema: unknown = null;
    if (file !== undefined) {
      try {
        schema = JSON.parse(await readContent(ctx, file, "read the schema"));
      } catch (e) {
        if (e instanceof CtlError) throw e;
        throw new UsageError(
          `Cannot use --file ${file} as it is not JSON: ${(e as Error).message}`,
        );
      }
    }
    const e = await (await ctx.adm()).json<Element>("PUT", `${elementPath(t)}/schema`, {
      body: { schema, remark: str(p, "remark") },
    });
    if (ctx.out.json) ctx.out.data(e);
    else {ctx.out.line(
        `${clear ? "Removed the schema of" : "Set the schema of"} ${t.app}/${t.env}/${t.key}`,
      );}
  },
};

/** The element commands. */
export const ELEMENT_COMMANDS: Command[] = [
  elementsLs,
  elementsGet,
  elementsCreate,
  elementsRm,
  elementsVersions,
  elementsSchema,
];
