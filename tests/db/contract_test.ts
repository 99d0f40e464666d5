/**
 * The KvClient contract (`shared/db/_contract.ts`) against a real 3-node
 * cluster through DbClient: the same cases MemoryDb passes in
 * `shared/db/memory_db_contract_test.ts`, so the two implementations agree.
 */

import { CONTRACT_CASES, type ContractEnv } from "../../shared/db/_contract.ts";
import { scenario, withCluster } from "./_cluster.ts";

scenario(
  import.meta.url,
  "DbClient keeps the KvClient contract against a 3-node cluster",
  async () => {
    await withCluster({ name: "contract" }, async (c) => {
      const nodes = await c.startFounders(3);
      const all = nodes.map((p) => p.clientAddr);
      const db = c.client();
      // Another client that starts from another node: writes "from elsewhere".
      const other = c.client({ endpoints: [...all.slice(1), all[0]!] });
      await db.set("seed", "a store that is not empty");
      const failures: string[] = [];
      for (const [i, kase] of CONTRACT_CASES.entries()) {
        const env: ContractEnv = { db, other, ns: `c${i}/`, fresh: () => c.client() };
        const t0 = Date.now();
        try {
          await kase.fn(env);
          console.log(`ok   ${kase.name} (${Date.now() - t0} ms)`);
        } catch (e) {
          failures.push(`${kase.name}: ${e instanceof Error ? e.stack ?? e.message : e}`);
          console.log(`FAIL ${kase.name}`);
        }
      }
      if (failures.length > 0) {
        throw new Error(`${failures.length} contract cases failed:\n${failures.join("\n\n")}`);
      }
    });
  },
);
