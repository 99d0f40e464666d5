/**
 * The zod schema of every record cassem stores in cassemdb (`layout.md`
 * says under which key). Records are JSON objects. Their schemas are loose
 * (unknown fields are kept), so that an older adm copy that reads, changes
 * and writes back a record written by a newer one keeps the newer fields.
 * Times are ISO 8601 strings in UTC.
 *
 * @module
 */

import { z } from "zod";
import { ContentTypeSchema } from "./content_types.ts";
import { GrayRuleSchema, Labels } from "./gray.ts";
import { Account, AgentId, AppId, ClientId, ElementKey, EnvName } from "./names.ts";
import { SealedSchema } from "./secret_crypto.ts";

/** An ISO 8601 UTC time such as `2025-01-31T12:00:00.000Z`. */
export const Time = z.iso.datetime();
/** A version number: 1, 2, … */
export const Version = z.number().int().min(1);
/** A SHA-256 hex digest (fingerprints and secret hashes). */
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
/** An id of a session, token, request or oplog entry: 16..64 lowercase hex digits. */
export const HexId = z.string().regex(/^[0-9a-f]{16,64}$/);

/**
 * Who made a change: an account, `token:{app}/{id}` for an API token, or
 * `system` (the first start).
 */
export const Operator = z.string().regex(
  /^(?:[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}|token:[a-z0-9][a-z0-9._-]{0,63}\/[0-9a-f]{16,64})$/,
  { error: "must be an account or token:{app}/{id}" },
);

/** Who created a record and when, and who changed it last and when (fields of several records). */
const Stamps = {
  createdBy: Operator,
  createdAt: Time,
  updatedBy: Operator,
  updatedAt: Time,
};

/** The per-app roles, from the least to the most allowed. */
export const ROLES = ["viewer", "developer", "releaser", "owner"] as const;
/** A per-app role. */
export type Role = typeof ROLES[number];
/** zod schema of a role. */
export const RoleSchema: z.ZodEnum<{ [K in Role]: K }> = z.enum(ROLES);

// ---- system ------------------------------------------------------------------------

/** `bootstrapKey()`: the first start created the `admin` account (written once, never changed). */
export const BootstrapRecord = z.looseObject({
  account: Account,
  createdAt: Time,
  /** Random, per starting process: tells the copy that won the race that it did. */
  nonce: HexId,
});
/** See {@linkcode BootstrapRecord}. */
export type BootstrapRecord = z.infer<typeof BootstrapRecord>;

// ---- apps and envs --------------------------------------------------------------------

/** App status: `deprecated` apps are read-only. */
export const AppStatus: z.ZodEnum<{ active: "active"; deprecated: "deprecated" }> = z.enum([
  "active",
  "deprecated",
]);
/** An app status. */
export type AppStatus = z.infer<typeof AppStatus>;

/** `appKey(app)`: an app. */
export const AppRecord = z.looseObject({
  id: AppId,
  description: z.string().max(1024),
  /** The account that owns it (also bound as `owner` in its roles). */
  owner: Account,
  status: AppStatus,
  ...Stamps,
});
/** See {@linkcode AppRecord}. */
export type AppRecord = z.infer<typeof AppRecord>;

/** `envKey(app, env)`: an env of an app. */
export const EnvRecord = z.looseObject({
  app: AppId,
  env: EnvName,
  description: z.string().max(1024),
  /** Publishing needs a second releaser's approval (four-eyes). */
  requireApproval: z.boolean(),
  /** SHA-256 hex of the client secret (`hashSecret`), or null: clients need none. */
  clientSecretHash: Sha256Hex.nullable(),
  /** When the client secret was last generated, rotated or cleared. */
  clientSecretUpdatedAt: Time.nullable(),
  ...Stamps,
});
/** See {@linkcode EnvRecord}. */
export type EnvRecord = z.infer<typeof EnvRecord>;

// ---- elements ---------------------------------------------------------------------------

/** A JSON Schema (draft 2020-12) object an element's structured versions must satisfy. */
export const JsonSchemaDoc = z.record(z.string(), z.unknown());

/** `elementKey(app, env, key)`: an element's metadata. */
export const ElementRecord = z.looseObject({
  app: AppId,
  env: EnvName,
  key: ElementKey,
  contentType: ContentTypeSchema,
  /** Versions are sealed with the keyring (`secret_crypto.ts`). */
  secret: z.boolean(),
  /** Optional JSON Schema every new version must satisfy (structured types only). */
  schema: JsonSchemaDoc.nullable(),
  latestVersion: Version,
  latestFingerprint: Sha256Hex,
  /** The version agents serve to everyone, or null before the first publish. */
  publishedVersion: Version.nullable(),
  publishedFingerprint: Sha256Hex.nullable(),
  /** The newest version, when it was never published (at most one exists). */
  unpublishedVersion: Version.nullable(),
  /** The version in gray release, or null. */
  grayVersion: Version.nullable(),
  ...Stamps,
});
/** See {@linkcode ElementRecord}. */
export type ElementRecord = z.infer<typeof ElementRecord>;

