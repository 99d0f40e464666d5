/**
 * What a test body shared by the in-process run and the real-cassemdb run
 * (`real_db_test.ts`) takes: a {@linkcode MakeAdm} that builds a harness on
 * a fresh store, and a {@linkcode Step} that runs one named part of it.
 *
 * - In process: `createTestAdm` (a new `MemoryDb` each time) and
 *   {@linkcode stepOf}`(tt)` (Deno's test steps).
 * - On a real node: `tests/adm/_real_db.ts`.
 *
 * @module
 */

import type { TestAdm, TestAdmOptions } from "../../adm/testing.ts";
import type { KvClient } from "../../shared/db/mod.ts";

/** Options a body may give {@linkcode MakeAdm}: the harness's, but never the db. */
export type MakeAdmOptions = Omit<TestAdmOptions<KvClient>, "db">;

/**
 * Builds a harness on a store that holds nothing of an earlier harness
 * (the previous one made by the same factory must no longer be used).
 */
export type MakeAdm = (options?: MakeAdmOptions) => Promise<TestAdm<KvClient>>;

/**
 * Runs `fn` as the part `name` of a test. As with Deno's test steps, a
 * failing part does not stop the body: it fails the test once the body ends.
 */
export type Step = (name: string, fn: () => Promise<void>) => Promise<void>;

/** A {@linkcode Step} on Deno's test steps of `tt`. */
export function stepOf(tt: Deno.TestContext): Step {
  return async (name, fn) => {
    await tt.step(name, fn);
  };
}
