import type { DataSource } from "typeorm";
import { createArtifactLoaders } from "../artifact/artifact.loader";
import { createRevisionLoaders } from "../revision/revision.loader";
import { createKeypairLoaders } from "../keypair/keypair.loader";
import { createRegistryLoaders } from "../registry/registry.loader";
import { createStorageLoaders } from "../storage/storage.loader";

/** Per-request DataLoaders, one factory per domain. */
export function createLoaders(ds: DataSource) {
  return {
    ...createArtifactLoaders(ds),
    ...createRevisionLoaders(ds),
    ...createRegistryLoaders(ds),
    ...createStorageLoaders(ds),
    ...createKeypairLoaders(ds),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
