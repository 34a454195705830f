import type { DataSource } from "typeorm";

/** Per-request DataLoaders, one factory per domain. */
export function createLoaders(_ds: DataSource) {
  return {};
}

export type Loaders = ReturnType<typeof createLoaders>;
