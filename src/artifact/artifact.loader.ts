import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import type { Viewer } from "../auth/viewer";
import { isUuid } from "../common/relay";
import type { ArtifactRegistryEntity } from "../registry/artifact-registry.entity";
import type { ArtifactEntity } from "./artifact.entity";
import { ArtifactService, canSeeArtifact } from "./artifact.service";
import { toArtifact, type Artifact } from "./artifact.type";

/** Per-request loaders of the artifact domain. Keys are lower-case UUIDs (what parseId returns). */
export function createArtifactLoaders(ds: DataSource) {
  const service = new ArtifactService(ds);
  return {
    artifactById: new DataLoader<string, ArtifactEntity | null>((ids) => service.findArtifactsByIds(ids.filter(isUuid)).then(align(ids))),
    artifactRegistryById: new DataLoader<string, ArtifactRegistryEntity | null>((ids) =>
      service.findRegistriesByIds(ids.filter(isUuid)).then(align(ids))),
  };
}

export type ArtifactLoaders = ReturnType<typeof createArtifactLoaders>;

/** Non-UUID keys never reach SQL (a bad cast would fail the whole batch); they load as null. */
function align<E extends { id: string }>(ids: readonly string[]) {
  return (found: (E | null)[]) => {
    const map = new Map(found.filter((e): e is E => e !== null).map((e) => [e.id, e]));
    return ids.map((id) => map.get(id) ?? null);
  };
}

/**
 * Node and federation lookups: the artifact as this viewer may see it (null when unknown, or
 * DELETED and the viewer is a `user`), as a class instance.
 */
export async function loadArtifactNode(ctx: { viewer: Viewer | null; loaders: ArtifactLoaders }, uuid: string): Promise<Artifact | null> {
  const entity = await ctx.loaders.artifactById.load(uuid.toLowerCase());
  return entity && canSeeArtifact(ctx.viewer, entity) ? toArtifact(entity) : null;
}
