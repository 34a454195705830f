import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import { findArtifactRegistries, findHuggingFaceRegistries, findReservoirRegistries, type ArtifactRegistryRecord } from "./registry.records";
import { toHuggingFaceRegistry, toReservoirRegistry, type HuggingFaceRegistry, type ReservoirRegistry } from "./registry.type";

/** Keyed by bare UUID; values are GraphQL objects (secrets masked), null when absent. */
export function createRegistryLoaders(ds: DataSource) {
  return {
    huggingfaceRegistry: new DataLoader<string, HuggingFaceRegistry | null>(async (ids) => {
      const found = await findHuggingFaceRegistries(ds, ids);
      return ids.map((id) => {
        const record = found.get(id);
        return record ? toHuggingFaceRegistry(record) : null;
      });
    }),
    reservoirRegistry: new DataLoader<string, ReservoirRegistry | null>(async (ids) => {
      const found = await findReservoirRegistries(ds, ids);
      return ids.map((id) => {
        const record = found.get(id);
        return record ? toReservoirRegistry(record) : null;
      });
    }),
    /** The common row of any registry (name, type, url), e.g. for Artifact.registry. */
    artifactRegistry: new DataLoader<string, ArtifactRegistryRecord | null>(async (ids) => {
      const found = await findArtifactRegistries(ds, ids);
      return ids.map((id) => found.get(id) ?? null);
    }),
  };
}
