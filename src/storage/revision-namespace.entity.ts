import { Entity, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import type { Relation } from "typeorm";
import { ArtifactRevisionEntity } from "../revision/revision.entity";
import { StorageNamespaceEntity } from "./storage-namespace.entity";

/** Which storage namespace holds a revision's files. A namespace in use cannot be unregistered. */
@Entity("artifact_revision_namespaces")
export class RevisionNamespaceEntity {
  @PrimaryColumn({ name: "revision_id", type: "uuid" })
  revisionId: string;

  @PrimaryColumn({ name: "namespace_id", type: "uuid" })
  namespaceId: string;

  @ManyToOne(() => ArtifactRevisionEntity, { onDelete: "CASCADE" })
  @JoinColumn({ name: "revision_id" })
  revision?: Relation<ArtifactRevisionEntity>;

  @ManyToOne(() => StorageNamespaceEntity, { onDelete: "RESTRICT" })
  @JoinColumn({ name: "namespace_id" })
  namespace?: Relation<StorageNamespaceEntity>;
}
