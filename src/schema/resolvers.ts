import type { NonEmptyArray } from "type-graphql";

type ResolverClass = new (...args: never[]) => object;
import { ArtifactResolver } from "../artifact/artifact.resolver";
import { ArtifactFileResolver, RevisionResolver } from "../revision/revision.resolver";
import { SubscriptionResolver } from "../events/subscription.resolver";
import { ImportResolver } from "../import/api/import.resolver";
import { ScanResolver } from "../scan/scan.resolver";
import { NodeResolver } from "./node.resolver";
import { KeypairResolver } from "../keypair/keypair.resolver";
import { RevocationResolver } from "../auth/revocation.resolver";
import { HuggingFaceRegistryFieldsResolver, RegistryResolver } from "../registry/registry.resolver";
import { ObjectStorageResolver, StorageNamespaceResolver, VFSStorageResolver } from "../storage/storage.resolver";

/** Every resolver class of the schema. Each domain adds its own here. */
export const RESOLVERS: NonEmptyArray<ResolverClass> = [
  NodeResolver,
  ArtifactResolver,
  RevisionResolver,
  ArtifactFileResolver,
  ScanResolver,
  ImportResolver,
  SubscriptionResolver,
  RegistryResolver,
  HuggingFaceRegistryFieldsResolver,
  ObjectStorageResolver,
  VFSStorageResolver,
  StorageNamespaceResolver,
  KeypairResolver,
  RevocationResolver,
];
