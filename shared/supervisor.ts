/**
 * Runs a child process as a service manager would: starts it, hands every
 * line of its output to the caller, starts it again when it dies on its own
 * (at most {@linkcode MAX_RESTARTS} times a minute, after
 * {@linkcode RESTART_DELAY_MS}), leaves it down when it refuses its flags
 * (exit code 2: starting it again cannot help), and stops it by its PID.
 *
 * Used by cassemdb's local cluster launcher (`deno task db --cluster N`) and
 * by `deno task start` (`stack/`), which supervise their children alike.
 *
 * The child's stdin is a pipe that nothing writes to, held open by this
 * process for as long as it lives: the kernel closes it when this process
 * dies, however it dies (kill -9 included), so a child that stops at the end
 * of its stdin (cassemdb's `--stop-with-stdin`) never outlives it.
 *
 * ```ts ignore
 * const child = new SupervisedChild({ name: "node 1", command: () => ({ cmd, args }) }, {
 *   report: (line) => console.error(`[cluster] ${line}`),
 *   onLine: (stream, line) => console.error(`[node 1] ${line}`),
 * });
 * const ok = await child.run(); // false when it stayed down
 * ```
 *
 * @module
 */

/** Restarts of one child allowed within {@linkcode RESTART_WINDOW_MS} before it stays down. */
export const MAX_RESTARTS = 5;
/** The window {@linkcode MAX_RESTARTS} counts restarts in, in ms. */
export const RESTART_WINDOW_MS = 60_000;
/** How long a child that died stays down before it is started again, in ms. */
export const RESTART_DELAY_MS = 1_000;
/** How long the output of a child that exited may take to drain, in ms. */
const DRAIN_MS = 2_000;
/** The exit code of a child whose flags are wrong or contradict its data: it stays down. */
export const EXIT_USAGE = 2;

/** What to run, built again for every start. */
export interface ChildCommand {
  /** The program. */
  cmd: string;
  /** Its arguments. */
  args: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

/** What a {@linkcode SupervisedChild} runs. */
export interface ChildSpec {
  /** Its name in messages ("node 2", "cassemadm"). */
  name: string;
  /** The command line of each start. */
  command: () => ChildCommand;
  /**
   * Start it in a session of its own, so that a signal sent to the
   * terminal's process group (Ctrl-C) reaches only the supervisor, which
   * then stops its children in the order it chooses (default false).
   */
  detached?: boolean;
}

/** Which output stream a line came from. */
export type OutputStream = "stdout" | "stderr";

/** What a {@linkcode SupervisedChild} tells its owner. */
export interface SupervisorHooks {
  /**
   * A one-line message about the child's life (its PID at each start, an
   * exit and what follows), without a prefix of the owner's.
   */
  report(line: string): void;
  /** Every line the child prints, as it arrives. */
  onLine?(stream: OutputStream, line: string): void;
  /** The child was started (again) with this PID. */
  onStart?(pid: number, start: number): void;
  /** The child exited while not being stopped; `restart` says whether it will be started again. */
  onExit?(status: Deno.CommandStatus, restart: boolean): void;
}

/** How a child exited, for messages: "code 1" or "signal SIGKILL". */
export function describeExit(status: Deno.CommandStatus): string {
  return status.signal ? `signal ${status.signal}` : `code ${status.code}`;
}

/**
 * One supervised child process (see the module doc). Nothing runs before
 * {@linkcode run}.
 */
export class SupervisedChild {
  /** The spec it was made with. */
  readonly spec: ChildSpec;
  readonly #hooks: SupervisorHooks;
  #child: Deno.ChildProcess | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  #starts = 0;

  /** A child to run with `spec`, reporting through `hooks`. */
  constructor(spec: ChildSpec, hooks: SupervisorHooks) {
    this.spec = spec;
    this.#hooks = hooks;
  }

