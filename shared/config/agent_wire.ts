/**
 * The HTTP contract between cassemagent and its clients that both sides
 * name: the `X-Cassem-*` headers and the most keys one read may ask for.
 * The agent (`agent/`) answers by it and the SDK (`sdk/`) asks by it, so
 * neither restates it.
 *
 * @module
 */

/** Request header (and lowercase gRPC metadata key) naming the client. */
export const CLIENT_ID_HEADER = "X-Cassem-Client-Id";
/** Request header with the client's labels, `k=v,k2=v2`. */
export const LABELS_HEADER = "X-Cassem-Labels";
/** Request header with the client secret of an env that has one. */
export const SECRET_HEADER = "X-Cassem-Secret";
/** Request header: do not answer from a revision older than this one (waits, bounded). */
export const MIN_REVISION_HEADER = "X-Cassem-Min-Revision";
/** Answer header: the agent's revision when it answered. */
export const REVISION_HEADER = "X-Cassem-Revision";
/** Answer header: `true` when cassemdb is out of reach and the answer may be out of date. */
export const STALE_HEADER = "X-Cassem-Stale";
/** Answer header of a raw read: the element version number. */
export const VERSION_HEADER = "X-Cassem-Version";
/** Answer header of a raw read: `true` when the version is the gray one. */
export const GRAY_HEADER = "X-Cassem-Gray";
/** Most keys one read (or one watch) may name. */
export const MAX_KEYS = 100;
