/**
 * The fingerprint of an element's value: 64-bit FNV-1a, computed on two
 * 32-bit halves so that it stays in plain number arithmetic.
 *
 * @module
 */

/**
 * The 64-bit FNV-1a hash of `bytes` as 16 lowercase hex digits
 * (`fingerprint(new Uint8Array())` is `"cbf29ce484222325"`). Pure.
 */
export function fingerprint(bytes: Uint8Array): string {
  // h = hi·2³² + lo; the prime is 2⁴⁰ + 0x1b3, so h·prime mod 2⁶⁴ is
  // h·0x1b3 + (lo << 40), and lo << 40 only reaches the high half.
  let lo = 0x84222325;
  let hi = 0xcbf29ce4;
  for (let i = 0; i < bytes.length; i++) {
    const x = (lo ^ bytes[i]!) >>> 0;
    const p = x * 0x1b3; // < 2⁴¹: exact
    lo = p >>> 0;
    hi = (Math.imul(hi, 0x1b3) + (p - lo) / 0x1_0000_0000 + (x << 8)) >>> 0;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}
