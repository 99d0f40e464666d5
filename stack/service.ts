/**
 * One service of the stack (a cassemdb node, cassemadm, cassemagent) under
 * the shared supervisor (`shared/supervisor.ts`): its output goes to its log
 * file (and, with `--verbose`, to stderr), it knows when each start of it is
 * ready to serve (a line it prints, or an HTTP probe), and it reports its
 * life on stderr: an exit with its last lines, the restart, and when it is
 * back.
 *
 * @module
 */

import { join } from "node:path";
import {
  type ChildCommand,
  describeExit,
  type OutputStream,
  SupervisedChild,
} from "../shared/supervisor.ts";
import { LogFile } from "./log_file.ts";

/** Lines of a service's output kept to show when it exits unexpectedly. */
const TAIL_LINES = 8;

/** How a {@linkcode StackService} is run. */
export interface ServiceOptions {
  /** Its name in messages ("cassemadm", "cassemdb node 2"). */
  name: string;
  /** Its log file's name in the logs dir, without `.log`. */
  logName: string;
  /** The logs dir. */
  logsDir: string;
  /** The command line of each start. */
  command: () => ChildCommand;
  /** A line it prints once it serves (checked on every start). */
  readyLine?: (line: string) => boolean;
  /** Polled (every 250 ms) after each start until it answers true: it serves. */
  probe?: () => Promise<boolean>;
  /**
   * Sees every line first and answers the line to log and show (say, with a
   * secret masked).
   */
  filter?: (stream: OutputStream, line: string) => string;
  /** Also print every line on stderr, prefixed with the name. */
  verbose: boolean;
}

/** A supervised service of the stack. */
export class StackService {
  /** The options it runs with. */
  readonly opts: ServiceOptions;
  readonly #child: SupervisedChild;
  readonly #log: LogFile;
  readonly #tail: string[] = [];
  #ready = false;
  #down = false;
  #start = 0;

  /** A service to run with `opts`; nothing starts before {@linkcode run}. */
  constructor(opts: ServiceOptions) {
    this.opts = opts;
    this.#log = LogFile.open(join(opts.logsDir, `${opts.logName}.log`));
    this.#child = new SupervisedChild(
      { name: opts.name, command: opts.command, detached: true },
      {
        report: (line) => console.error(`[cassem] ${line}`),
        onLine: (stream, raw) => this.#line(stream, raw),
        onStart: (pid, start) => this.#started(pid, start),
        onExit: (status) => this.#exited(status),
      },
    );
  }

  /**
   * Runs it until {@linkcode stop}, or until it stays down; resolves true
   * after a clean stop.
   */
  async run(): Promise<boolean> {
    try {
      return await this.#child.run();
    } finally {
      this.#down = true;
      this.#ready = false;
    }
  }

  /**
   * Resolves once the current start serves (across restarts).
   * @throws {Error} when it stays down, or does not serve within `timeoutMs`.
   */
  async waitReady(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!this.#ready) {
      if (this.#down) {
        throw new Error(`${this.opts.name} stays down: see ${this.#log.path}`);
      }
      if (Date.now() > end) {
        throw new Error(
          `${this.opts.name} does not serve after ${
            Math.round(timeoutMs / 1000)
          } s: see ${this.#log.path}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops it by its PID (SIGTERM, then SIGKILL after `graceMs`), for good. */
  async stop(graceMs: number): Promise<void> {
    await this.#child.stop({ signal: "SIGTERM", graceMs });
  }

  /** Kills it at once with SIGKILL, for good (a second Ctrl-C). */
  async kill(): Promise<void> {
    await this.#child.stop({ signal: "SIGKILL", graceMs: 1_000 });
  }

  /** Closes its log file (once it has stopped). */
  close(): void {
    this.#log.close();
  }

  #line(stream: OutputStream, raw: string): void {
    const line = this.opts.filter ? this.opts.filter(stream, raw) : raw;
    this.#log.write(line);
    this.#tail.push(line);
    if (this.#tail.length > TAIL_LINES) this.#tail.shift();
    if (this.opts.verbose) console.error(`[${this.opts.name}] ${line}`);
    if (!this.#ready && this.opts.readyLine?.(raw)) this.#becameReady(this.#start);
  }

  #started(pid: number, start: number): void {
    this.#start = start;
    this.#ready = false;
    this.#tail.length = 0;
    this.#log.write(`---- ${new Date().toISOString()} started, pid ${pid}`);
    console.error(
      `[cassem] ${this.opts.name} ${start > 1 ? "started again" : "started"}, pid ${pid}`,
    );
    const probe = this.opts.probe;
    if (!probe) return;
    void (async () => {
      while (this.#start === start && !this.#ready && !this.#down) {
        if (await probe().catch(() => false)) {
          this.#becameReady(start);
          return;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
  }

  #becameReady(start: number): void {
    if (start !== this.#start || this.#ready) return;
    this.#ready = true;
    if (start > 1) console.error(`[cassem] ${this.opts.name} is back`);
  }

  #exited(status: Deno.CommandStatus): void {
    this.#ready = false;
    this.#log.write(`---- ${new Date().toISOString()} exited (${describeExit(status)})`);
    if (this.opts.verbose || this.#tail.length === 0) return;
    console.error(`[cassem] ${this.opts.name}'s last lines (${this.#log.path}):`);
    for (const l of this.#tail) console.error(`[${this.opts.name}]   ${l}`);
  }
}
