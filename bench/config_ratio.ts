/**
 * How well bodies compress (a development tool, not part of `deno task
 * bench`): the raw-DEFLATE ratio of `--bytes` slices of the config files
 * under `--dir` (JSON, YAML, TOML, INI, properties, .conf), beside the
 * memory benchmark's generated bodies of each kind (`bench/_config_text.ts`),
 * and what inflating one slice costs (node:zlib, as the agent's body store
 * does). The store compresses each body on its own, so each slice is
 * compressed on its own too. With `--others`, brotli (quality 5 and 11) and
 * zstd (level 3) on the same slices, for comparison.
 *
 *   deno run -A bench/config_ratio.ts --dir ~/.cache/deno/npm --dir /etc [--others]
 *
 * @module
 */

import zlib from "node:zlib";
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
    others: { type: "boolean", default: false },
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
const Z = zlib.constants as Record<string, number>;
/** Compressors by name: compress, decompress. */
const CODECS: Record<string, [(b: Uint8Array) => Uint8Array, (c: Uint8Array) => Uint8Array]> = {
  deflate: [(b) => zlib.deflateRawSync(b), (c) => zlib.inflateRawSync(c)],
  ...(values.others
    ? {
      "brotli 5": [
        (b) => zlib.brotliCompressSync(b, { params: { [Z.BROTLI_PARAM_QUALITY!]: 5 } }),
        (c) => zlib.brotliDecompressSync(c),
      ],
      "brotli 11": [
        (b) => zlib.brotliCompressSync(b, { params: { [Z.BROTLI_PARAM_QUALITY!]: 11 } }),
        (c) => zlib.brotliDecompressSync(c),
      ],
      "zstd 3": [(b) => zlib.zstdCompressSync(b), (c) => zlib.zstdDecompressSync(c)],
    }
    : {}),
};

/** Per codec: the ratio over `texts`, and µs to compress and to decompress one. */
function measure(texts: string[]): string[] {
  const bytes = texts.map((t) => enc.encode(t));
  const raw = bytes.reduce((n, b) => n + b.length, 0);
  return Object.values(CODECS).flatMap(([compress, decompress]) => {
    let t0 = performance.now();
    const packed = bytes.map(compress);
    const compressUs = (performance.now() - t0) * 1000 / bytes.length;
    decompress(packed[0]!); // the first call pays for loading
    t0 = performance.now();
    for (const p of packed) decompress(p);
    const decompressUs = (performance.now() - t0) * 1000 / bytes.length;
    const out = packed.reduce((n, p) => n + p.length, 0);
    return [fmt(raw / Math.max(1, out), 2), fmt(compressUs, 1), fmt(decompressUs, 1)];
  });
}

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
  rows.push([`files under ${dir}`, fmt(slices.length), ...measure(slices)]);
}
for (const kind of BODY_KINDS) {
  const texts = Array.from({ length: 2000 }, (_, i) => benchBody(kind, `e${i}`, size, i));
  rows.push([`benchmark bodies: ${kind}`, fmt(texts.length), ...measure(texts)]);
}
printTable([
  "bodies",
  `slices of ${fmt(size)} B`,
  ...Object.keys(CODECS).flatMap((c) => [`${c} ratio`, "µs to pack", "µs to unpack"]),
], rows);
