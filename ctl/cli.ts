/**
 * cassemctl's dispatcher: finds the command named by the first words of the
 * command line, prints help (`cassemctl --help`, `cassemctl apps --help`,
 * `cassemctl apps create --help`), runs the command, and turns what it
 * throws into one line on stderr and an exit code (`errors.ts`).
 *
 * @module
 */

import { DbError } from "../shared/db/mod.ts";
import { type Command, Ctx, type Flag, flagsOf, parseCommand } from "./command.ts";
import { COMMANDS } from "./commands/mod.ts";
import { CtlError, EXIT_OK, exitCodeOf, fromDbError, UsageError } from "./errors.ts";
import type { CtlIo } from "./io.ts";

/** The exit codes, for help. */
export const EXIT_CODES = `exit codes:
  0  done
  1  another failure (a server error, an unexpected answer)
  2  usage: an unknown command or flag, a missing or malformed argument
  3  auth: not logged in, credentials refused or expired, or not allowed
  4  not found: the app, env, element, version or key does not exist
  5  conflict: it exists, changed meanwhile, or a version is pending
  6  unreachable: cassemadm (or cassemdb) cannot be reached or cannot serve
  7  invalid input: the server refused the content or a field`;

/** The groups of the overview, in order, each with a title. */
const GROUPS: [string, (c: Command) => boolean][] = [
  ["account", (c) => ["login", "logout", "whoami", "passwd"].includes(c.path[0]!)],
  ["apps, envs and access", (c) => ["apps", "envs", "members", "tokens"].includes(c.path[0]!)],
  ["elements", (c) => ["elements", "edit", "diff"].includes(c.path[0]!)],
  [
    "releases",
    (c) =>
      ["publish", "gray", "promote", "abort", "rollback", "approve", "reject", "approvals"]
        .includes(
          c.path[0]!,
        ),
  ],
  ["moving config", (c) => ["export", "import"].includes(c.path[0]!)],
  ["cluster and audit", (c) => ["instances", "agents", "oplog"].includes(c.path[0]!)],
  ["cassemdb directly (like etcdctl)", (c) => c.path[0] === "db"],
];

/** `cassemctl --help`. */
export function overview(commands: readonly Command[] = COMMANDS): string {
  const lines = [
    "cassemctl: the command line of cassem (cassemadm's REST API; cassemdb with `db`)",
    "",
    "usage: cassemctl COMMAND [ARGS] [--server URL] [--json] [--help]",
    "",
    "Targets are paths: APP, APP/ENV, APP/ENV/KEY (e.g. shop/prod/timeout).",
  ];
  const width = Math.max(...commands.map((c) => c.path.join(" ").length)) + 2;
  for (const [title, test] of GROUPS) {
    lines.push("", `${title}:`);
    for (const c of commands.filter(test)) {
      lines.push(`  ${c.path.join(" ").padEnd(width)}${c.summary}`);
    }
  }
  lines.push(
    "",
    "credentials: `cassemctl login` keeps a token per server in ~/.config/cassem/ctl.json",
    "(mode 0600; CASSEM_CONFIG moves it); CASSEM_TOKEN (an API token) overrides it.",
    "Run `cassemctl COMMAND --help` for a command's arguments and flags.",
    "",
    EXIT_CODES,
  );
  return lines.join("\n");
}

function flagLines(flags: Record<string, Flag>): string[] {
  const entries = Object.entries(flags).map(([name, f]) => {
    const head = `${f.short ? `-${f.short}, ` : ""}--${name}${f.value ? ` ${f.value}` : ""}`;
    return [head, f.help + (f.multiple ? " (repeatable)" : "")] as const;
  });
  const w = Math.max(...entries.map(([h]) => h.length)) + 2;
  return entries.map(([h, text]) => `  ${h.padEnd(w)}${text}`);
}

/** `cassemctl WORDS --help` for one command. */
export function commandHelp(cmd: Command): string {
  const name = `cassemctl ${cmd.path.join(" ")}`;
  const lines = [
    `${name}: ${cmd.summary}`,
    "",
    `usage: ${name}${cmd.usage ? ` ${cmd.usage}` : ""} [flags]`,
  ];
  if (cmd.details) lines.push("", cmd.details);
  lines.push("", "flags:", ...flagLines(flagsOf(cmd)), "", EXIT_CODES);
  return lines.join("\n");
}

/** `cassemctl GROUP --help`: the group's commands. */
function groupHelp(group: string, commands: readonly Command[]): string {
  const list = commands.filter((c) => c.path[0] === group && c.path.length > 1);
  const width = Math.max(...list.map((c) => c.path.join(" ").length)) + 2;
  return [
    `cassemctl ${group}: ${list.length} commands`,
    "",
    ...list.map((c) => `  ${c.path.join(" ").padEnd(width)}${c.summary}`),
    "",
    `Run \`cassemctl ${group} COMMAND --help\` for its arguments and flags.`,
  ].join("\n");
}

/**
 * Finds the command `argv` names and the rest of `argv`.
 * @throws {UsageError} naming the unknown word.
 */
export function findCommand(
  argv: string[],
  commands: readonly Command[] = COMMANDS,
): { cmd: Command; rest: string[] } | { group: string } | "overview" {
  const first = argv[0];
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    return "overview";
  }
  const top = commands.filter((c) => c.path[0] === first);
  if (top.length === 0) {
    throw new UsageError(
      `Cannot run ${JSON.stringify(first)} as it is not a cassemctl command: see cassemctl --help`,
    );
  }
  const single = top.find((c) => c.path.length === 1);
  if (single) return { cmd: single, rest: argv.slice(1) };
  const second = argv[1];
  if (second === undefined || second === "--help" || second === "-h") return { group: first };
  const cmd = top.find((c) => c.path[1] === second);
  if (!cmd) {
    throw new UsageError(
      `Cannot run cassemctl ${first} ${
        JSON.stringify(second)
      } as it is not a command of ${first} (${
        top.map((c) => c.path[1]).join(", ")
      }): see cassemctl ${first} --help`,
    );
  }
  return { cmd, rest: argv.slice(2) };
}

/** Runs cassemctl with `argv` on `io`; resolves with the exit code. */
export async function runCtl(
  argv: string[],
  io: CtlIo,
  commands: readonly Command[] = COMMANDS,
): Promise<number> {
  let ctx: Ctx | undefined;
  try {
    const found = findCommand(argv, commands);
    if (found === "overview") {
      io.stdout(overview(commands) + "\n");
      return EXIT_OK;
    }
    if ("group" in found) {
      io.stdout(groupHelp(found.group, commands) + "\n");
      return EXIT_OK;
    }
    const parsed = parseCommand(found.cmd, found.rest);
    if (parsed.flags.help) {
      io.stdout(commandHelp(found.cmd) + "\n");
      return EXIT_OK;
    }
    ctx = new Ctx(io, parsed);
    await found.cmd.run(ctx, parsed);
    return EXIT_OK;
  } catch (e) {
    const err = e instanceof DbError ? fromDbError(e, ctx?.dbEndpoints ?? []) : e;
    if (!(err instanceof CtlError)) throw e;
    io.stderr(`cassemctl: ${err.message.replace(/\s*\n\s*/g, " ")}\n`);
    return exitCodeOf(err);
  }
}
