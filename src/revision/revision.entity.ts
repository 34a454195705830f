import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from "typeorm";
import type { Relation } from "typeorm";
import { ArtifactRemoteStatus, ArtifactStatus, sqlIn } from "../common/enums";
import { bigintAsString } from "../db/columns";
import { ArtifactEntity } from "../artifact/artifact.entity";
import { StorageNamespaceEntity } from "../storage/storage-namespace.entity";

export interface ImportProgressData {
  totalFiles: number;
  completedFiles: number;
  totalBytes: string;
  downloadedBytes: string;
  bytesPerSecond: number | null;
  startedAt: string | null;
  updatedAt: string | null;
}

export interface VerificationResultData {
  verifiers: Array<{
    name: string;
    result: {
      success: boolean; infectedCount: number; scannedAt: string; scanTime: number; scannedCount: number;
      metadata: { entries: Array<{ key: string; value: string }> }; error: string | null;
    };
  }>;
}

@Entity("artifact_revisions")
@Unique("artifact_revisions_artifact_version_key", ["artifactId", "version"])
@Check("artifact_revisions_status_check", `"status" IN (${sqlIn(ArtifactStatus)})`)
@Check("artifact_revisions_remote_status_check", `"remote_status" IS NULL OR "remote_status" IN (${sqlIn(ArtifactRemoteStatus)})`)
@Check("artifact_revisions_size_check", `"size" IS NULL OR "size" >= 0`)
@Index("artifact_revisions_status_idx", ["status"])
export class ArtifactRevisionEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ name: "artifact_id", type: "uuid" })
  artifactId: string;

  @ManyToOne(() => ArtifactEntity, { onDelete: "CASCADE" })
  @JoinColumn({ name: "artifact_id" })
  artifact?: Relation<ArtifactEntity>;

  @Column({ type: "varchar", length: 512 })
  version: string;

  @Column({ type: "varchar", length: 16, default: ArtifactStatus.SCANNED })
  status: ArtifactStatus;

  @Column({ name: "remote_status", type: "varchar", length: 16, nullable: true })
  remoteStatus: ArtifactRemoteStatus | null;

  /** The upstream commit the stored files were imported from. */
  @Column({ type: "varchar", length: 128, nullable: true })
  digest: string | null;

  /** The upstream commit the last scan saw. */
  @Column({ name: "latest_upstream_digest", type: "varchar", length: 128, nullable: true })
  latestUpstreamDigest: string | null;

  @Column({ type: "text", nullable: true })
  readme: string | null;

  @Column({ type: "bigint", nullable: true, transformer: bigintAsString })
  size: string | null;

  @Column({ name: "last_error", type: "text", nullable: true })
  lastError: string | null;

  @Column({ name: "verification_result", type: "jsonb", nullable: true })
  verificationResult: VerificationResultData | null;

  @Column({ name: "import_progress", type: "jsonb", nullable: true })
  importProgress: ImportProgressData | null;

  /** The job importing this revision, while one runs. */
  @Column({ name: "import_task_id", type: "uuid", nullable: true })
  importTaskId: string | null;

  /** The upstream commit the running import fetches: pinned when it starts, never the moving branch. */
  @Column({ name: "import_commit", type: "varchar", length: 128, nullable: true })
  importCommit: string | null;

  /** The storage namespace the running import writes to. */
  @Column({ name: "import_namespace_id", type: "uuid", nullable: true })
  importNamespaceId: string | null;

  // Declared so that the entities describe the foreign key migration ImportState made.
  @ManyToOne(() => StorageNamespaceEntity, { onDelete: "RESTRICT" })
  @JoinColumn({ name: "import_namespace_id", foreignKeyConstraintName: "artifact_revisions_import_namespace_fk" })
  importNamespace?: Relation<StorageNamespaceEntity>;

  /** The running import may ask the Reservoir remote to import its copy (delegateImportArtifacts). */
  @Column({ name: "import_delegate", type: "boolean", default: false })
  importDelegate: boolean;

  /** The running import publishes the revision's uploads instead of fetching upstream. */
  @Column({ name: "import_uploads", type: "boolean", default: false })
  importUploads: boolean;

  /** Process crashes in a row, during the running import, with no more bytes kept in between. */
  @Column({ name: "import_crashes", type: "integer", default: 0 })
  importCrashes: number;

  /** Bytes the import had kept (staged, partial or placed) when its latest run started. */
  @Column({ name: "import_crash_mark", type: "bigint", nullable: true })
  importCrashMark: string | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}
