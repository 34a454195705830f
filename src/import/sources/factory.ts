import { ArtifactRegistryType } from "../../common/enums";
import type { HuggingFaceRegistryRecord } from "../../registry/registry.records";
import type { HubClientFactory } from "../../upstream/clients";
import { HuggingFaceFileSource } from "./huggingface.source";
import { PermanentImportError } from "../import.errors";
import type { FileSourceFactory } from "../import.ports";
import { createReservoirFileSource, type ReservoirSourceDeps } from "./reservoir.source";
import { createUploadSource, type UploadSourceDeps } from "./upload.source";

export interface FileSourceFactoryDeps {
  registries: { findHuggingFace(id: string): Promise<HuggingFaceRegistryRecord | null> };
  hubClients: HubClientFactory;
  reservoir: ReservoirSourceDeps;
  uploads: UploadSourceDeps;
}

export function createFileSourceFactory(deps: FileSourceFactoryDeps): FileSourceFactory {
  return async (revision, signal) => {
    if (!revision.commit) throw new PermanentImportError(`${revision.artifactName}@${revision.version} has no pinned commit: start the import again`);
    // Whatever the registry: an import of uploads reads nothing upstream.
    if (revision.fromUploads) return createUploadSource(deps.uploads, revision);
    switch (revision.registryType) {
      case ArtifactRegistryType.HUGGINGFACE: {
        const registry = await deps.registries.findHuggingFace(revision.registryId);
        if (!registry) throw new PermanentImportError(`The Hugging Face registry ${revision.registryId} of ${revision.artifactName} no longer exists`);
        const source = new HuggingFaceFileSource(deps.hubClients(registry), revision.artifactName, revision.commit);
        return { source, listFiles: (s) => source.listFiles(s) };
      }
      case ArtifactRegistryType.RESERVOIR: {
        const source = await createReservoirFileSource(
          { ...deps.reservoir, delegate: revision.delegate },
          { id: revision.id, artifactId: revision.artifactId, version: revision.version, artifactName: revision.artifactName, registryId: revision.registryId, artifactType: revision.artifactType },
          { signal },
        );
        return { source };
      }
      default:
        throw new PermanentImportError(`Registries of type ${String(revision.registryType)} cannot be imported from`);
    }
  };
}