/**
 * A version's text: `raw` exactly as sent, or, for a secret element,
 * `sealed` (ciphertext, key id and IV; opened with `secretAad(app, env,
 * key, version)`). Exactly one is present.
 */
const Body = z.union([
  z.looseObject({ raw: z.string(), sealed: z.undefined().optional() }),
  z.looseObject({ sealed: SealedSchema, raw: z.undefined().optional() }),
]);

/** `versionKey(app, env, key, n)`: one version of an element, never changed once written. */
export const VersionRecord = z.looseObject({
  app: AppId,
  env: EnvName,
  key: ElementKey,
  version: Version,
  contentType: ContentTypeSchema,
  /** `rawFingerprint(raw)`, or `sealedFingerprint(sealed)` for a secret. */
  fingerprint: Sha256Hex,
  author: Operator,
  createdAt: Time,
  remark: z.string().max(1024),
}).and(Body);
/** See {@linkcode VersionRecord}. */
export type VersionRecord = z.infer<typeof VersionRecord>;

/** `approvalKey(app, env, key)`: a publish waiting for a second releaser's approval. */
export const ApprovalRecord = z.looseObject({
  id: HexId,
  app: AppId,
  env: EnvName,
  key: ElementKey,
  /** What was asked: publish to everyone, roll back, or a gray release with `rule`. */
  action: z.enum(["publish", "rollback", "gray"]),
  version: Version,
  rule: GrayRuleSchema.optional(),
  requestedBy: Operator,
  requestedAt: Time,
  remark: z.string().max(1024),
});
/** See {@linkcode ApprovalRecord}. */
export type ApprovalRecord = z.infer<typeof ApprovalRecord>;

// ---- serve records: what agents list and watch under `servePrefix()` ---------------------

/** `serveAppKey(app)`: what agents need of an app. Absent: the app is not served. */
export const ServeAppRecord = z.looseObject({
  app: AppId,
  status: AppStatus,
});
/** See {@linkcode ServeAppRecord}. */
export type ServeAppRecord = z.infer<typeof ServeAppRecord>;

/** `serveEnvKey(app, env)`: what agents need of an env. Absent: the env is not served. */
export const ServeEnvRecord = z.looseObject({
  app: AppId,
  env: EnvName,
  /** SHA-256 hex of the client secret: clients must present the secret. Null: none needed. */
  clientSecretHash: Sha256Hex.nullable(),
});
/** See {@linkcode ServeEnvRecord}. */
export type ServeEnvRecord = z.infer<typeof ServeEnvRecord>;

const ServedVersion = z.looseObject({
  app: AppId,
  env: EnvName,
  key: ElementKey,
  version: Version,
  contentType: ContentTypeSchema,
  fingerprint: Sha256Hex,
});

/** `serveLiveKey(app, env, key)`: the published version every client gets (unless gray applies). */
export const ServeLiveRecord = ServedVersion.extend({ publishedAt: Time }).and(Body);
/** See {@linkcode ServeLiveRecord}. */
export type ServeLiveRecord = z.infer<typeof ServeLiveRecord>;

/** `serveGrayKey(app, env, key)`: the gray version and the rule that picks its clients. */
export const ServeGrayRecord = ServedVersion.extend({ rule: GrayRuleSchema, startedAt: Time })
  .and(Body);
/** See {@linkcode ServeGrayRecord}. */
export type ServeGrayRecord = z.infer<typeof ServeGrayRecord>;

// ---- cluster: written by cassemagent with a TTL ------------------------------------------------

/** `agentKey(agentId)`: a running agent (TTL; renewed while it runs). */
export const AgentRecord = z.looseObject({
  agentId: AgentId,
  /** Its HTTP address (host:port) for clients. */
  addr: z.string().min(1).max(256),
  /** Its gRPC address, when it serves gRPC. */
  grpcAddr: z.string().min(1).max(256).nullable(),
  annotations: z.record(z.string().max(128), z.string().max(1024)),
  startedAt: Time,
  renewedAt: Time,
});
/** See {@linkcode AgentRecord}. */
export type AgentRecord = z.infer<typeof AgentRecord>;

/** What a client watches in one app/env. */
export const Watching = z.looseObject({
  app: AppId,
  env: EnvName,
  keys: z.array(ElementKey).max(100),
});

/** A version an instance currently runs. */
export const Running = z.looseObject({
  app: AppId,
  env: EnvName,
  key: ElementKey,
  version: Version,
  fingerprint: Sha256Hex,
  /** Whether it got the gray version. */
  gray: z.boolean(),
});

