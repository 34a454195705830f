import { Authorized, Field, ID, ObjectType } from "type-graphql";
import { Role } from "../common/enums";
import { connectionTypes } from "../common/connection.type";
import { Node } from "../common/node.type";
import { toGlobalId } from "../common/relay";
import { UUIDScalar } from "../common/scalars";
import { maskSecret } from "../common/secrets";
import type { ObjectStorageEntity } from "./object-storage.entity";
import type { StorageNamespaceEntity } from "./storage-namespace.entity";
import type { VFSStorageEntity } from "./vfs-storage.entity";

@ObjectType({ implements: Node })
export class StorageNamespace implements Node {
  @Field(() => ID) id: string;
  /** The bare UUID of its object storage or VFS storage. */
  @Field(() => ID) storageId: string;
  @Field(() => String) namespace: string;

  uuid: string;
}

export const { Edge: StorageNamespaceEdge, Connection: StorageNamespaceConnection } =
  connectionTypes("StorageNamespace", () => StorageNamespace);

/** `namespaces` is a field resolver (storage.resolver.ts), batched per request. */
@ObjectType({ implements: Node })
export class ObjectStorage implements Node {
  @Field(() => ID) id: string;
  @Field(() => String) name: string;
  @Field(() => String) host: string;
  /** Admins only, as are secretKey and endpoint: the user role is refused FORBIDDEN. */
  @Authorized(Role.ADMIN)
  @Field(() => String) accessKey: string;
  /** Write-only: "****" plus at most the last 4 characters. */
  @Authorized(Role.ADMIN)
  @Field(() => String) secretKey: string;
  @Authorized(Role.ADMIN)
  @Field(() => String) endpoint: string;
  @Field(() => String) region: string;

  uuid: string;
}

@ObjectType({ implements: Node })
export class VFSStorage implements Node {
  @Field(() => ID) id: string;
  @Field(() => String) name: string;
  @Field(() => String) host: string;
  /** Admins only: a path on the server's disks. */
  @Authorized(Role.ADMIN)
  @Field(() => String) basePath: string;

  uuid: string;
}

export const { Edge: ObjectStorageEdge, Connection: ObjectStorageConnection } = connectionTypes("ObjectStorage", () => ObjectStorage);
export const { Edge: VFSStorageEdge, Connection: VFSStorageConnection } = connectionTypes("VFSStorage", () => VFSStorage);

// Mappers return class instances: the Node interface resolves the concrete type by instanceof.

export function toObjectStorage(e: ObjectStorageEntity): ObjectStorage {
  return Object.assign(new ObjectStorage(), {
    id: toGlobalId("ObjectStorage", e.id),
    uuid: e.id,
    name: e.name,
    host: e.host,
    accessKey: e.accessKey,
    secretKey: maskSecret(e.secretKey) ?? "****",
    endpoint: e.endpoint,
    region: e.region,
  });
}

export function toVFSStorage(e: VFSStorageEntity): VFSStorage {
  return Object.assign(new VFSStorage(), {
    id: toGlobalId("VFSStorage", e.id),
    uuid: e.id,
    name: e.name,
    host: e.host,
    basePath: e.basePath,
  });
}

export function toStorageNamespace(e: Pick<StorageNamespaceEntity, "id" | "objectStorageId" | "vfsStorageId" | "namespace">): StorageNamespace {
  return Object.assign(new StorageNamespace(), {
    id: toGlobalId("StorageNamespace", e.id),
    uuid: e.id,
    storageId: (e.objectStorageId ?? e.vfsStorageId)!,
    namespace: e.namespace,
  });
}

@ObjectType()
export class CreateObjectStoragePayload {
  @Field(() => ObjectStorage) objectStorage: ObjectStorage;
}

@ObjectType()
export class UpdateObjectStoragePayload {
  @Field(() => ObjectStorage) objectStorage: ObjectStorage;
}

@ObjectType()
export class DeleteObjectStoragePayload {
  @Field(() => UUIDScalar) id: string;
}

@ObjectType()
export class CreateVFSStoragePayload {
  @Field(() => VFSStorage) vfsStorage: VFSStorage;
}

@ObjectType()
export class UpdateVFSStoragePayload {
  @Field(() => VFSStorage) vfsStorage: VFSStorage;
}

@ObjectType()
export class DeleteVFSStoragePayload {
  @Field(() => UUIDScalar) id: string;
}

@ObjectType()
export class RegisterStorageNamespacePayload {
  @Field(() => UUIDScalar) id: string;
}

@ObjectType()
export class UnregisterStorageNamespacePayload {
  @Field(() => UUIDScalar) id: string;
}
