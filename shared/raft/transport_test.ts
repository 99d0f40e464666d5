import { transportContract } from "./_transport_contract.ts";
import { LocalNetwork, type Transport } from "./transport.ts";

transportContract("LocalNetwork", () => {
  const net = new LocalNetwork();
  const ts = new Map<number, Transport>();
  return Promise.resolve({
    transport(id: number) {
      let t = ts.get(id);
      if (!t) ts.set(id, t = net.connect(id));
      return t;
    },
    kill: (id: number) => ts.get(id)?.close() ?? Promise.resolve(),
    close: async () => {
      for (const t of ts.values()) await t.close();
    },
  });
});
