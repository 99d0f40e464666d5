/**
 * The element lifecycle for every content type, the route × role matrix,
 * the bad-input table and the import dry run, on a real cassemdb process:
 * the same bodies the in-process tests run on `MemoryDb`
 * (`_elements_lifecycle.ts`, `_route_roles.ts`, `_elements_bad_input.ts`,
 * `_elements_transfer.ts`), each scenario in a process of its own with one
 * cassemdb node and a fresh store per harness (`_real_db.ts`).
 *
 * @module
 */

import { badInputTable } from "./_elements_bad_input.ts";
import { elementLifecycle } from "./_elements_lifecycle.ts";
import { importDryRun } from "./_elements_transfer.ts";
import { realDbScenario } from "./_real_db.ts";
import { routeRoleMatrix } from "./_route_roles.ts";

realDbScenario(
  import.meta.url,
  "real cassemdb: an element's whole life, for every content type",
  elementLifecycle,
);

realDbScenario(
  import.meta.url,
  "real cassemdb: bad input to the element routes gets its status, code and field, and changes nothing",
  badInputTable,
);

realDbScenario(
  import.meta.url,
  "real cassemdb: an import's dry run equals the applied change",
  (makeAdm) => importDryRun(makeAdm),
);

realDbScenario(
  import.meta.url,
  "real cassemdb: route × role, each caller is let through exactly when the table says",
  routeRoleMatrix,
  { timeoutMs: 300_000 },
);
