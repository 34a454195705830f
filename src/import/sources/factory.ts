import { ArtifactRegistryType } from "../../common/enums";
import { AppError } from "../../common/errors";
import type { HuggingFaceRegistryRecord } from "../../registry/registry.records";
import type { HubClientFactory } from "../../upstream/clients";
import { HuggingFaceFileSource } from "./huggingface.source";
import { PermanentImportError } from "../import.errors";
import type { FileSourceFactory } from "../import.ports";
import { createReservoirFileSource, type ReservoirSourceDeps } from "./reservoir.source";
import { createUploadSource, type UploadSourceDeps } from "./upload.source";
import { withDeadline } from "../../common/deadline";

export interface FileSourceFactoryDeps {
  registries: { findHuggingFace(id: string): Promise<HuggingFaceRegistryRecord | null> };
  hubClients: HubClientFactory;
  reservoir: ReservoirSourceDeps;
  uploads: UploadSourceDeps;
  /** Deadline of listing a revision's files upstream (SCAN_REQUEST_TIMEOUT_SECONDS), so a dripping tree cannot hold an import slot. */
  listTimeoutMs?: number;
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
        const what = `Listing the files of ${revision.artifactName}@${revision.commit}`;
        const listFiles = (signal: AbortSignal) => withDeadline(deps.listTimeoutMs ?? 120_000, what, (deadline) => source.listFiles(AbortSignal.any([signal, deadline])))
          .catch((error: unknown) => {
            if (signal.aborted) throw error;
            // Out of time is worth another attempt, later (the attempts are bounded).
            throw error instanceof AppError ? Object.assign(new Error(error.message), { retryable: true }) : error;
          });
        return { source, listFiles };
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
