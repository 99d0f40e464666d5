/**
 * Gives memory the process freed back to the operating system, on Linux
 * with glibc: `malloc_trim(0)` through `Deno.dlopen`.
 *
 * Why: the agent's bursts of short-lived buffers (the first listing of
 * everything it serves, a cold read of many bodies) are allocated with
 * `malloc` outside the JS heap. glibc keeps the pages of freed chunks in its
 * arenas, so after loading 100,000 elements the process kept about 340 MiB
 * of freed memory resident (measured: RSS 518 MiB against a JS heap of
 * 71 MiB and 108 MiB of live buffers); trimming brought it to 283 MiB
 * (`bench/README.md`). A trim releases only free pages: it changes nothing
 * the process holds, and takes well under a millisecond when there is
 * little to release.
 *
 * Elsewhere (another libc or OS, or without the FFI permission) it does
 * nothing.
 *
 * @module
 */

/** The libc trim function, or null when this platform has none we can call. */
let trimFn: (() => void) | null | undefined;

function load(): (() => void) | null {
  if (Deno.build.os !== "linux") return null;
  try {
    const lib = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return () => void lib.symbols.malloc_trim(0n);
  } catch {
    // Not glibc, or no --allow-ffi: nothing to trim with.
    return null;
  }
}

/** Releases freed `malloc` memory to the OS now; answers whether it could. */
export function trimMemory(): boolean {
  if (trimFn === undefined) trimFn = load();
  if (trimFn === null) return false;
  trimFn();
  return true;
}

/**
 * Trims every `everyMs` (default 30,000) until the returned function is
 * called. The timer does not keep the process alive.
 */
export function startMemoryTrim(everyMs = 30_000): () => void {
  if (!trimMemory()) return () => {};
  const timer = setInterval(trimMemory, everyMs);
  Deno.unrefTimer(timer);
  return () => clearInterval(timer);
}
