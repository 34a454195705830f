import { Check, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";
import { ArtifactRegistryType, sqlIn } from "../common/enums";

/**
 * The common row of every registry (class-table inheritance): a Hugging Face or Reservoir
 * registry shares its id with this row, so artifacts can hold one real foreign key.
 */
@Entity("artifact_registries")
@Check("artifact_registries_type_check", `"type" IN (${sqlIn(ArtifactRegistryType)})`)
export class ArtifactRegistryEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ type: "varchar", length: 256, unique: true })
  name: string;

  @Column({ type: "varchar", length: 16 })
  type: ArtifactRegistryType;

  /** The Hugging Face URL or the Reservoir endpoint, kept here for SourceInfo. */
  @Column({ type: "text" })
  url: string;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}
