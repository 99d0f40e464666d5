/**
 * Byte-array helpers shared by the raft core and its storage.
 *
 * @module
 */

/** The parts as one buffer: the only part itself, or a new buffer holding them all in order. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
