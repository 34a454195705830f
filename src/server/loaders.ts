import type { DataSource } from "typeorm";
import { createArtifactLoaders } from "../artifact/artifact.loader";
import { createRevisionLoaders } from "../revision/revision.loader";

/** Per-request DataLoaders, one factory per domain. */
export function createLoaders(ds: DataSource) {
  return {
    ...createArtifactLoaders(ds),
    ...createRevisionLoaders(ds),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
