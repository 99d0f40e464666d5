/**
 * The names cassem accepts: app ids, env names, element keys, accounts,
 * client and agent ids. One pattern per kind, checked here and nowhere else,
 * so that every name is also a valid cassemdb key segment (no "/", no "."
 * or ".." segment, no control characters) and cannot collide with the
 * reserved `_`-prefixed records of the layout (`layout.md`).
 *
 * @module
 */

import { z } from "zod";

/** The kinds of names, each with its own pattern. */
export type NameKind = "app" | "env" | "element" | "account" | "client" | "agent";

/** The pattern of each kind of name; none can start with "_" or "." or contain "/". */
export const NAME_PATTERNS: Readonly<Record<NameKind, RegExp>> = {
  /** App ids: lowercase, 1..64 characters. */
  app: /^[a-z0-9][a-z0-9._-]{0,63}$/,
  /** Env names: lowercase, 1..64 characters. */
  env: /^[a-z0-9][a-z0-9._-]{0,63}$/,
  /** Element keys: 1..128 characters, case-sensitive. */
  element: /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
  /** Accounts: 1..128 characters, e-mail addresses allowed. */
  account: /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/,
  /** Client ids (application instances): 1..128 characters. */
  client: /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/,
  /** Agent ids: 1..128 characters. */
  agent: /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/,
};

/** How each kind is described in messages, and the rule stated for it. */
const RULES: Readonly<Record<NameKind, { what: string; rule: string }>> = {
  app: { what: "an app id", rule: "1 to 64 of a-z 0-9 . _ - starting with a letter or digit" },
  env: { what: "an env name", rule: "1 to 64 of a-z 0-9 . _ - starting with a letter or digit" },
  element: {
    what: "an element key",
    rule: "1 to 128 of A-Z a-z 0-9 . _ - starting with a letter or digit",
  },
  account: {
    what: "an account",
    rule: "1 to 128 of A-Z a-z 0-9 . _ @ + - starting with a letter or digit",
  },
  client: {
    what: "a client id",
    rule: "1 to 128 of A-Z a-z 0-9 . _ : @ - starting with a letter or digit",
  },
  agent: {
    what: "an agent id",
    rule: "1 to 128 of A-Z a-z 0-9 . _ : @ - starting with a letter or digit",
  },
};

/**
 * Why `value` is not a valid name of `kind` (a phrase such as `an app id
 * must be 1 to 64 of …: current value is "A"`), or `undefined` when it is.
 */
export function nameProblem(kind: NameKind, value: unknown): string | undefined {
  const { what, rule } = RULES[kind];
  if (typeof value !== "string") return `${what} must be a string: current type is ${typeof value}`;
  if (NAME_PATTERNS[kind].test(value)) return undefined;
  const shown = value.length > 140 ? `${value.slice(0, 140)}…` : value;
  return `${what} must be ${rule}: current value is ${JSON.stringify(shown)}`;
}

/** Whether `value` is a valid name of `kind`. */
export function isName(kind: NameKind, value: unknown): value is string {
  return typeof value === "string" && NAME_PATTERNS[kind].test(value);
}

/** A thrown {@linkcode nameProblem}: `field` names the request field or argument. */
export class InvalidNameError extends TypeError {
  /** The kind of name that was invalid. */
  readonly kind: NameKind;
  /** The field or argument that held it. */
  readonly field: string;
  /** An error for `field`, which held an invalid name of `kind` (`problem` from {@linkcode nameProblem}). */
  constructor(kind: NameKind, field: string, problem: string) {
    super(`Cannot use ${field} as ${problem}`);
    this.name = "InvalidNameError";
    this.kind = kind;
    this.field = field;
  }
}

/**
 * Returns `value` when it is a valid name of `kind`.
 * @throws {InvalidNameError} naming `field` when it is not.
 */
export function checkName(kind: NameKind, value: unknown, field: string = kind): string {
  const problem = nameProblem(kind, value);
  if (problem !== undefined) throw new InvalidNameError(kind, field, problem);
  return value as string;
}

/** A zod schema of a name of `kind`, with the same rule and message. */
export function nameSchema(kind: NameKind): z.ZodString {
  return z.string().regex(NAME_PATTERNS[kind], { error: `must be ${RULES[kind].rule}` });
}

/** zod schema of an app id. */
export const AppId: z.ZodString = nameSchema("app");
/** zod schema of an env name. */
export const EnvName: z.ZodString = nameSchema("env");
/** zod schema of an element key. */
export const ElementKey: z.ZodString = nameSchema("element");
/** zod schema of an account. */
export const Account: z.ZodString = nameSchema("account");
/** zod schema of a client id. */
export const ClientId: z.ZodString = nameSchema("client");
/** zod schema of an agent id. */
export const AgentId: z.ZodString = nameSchema("agent");
