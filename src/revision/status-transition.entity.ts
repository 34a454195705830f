import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from "typeorm";
import type { Relation } from "typeorm";
import { ArtifactStatus, sqlIn } from "../common/enums";
import { ArtifactRevisionEntity } from "./revision.entity";

/** One row per status change of a revision: the audit trail of its lifecycle. */
@Entity("artifact_revision_status_history")
@Check("status_history_to_check", `"to_status" IN (${sqlIn(ArtifactStatus)})`)
@Index("status_history_revision_idx", ["revisionId", "id"])
export class StatusTransitionEntity {
  @PrimaryGeneratedColumn("increment", { type: "bigint" })
  id: string;

  @Column({ name: "revision_id", type: "uuid" })
  revisionId: string;

  @ManyToOne(() => ArtifactRevisionEntity, { onDelete: "CASCADE" })
  @JoinColumn({ name: "revision_id" })
  revision?: Relation<ArtifactRevisionEntity>;

  @Column({ name: "from_status", type: "varchar", length: 16, nullable: true })
  fromStatus: ArtifactStatus | null;

  @Column({ name: "to_status", type: "varchar", length: 16 })
  toStatus: ArtifactStatus;

  @Column({ type: "varchar", length: 256 })
  actor: string;

  @Column({ type: "text", nullable: true })
  reason: string | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;
}
