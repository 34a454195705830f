import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique } from "typeorm";
import type { Relation } from "typeorm";
import { bigintAsString } from "../db/columns";
import { ArtifactRevisionEntity } from "./revision.entity";

@Entity("artifact_revision_files")
@Unique("artifact_revision_files_revision_path_key", ["revisionId", "path"])
@Check("artifact_revision_files_size_check", `"size" >= 0`)
export class ArtifactRevisionFileEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ name: "revision_id", type: "uuid" })
  revisionId: string;

  @ManyToOne(() => ArtifactRevisionEntity, { onDelete: "CASCADE" })
  @JoinColumn({ name: "revision_id" })
  revision?: Relation<ArtifactRevisionEntity>;

  @Column({ type: "text" })
  path: string;

  @Column({ type: "bigint", transformer: bigintAsString })
  size: string;

  @Column({ type: "char", length: 64, nullable: true })
  sha256: string | null;

  /** The upstream object id: git blob SHA-1 for small files, LFS oid for large ones. */
  @Column({ name: "upstream_oid", type: "varchar", length: 128, nullable: true })
  upstreamOid: string | null;

  /** Where the bytes live in the revision's storage namespace, once imported. */
  @Column({ name: "storage_key", type: "text", nullable: true })
  storageKey: string | null;

  /** Set once the file's bytes are in staging and verified: a resumed import skips it. */
  @Column({ name: "staged_sha256", type: "char", length: 64, nullable: true })
  stagedSha256: string | null;
}
