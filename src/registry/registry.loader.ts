import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import { isUuid } from "../common/relay";
import { findHuggingFaceRegistries, findReservoirRegistries } from "./registry.records";
import { toHuggingFaceRegistry, toReservoirRegistry, type HuggingFaceRegistry, type ReservoirRegistry } from "./registry.type";

/** Keyed by bare UUID; values are GraphQL objects (secrets masked), null when absent or not a UUID. */
export function createRegistryLoaders(ds: DataSource) {
  return {
    huggingfaceRegistryById: new DataLoader<string, HuggingFaceRegistry | null>(async (ids) => {
      const found = await findHuggingFaceRegistries(ds, ids.filter(isUuid));
      return ids.map((id) => {
        const record = found.get(id);
        return record ? toHuggingFaceRegistry(record) : null;
      });
    }),
    reservoirRegistryById: new DataLoader<string, ReservoirRegistry | null>(async (ids) => {
      const found = await findReservoirRegistries(ds, ids.filter(isUuid));
      return ids.map((id) => {
        const record = found.get(id);
        return record ? toReservoirRegistry(record) : null;
      });
    }),
  };
}
