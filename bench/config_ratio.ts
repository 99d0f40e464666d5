/**
 * How well bodies deflate (a development tool, not part of `deno task
 * bench`): the raw-DEFLATE ratio of `--bytes` slices of the config files
 * under `--dir` (JSON, YAML, TOML, INI, properties, .conf), beside the
 * memory benchmark's generated bodies of each kind (`bench/_config_text.ts`).
 * The agent's body store deflates each body on its own, so each slice is
 * deflated on its own too.
 *
 *   deno run -A bench/config_ratio.ts --dir ~/.cache/deno/npm --dir /etc
 *
 * @module
 */

import { deflateRawSync } from "node:zlib";
import { parseArgs } from "node:util";
import { benchBody, BODY_KINDS } from "./_config_text.ts";
import { fmt, printTable } from "./_stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  strict: true,
  options: {
    dir: { type: "string", multiple: true, default: [] },
    bytes: { type: "string", default: "1024" },
    max: { type: "string", default: "20000" },
  },
});
const size = Number(values.bytes);
const max = Number(values.max);
const CONFIG = /\.(json|ya?ml|toml|ini|properties|conf|cfg)$/;
const SKIP = /(lock|\.map|\.min)\b|package-lock|tsconfig\.tsbuildinfo/;

async function* files(dir: string, depth = 0): AsyncGenerator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch {
    return;
  }
  for (const e of entries) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory && depth < 12) yield* files(p, depth + 1);
    else if (e.isFile && CONFIG.test(e.name) && !SKIP.test(e.name)) yield p;
  }
}

const enc = new TextEncoder();
const ratio = (texts: Iterable<string>) => {
  let raw = 0, deflated = 0, n = 0;
  for (const t of texts) {
    const b = enc.encode(t);
    raw += b.length;
    deflated += deflateRawSync(b).length;
    n++;
  }
  return { n, ratio: raw / Math.max(1, deflated) };
};

const rows: string[][] = [];
for (const dir of values.dir!) {
  const slices: string[] = [];
  for await (const f of files(dir)) {
    let t: string;
    try {
      t = await Deno.readTextFile(f);
    } catch {
      continue;
    }
    // Up to 8 slices a file, so that a few big files do not stand for all.
    for (let off = 0; off + size <= t.length && off < 8 * size; off += size) {
      slices.push(t.slice(off, off + size));
    }
    if (slices.length >= max) break;
  }
  const r = ratio(slices);
  rows.push([`files under ${dir}`, fmt(r.n), fmt(r.ratio, 2)]);
}
for (const kind of BODY_KINDS) {
  const r = ratio(Array.from({ length: 2000 }, (_, i) => benchBody(kind, `e${i}`, size, i)));
  rows.push([`benchmark bodies: ${kind}`, fmt(r.n), fmt(r.ratio, 2)]);
}
printTable(["bodies", `slices of ${fmt(size)} B`, "deflate ratio"], rows);
