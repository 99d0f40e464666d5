/**
 * Who a request comes from: the client id, labels and secret it names in
 * headers (HTTP) or metadata (gRPC), checked once for both, and which
 * version of an element that client gets under the gray rules.
 *
 * @module
 */

import {
  checkName,
  CLIENT_ID_HEADER,
  grayApplies,
  InvalidNameError,
  LABELS_HEADER,
  parseLabels,
  SECRET_HEADER,
} from "../shared/config/mod.ts";
import { BadRequestError } from "./errors.ts";
import type { ServedVersion } from "./serve_records.ts";
import type { VersionPair } from "./served.ts";

/** The wire contract's names, where the agent's modules have always found them. */
export { CLIENT_ID_HEADER, LABELS_HEADER, SECRET_HEADER };

/** Longest header value the agent reads (a client secret is 43 characters). */
const MAX_HEADER = 4_096;

/** A client as a read needs it: who it is for the gray rules, and its secret. */
export interface Reader {
  /** Its id; `undefined` for an anonymous client (`curl`), which only label rules can pick. */
  readonly clientId: string | undefined;
  /** Its labels (empty when none). */
  readonly labels: Readonly<Record<string, string>>;
  /** The client secret it presented, if any. */
  readonly secret: string | undefined;
}

/** A client as a request names it. */
export interface ClientIdentity extends Reader {
  /** Its address as the agent sees it (the peer of the connection). */
  readonly ip: string;
}

/**
 * The identity in a request's headers (`get` answers a header by name,
 * case-insensitively; gRPC passes lowercase metadata). `ip` is the peer.
 * @throws {BadRequestError} naming the header when one is malformed.
 */
export function identityFrom(
  get: (name: string) => string | undefined,
  ip: string,
): ClientIdentity {
  return { ...readerFrom(get), ip };
}

/**
 * The reader in a request's headers (see {@linkcode identityFrom}).
 * @throws {BadRequestError} naming the header when one is malformed.
 */
export function readerFrom(get: (name: string) => string | undefined): Reader {
  const id = header(get, CLIENT_ID_HEADER);
  let clientId: string | undefined;
  if (id !== undefined) {
    try {
      clientId = checkName("client", id, CLIENT_ID_HEADER);
    } catch (e) {
      if (e instanceof InvalidNameError) throw new BadRequestError(CLIENT_ID_HEADER, e.message);
      throw e;
    }
  }
  const rawLabels = header(get, LABELS_HEADER);
  let labels: Record<string, string> = {};
  if (rawLabels !== undefined) {
    try {
      labels = parseLabels(rawLabels);
    } catch (e) {
      throw new BadRequestError(
        LABELS_HEADER,
        (e as Error).message.replace("Cannot parse the labels", `Cannot use ${LABELS_HEADER}`),
      );
    }
  }
  const secret = header(get, SECRET_HEADER);
  return { clientId, labels, secret };
}

function header(get: (name: string) => string | undefined, name: string): string | undefined {
  const v = get(name);
  if (v === undefined) return undefined;
  if (v.length > MAX_HEADER) {
    throw new BadRequestError(
      name,
      `Cannot use ${name} as it must be at most ${MAX_HEADER} characters: current length is ${v.length}`,
    );
  }
  return v.trim() === "" ? undefined : v.trim();
}

/**
 * The version of an element that `client` gets: the gray one when its rule
 * picks the client, else the live one (`undefined`: none). An anonymous
 * client is only ever picked by a label rule.
 */
export function chooseVersion(
  pair: VersionPair,
  client: Reader,
): ServedVersion | undefined {
  const gray = pair.gray;
  if (gray?.rule) {
    const anonymousOk = gray.rule.kind === "labels";
    if (client.clientId !== undefined || anonymousOk) {
      const picked = grayApplies(gray.rule, {
        app: gray.app,
        env: gray.env,
        key: gray.key,
        clientId: client.clientId ?? "",
        labels: client.labels,
      });
      if (picked) return gray;
    }
  }
  return pair.live;
}
