/**
 * The one place that touches `sorted-btree`'s CommonJS interop. Under Deno,
 * `import BTreeMod from "sorted-btree"` yields the module object at run time
 * (its `.default` is the class) while the type checker sees the class; this
 * helper resolves the difference once.
 *
 * @module
 */

import BTreeMod from "sorted-btree";
import { bulkLoad } from "sorted-btree/extended/bulkLoad.js";

/** A sorted-btree B+ tree. */
export type BTree<K, V> = BTreeMod.default<K, V>;

type BTreeClass = typeof BTreeMod.default;

const BTreeCtor: BTreeClass = BTreeMod.default ??
  (BTreeMod as unknown as BTreeClass);

/** A new empty B+ tree ordered by `compare`. */
export function newBTree<K, V>(compare: (a: K, b: K) => number): BTree<K, V> {
  return new BTreeCtor<K, V>(undefined, compare);
}

/**
 * A new B+ tree holding `keys[i] → values[i]`, built in O(n) (for restoring
 * snapshots). `keys` MUST be strictly ascending by `compare`.
 * @throws {Error} when `keys` is not strictly ascending or the lengths differ.
 */
export function newBTreeSorted<K, V>(
  keys: K[],
  values: V[],
  compare: (a: K, b: K) => number,
): BTree<K, V> {
  return bulkLoad(keys, values, 32, compare);
}

/**
 * Orders strings by UTF-16 code units, like `<`; the order of keys in the
 * store, in ranges and in snapshots.
 */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
