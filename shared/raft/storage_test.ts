import { MemoryWritable, storageContract } from "./_storage_contract.ts";

storageContract("MemoryStorage", () => {
  const storage = new MemoryWritable();
  return Promise.resolve({ storage, close: () => {} });
});
