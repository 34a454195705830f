import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from "typeorm";
import type { Relation } from "typeorm";
import { ArtifactAvailability, ArtifactType, sqlIn } from "../common/enums";
import { ArtifactRegistryEntity } from "../registry/artifact-registry.entity";

@Entity("artifacts")
@Unique("artifacts_registry_type_name_key", ["registryId", "type", "name"])
@Check("artifacts_type_check", `"type" IN (${sqlIn(ArtifactType)})`)
@Check("artifacts_availability_check", `"availability" IN (${sqlIn(ArtifactAvailability)})`)
@Index("artifacts_name_idx", ["name"])
export class ArtifactEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ type: "varchar", length: 512 })
  name: string;

  @Column({ type: "varchar", length: 16 })
  type: ArtifactType;

  @Column({ type: "text", nullable: true })
  description: string | null;

  @Column({ name: "registry_id", type: "uuid" })
  registryId: string;

  @ManyToOne(() => ArtifactRegistryEntity, { onDelete: "RESTRICT" })
  @JoinColumn({ name: "registry_id" })
  registry?: Relation<ArtifactRegistryEntity>;

  /** Where the registry got it from (for a Reservoir: the remote's own source). */
  @Column({ name: "source_name", type: "varchar", length: 256, nullable: true })
  sourceName: string | null;

  @Column({ name: "source_url", type: "text", nullable: true })
  sourceUrl: string | null;

  @Column({ type: "boolean", default: true })
  readonly: boolean;

  @Column({ type: "jsonb", nullable: true })
  extra: Record<string, unknown> | null;

  @Column({ type: "varchar", length: 16, default: ArtifactAvailability.ALIVE })
  availability: ArtifactAvailability;

  @Column({ name: "deleted_at", type: "timestamptz", nullable: true })
  deletedAt: Date | null;

  @Column({ name: "scanned_at", type: "timestamptz", default: () => "now()" })
  scannedAt: Date;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}