  /** The PID of the running process, if one runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** How many times it was started so far. */
  get starts(): number {
    return this.#starts;
  }

  /**
   * Runs the child until {@linkcode stop} or until it stays down (refused
   * its flags, or died too often). Resolves true when it ended by
   * {@linkcode stop} and its last exit was a success, else false.
   */
  async run(): Promise<boolean> {
    const restarts: number[] = [];
    const name = this.spec.name;
    while (!this.#stopping) {
      const { child, drained } = this.#spawn();
      const status = await child.status;
      // Its last lines first (the reason it refused is "above" the report);
      // bounded, as a grandchild may hold the pipes open.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))]);
      clearTimeout(timer);
      const how = describeExit(status);
      if (this.#stopping) {
        // Said, so that an exit code of the owner's has a reason beside it.
        if (!status.success) this.#hooks.report(`${name} exited (${how}) while stopping`);
        return status.success;
      }
      if (status.code === EXIT_USAGE && !status.signal) {
        this.#hooks.onExit?.(status, false);
        this.#hooks.report(`${name} refused to start (${how}, see above); it stays down`);
        return false;
      }
      const now = Date.now();
      while (restarts.length > 0 && now - restarts[0]! > RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length >= MAX_RESTARTS) {
        this.#hooks.onExit?.(status, false);
        this.#hooks.report(`${name} exited (${how}) again; it stays down`);
        return false;
      }
      restarts.push(now);
      this.#hooks.onExit?.(status, true);
      this.#hooks.report(`${name} exited (${how}); restarting it in 1 s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, RESTART_DELAY_MS);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#wake = done;
      });
      this.#wake = undefined;
    }
    return false;
  }

  /**
   * Stops the child: sends `signal` (default SIGTERM) to its PID, and
   * SIGKILL when it has not exited after `graceMs` (default 10,000). No
   * restart follows. Resolves once it is gone; safe to call twice.
   */
  async stop(opts: { signal?: Deno.Signal; graceMs?: number } = {}): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    const child = this.#child;
    if (!child) return;
    try {
      child.kill(opts.signal ?? "SIGTERM");
    } catch { /* already gone */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = await Promise.race([
      child.status.then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), opts.graceMs ?? 10_000))),
    ]);
    clearTimeout(timer);
    if (late) {
      this.#hooks.report(
        `${this.spec.name} (pid ${child.pid}) did not stop within ${
          opts.graceMs ?? 10_000
        } ms; killing it`,
      );
      try {
        child.kill("SIGKILL");
      } catch { /* gone meanwhile */ }
      await child.status;
    }
  }

  /** Sends `signal` to the running process, if any (no restart policy change). */
  signal(signal: Deno.Signal): void {
    try {
      this.#child?.kill(signal);
    } catch { /* gone */ }
  }

  #spawn(): { child: Deno.ChildProcess; drained: Promise<unknown> } {
    const { cmd, args, env } = this.spec.command();
    // stdin: the pipe the child may watch (see the module doc); nothing is written to it.
    const child = new Deno.Command(cmd, {
      args,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      detached: this.spec.detached ?? false,
    }).spawn();
    this.#child = child;
    this.#starts++;
    this.#hooks.onStart?.(child.pid, this.#starts);
    const drained = Promise.all([
      readLines(child.stdout, (l) => this.#hooks.onLine?.("stdout", l)),
      readLines(child.stderr, (l) => this.#hooks.onLine?.("stderr", l)),
    ]);
    return { child, drained };
  }
}

/** Calls `onLine` with every line of `src` (the last one even without its newline). */
export async function readLines(
  src: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let carry = "";
  try {
    for await (const chunk of src.pipeThrough(new TextDecoderStream())) {
      const lines = (carry + chunk).split("\n");
      carry = lines.pop() ?? "";
      for (const l of lines) onLine(l);
    }
  } catch { /* the pipe broke: the process is gone */ }
  if (carry) onLine(carry);
}
