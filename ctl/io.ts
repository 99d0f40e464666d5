/**
 * Everything cassemctl takes from its process, in one interface, so that
 * the commands run the same in the real CLI ({@linkcode processIo}) and in
 * tests (an in-memory io over `app.request`).
 *
 * @module
 */

/** What a command may touch outside itself. */
export interface CtlIo {
  /** Writes `text` to standard output as is. */
  stdout(text: string): void;
  /** Writes `text` to standard error as is. */
  stderr(text: string): void;
  /** Reads standard input to its end. */
  readStdin(): Promise<string>;
  /** Whether standard input is a terminal (prompts are possible). */
  readonly stdinIsTty: boolean;
  /** Whether standard output is a terminal. */
  readonly stdoutIsTty: boolean;
  /** An environment variable. */
  env(name: string): string | undefined;
  /** How HTTP requests are sent (the global `fetch`, or a test's). */
  fetch(request: Request): Promise<Response>;
  /** Asks `question` on the terminal and reads an answer without echoing it. */
  promptSecret(question: string): Promise<string>;
  /** Asks `question` on the terminal and reads an answer. */
  prompt(question: string): Promise<string>;
  /**
   * Runs `command` (a shell command line such as `$EDITOR`) on `file` with
   * the terminal, and resolves with its exit code.
   */
  runEditor(command: string, file: string): Promise<number>;
  /** Aborted on SIGINT/SIGTERM (for `db watch`). */
  readonly signal: AbortSignal;
}

const enc = new TextEncoder();

function writeAll(w: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = enc.encode(text);
  let done = 0;
  while (done < bytes.length) done += w.writeSync(bytes.subarray(done));
}

async function readLine(): Promise<string> {
  const buf = new Uint8Array(1);
  const bytes: number[] = [];
  while (true) {
    const n = await Deno.stdin.read(buf);
    if (n === null || buf[0] === 10) break;
    if (buf[0] === 3) throw new Error("interrupted"); // Ctrl-C in raw mode
    if (buf[0] === 13) break;
    bytes.push(buf[0]!);
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The io of the real process. */
export function processIo(): CtlIo {
  const ctl = new AbortController();
  const stop = () => ctl.abort();
  try {
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  } catch { /* no signals here (Windows): Ctrl-C ends the process */ }
  return {
    stdout: (t) => writeAll(Deno.stdout, t),
    stderr: (t) => writeAll(Deno.stderr, t),
    readStdin: () => new Response(Deno.stdin.readable).text(),
    stdinIsTty: Deno.stdin.isTerminal(),
    stdoutIsTty: Deno.stdout.isTerminal(),
    env: (name) => Deno.env.get(name),
    fetch: (r) => fetch(r),
    async promptSecret(question) {
      writeAll(Deno.stderr, question);
      Deno.stdin.setRaw(true);
      try {
        return await readLine();
      } finally {
        Deno.stdin.setRaw(false);
        writeAll(Deno.stderr, "\n");
      }
    },
    async prompt(question) {
      writeAll(Deno.stderr, question);
      return await readLine();
    },
    async runEditor(command, file) {
      // Through the shell, as git does: EDITOR may carry arguments ("code -w").
      const child = new Deno.Command("sh", {
        args: ["-c", `${command} "$1"`, "sh", file],
        stdin: "inherit",
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      return (await child.status).code;
    },
    signal: ctl.signal,
  };
}
