/**
 * The bad-input table of the element routes (`_elements_bad_input.ts`) on
 * the in-memory cassemdb; `real_db_test.ts` runs it on a real node.
 *
 * @module
 */

import { createTestAdm } from "../../adm/testing.ts";
import { badInputTable } from "./_elements_bad_input.ts";
import { stepOf } from "./_make_adm.ts";

Deno.test("bad input to the element routes: the right status, code and field, and nothing changes", async (tt) => {
  await badInputTable(createTestAdm, stepOf(tt));
});
