import { ArtifactEntity } from "../artifact/artifact.entity";
import { ApiKeypairEntity } from "../keypair/api-keypair.entity";
import { ArtifactRegistryEntity } from "../registry/artifact-registry.entity";
import { HuggingFaceRegistryEntity } from "../registry/huggingface-registry.entity";
import { ReservoirRegistryEntity } from "../registry/reservoir-registry.entity";
import { ArtifactRevisionFileEntity } from "../revision/revision-file.entity";
import { ArtifactRevisionEntity } from "../revision/revision.entity";
import { StatusTransitionEntity } from "../revision/status-transition.entity";
import { ObjectStorageEntity } from "../storage/object-storage.entity";
import { RevisionNamespaceEntity } from "../storage/revision-namespace.entity";
import { StorageNamespaceEntity } from "../storage/storage-namespace.entity";
import { VFSStorageEntity } from "../storage/vfs-storage.entity";

export const ENTITIES = [
  ArtifactRegistryEntity,
  HuggingFaceRegistryEntity,
  ReservoirRegistryEntity,
  ArtifactEntity,
  ArtifactRevisionEntity,
  ArtifactRevisionFileEntity,
  StatusTransitionEntity,
  ObjectStorageEntity,
  VFSStorageEntity,
  StorageNamespaceEntity,
  RevisionNamespaceEntity,
  ApiKeypairEntity,
];