/** `instanceKey(clientId)`: a client instance registered through an agent (TTL). */
export const InstanceRecord = z.looseObject({
  clientId: ClientId,
  agentId: AgentId,
  clientIp: z.string().max(64),
  labels: Labels,
  watching: z.array(Watching).max(20),
  running: z.array(Running).max(2000),
  registeredAt: Time,
  renewedAt: Time,
});
/** See {@linkcode InstanceRecord}. */
export type InstanceRecord = z.infer<typeof InstanceRecord>;

// ---- accounts and access ---------------------------------------------------------------------

/** A password hash: PBKDF2-SHA256 with a random salt. */
export const PasswordHash = z.looseObject({
  algorithm: z.literal("PBKDF2-SHA256"),
  iterations: z.number().int().min(600_000),
  /** 16+ random bytes, base64. */
  salt: z.string().min(16),
  /** 32 bytes, base64. */
  hash: z.string().min(32),
});
/** See {@linkcode PasswordHash}. */
export type PasswordHash = z.infer<typeof PasswordHash>;

/** User status: `disabled` users cannot log in and their sessions are refused. */
export const UserStatus: z.ZodEnum<{ normal: "normal"; disabled: "disabled" }> = z.enum([
  "normal",
  "disabled",
]);

/** `userKey(account)`: a user account. */
export const UserRecord = z.looseObject({
  account: Account,
  nickname: z.string().max(128),
  password: PasswordHash,
  status: UserStatus,
  /** A global admin: every permission on everything. */
  admin: z.boolean(),
  ...Stamps,
  passwordChangedAt: Time,
  /** Rewritten at each login, so that a login and a password change conflict (CAS). */
  lastLoginAt: Time.nullable(),
});
/** See {@linkcode UserRecord}. */
export type UserRecord = z.infer<typeof UserRecord>;

/** `roleKey(app, account)`: the roles of one account on one app. */
export const RoleBindingRecord = z.looseObject({
  app: AppId,
  account: Account,
  roles: z.array(RoleSchema).min(1).max(ROLES.length).refine(
    (r) => new Set(r).size === r.length,
    { error: "must not repeat a role" },
  ),
  grantedBy: Operator,
  grantedAt: Time,
});
/** See {@linkcode RoleBindingRecord}. */
export type RoleBindingRecord = z.infer<typeof RoleBindingRecord>;

/** `sessionKey(account, id)`: a login session (TTL: it ends by itself). */
export const SessionRecord = z.looseObject({
  id: HexId,
  account: Account,
  /** `hashSecret` of the token's secret part. */
  secretHash: Sha256Hex,
  createdAt: Time,
  expiresAt: Time,
});
/** See {@linkcode SessionRecord}. */
export type SessionRecord = z.infer<typeof SessionRecord>;

/** `tokenKey(app, id)`: an API token scoped to one app and one role (TTL when it expires). */
export const ApiTokenRecord = z.looseObject({
  id: HexId,
  app: AppId,
  role: RoleSchema,
  name: z.string().min(1).max(128),
  /** `hashSecret` of the token's secret part. */
  secretHash: Sha256Hex,
  createdBy: Operator,
  createdAt: Time,
  expiresAt: Time.nullable(),
});
/** See {@linkcode ApiTokenRecord}. */
export type ApiTokenRecord = z.infer<typeof ApiTokenRecord>;

/** `loginLimitKey(account)`: failed logins in the current window (TTL: the window). */
export const LoginLimitRecord = z.looseObject({
  account: Account,
  failures: z.number().int().min(1),
  windowStartedAt: Time,
});
/** See {@linkcode LoginLimitRecord}. */
export type LoginLimitRecord = z.infer<typeof LoginLimitRecord>;

// ---- operation log ------------------------------------------------------------------------------

/**
 * An operation name: lowercase dotted words, e.g. `app.create`,
 * `element.publish` (`OPERATIONS` lists the ones adm records).
 */
export const OperationName = z.string().regex(/^[a-z]+(\.[a-z]+){1,3}$/);

/** `oplogKey(time, id)`: one mutation, written in the same Txn as the mutation. */
export const OplogRecord = z.looseObject({
  id: HexId,
  time: Time,
  /** The account, or `token:{app}/{id}` for an API token. */
  operator: Operator,
  operation: OperationName,
  app: AppId.nullable(),
  env: EnvName.nullable(),
  key: ElementKey.nullable(),
  /** What was changed, as a path: `apps/a/envs/prod/elements/timeout`, `users/bob`. */
  target: z.string().min(1).max(512),
  previousVersion: Version.nullable(),
  newVersion: Version.nullable(),
  remark: z.string().max(1024),
  /** The HTTP request's `X-Request-Id`. */
  requestId: z.string().min(1).max(128),
  /** Small operation-specific facts (never a secret or a raw value). */
  detail: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});
/** See {@linkcode OplogRecord}. */
export type OplogRecord = z.infer<typeof OplogRecord>;

/** Seconds an oplog entry is kept by default (its TTL): 180 days. */
export const OPLOG_TTL_SECONDS = 180 * 24 * 3600;
