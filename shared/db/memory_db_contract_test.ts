import { CONTRACT_CASES, type ContractEnv } from "./_contract.ts";
import { MemoryDb } from "./memory_db.ts";

for (const c of CONTRACT_CASES) {
  Deno.test(`MemoryDb contract: ${c.name}`, async () => {
    const db = new MemoryDb();
    await db.set("seed", "a store that is not empty");
    const extra: MemoryDb[] = [];
    const env: ContractEnv = {
      db,
      other: db,
      ns: "case/",
      fresh: () => {
        const m = new MemoryDb();
        extra.push(m);
        return m;
      },
    };
    try {
      await c.fn(env);
    } finally {
      db.close();
      for (const m of extra) m.close();
    }
  });
}
