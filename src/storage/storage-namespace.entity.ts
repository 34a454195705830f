import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import type { Relation } from "typeorm";
import { ObjectStorageEntity } from "./object-storage.entity";
import { VFSStorageEntity } from "./vfs-storage.entity";

/**
 * A bucket of an object storage or a sub-directory of a VFS storage. Exactly one of the two
 * foreign keys is set, so both kinds of storage get a real, enforced reference.
 */
@Entity("storage_namespaces")
@Check("storage_namespaces_one_storage_check", `num_nonnulls("object_storage_id", "vfs_storage_id") = 1`)
@Index("storage_namespaces_object_ns_key", ["objectStorageId", "namespace"], { unique: true, where: `"object_storage_id" IS NOT NULL` })
@Index("storage_namespaces_vfs_ns_key", ["vfsStorageId", "namespace"], { unique: true, where: `"vfs_storage_id" IS NOT NULL` })
export class StorageNamespaceEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ name: "object_storage_id", type: "uuid", nullable: true })
  objectStorageId: string | null;

  @ManyToOne(() => ObjectStorageEntity, { onDelete: "RESTRICT" })
  @JoinColumn({ name: "object_storage_id" })
  objectStorage?: Relation<ObjectStorageEntity>;

  @Column({ name: "vfs_storage_id", type: "uuid", nullable: true })
  vfsStorageId: string | null;

  @ManyToOne(() => VFSStorageEntity, { onDelete: "RESTRICT" })
  @JoinColumn({ name: "vfs_storage_id" })
  vfsStorage?: Relation<VFSStorageEntity>;

  @Column({ type: "varchar", length: 256 })
  namespace: string;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  get storageId(): string {
    return (this.objectStorageId ?? this.vfsStorageId)!;
  }
}
