/**
 * Test helpers: a {@linkcode CtlIo} in memory, whose HTTP requests go to a
 * cassemadm app in the same process (`createTestAdm`, on `MemoryDb`), so
 * that commands run end to end without sockets; and {@linkcode ctl}, which
 * runs one command line on it and answers its exit code and output.
 *
 * @module
 */

import { runCtl } from "./cli.ts";
import type { CtlIo } from "./io.ts";

/** What {@linkcode memoryIo} is made with. */
export interface MemoryIoOptions {
  /** Handles every HTTP request (e.g. `(r) => adm.app.request(r)`). */
  fetch?: (request: Request) => Promise<Response> | Response;
  /** The environment. */
  env?: Record<string, string>;
  /** What stdin holds. */
  stdin?: string;
  /** Whether stdin is a terminal (default false). */
  tty?: boolean;
  /** Answers to prompts, in order. */
  answers?: string[];
  /** Plays the editor: changes the file (default: leaves it). Answers the exit code. */
  editor?: (file: string) => Promise<number> | number;
}

/** A {@linkcode CtlIo} that keeps what is written. */
export interface MemoryIo extends CtlIo {
  /** Everything written to stdout. */
  out: string;
  /** Everything written to stderr. */
  err: string;
}

/** An in-memory io (see the module doc). */
export function memoryIo(opts: MemoryIoOptions = {}): MemoryIo {
  const answers = [...(opts.answers ?? [])];
  const io: MemoryIo = {
    out: "",
    err: "",
    stdout(t) {
      io.out += t;
    },
    stderr(t) {
      io.err += t;
    },
    readStdin: () => Promise.resolve(opts.stdin ?? ""),
    stdinIsTty: opts.tty ?? false,
    stdoutIsTty: false,
    env: (n) => opts.env?.[n],
    fetch: async (r) => {
      if (!opts.fetch) {
        throw new TypeError("error sending request: Connection refused (os error 111)");
      }
      return await opts.fetch(r);
    },
    promptSecret: () => Promise.resolve(answers.shift() ?? ""),
    prompt: () => Promise.resolve(answers.shift() ?? ""),
    runEditor: async (_cmd, file) => (opts.editor ? await opts.editor(file) : 0),
    signal: new AbortController().signal,
  };
  return io;
}

/** What one {@linkcode ctl} run gave. */
export interface CtlRun {
  /** The exit code. */
  code: number;
  /** stdout. */
  out: string;
  /** stderr. */
  err: string;
}

/** Runs `cassemctl ...args` on a fresh {@linkcode memoryIo} made with `opts`. */
export async function ctl(args: string[], opts: MemoryIoOptions = {}): Promise<CtlRun> {
  const io = memoryIo(opts);
  const code = await runCtl(args, io);
  return { code, out: io.out, err: io.err };
}
