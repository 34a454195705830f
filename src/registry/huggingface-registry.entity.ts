import { Column, Entity, JoinColumn, OneToOne, PrimaryColumn } from "typeorm";
import type { Relation } from "typeorm";
import { ArtifactRegistryEntity } from "./artifact-registry.entity";

@Entity("huggingface_registries")
export class HuggingFaceRegistryEntity {
  @PrimaryColumn("uuid")
  id: string;

  @OneToOne(() => ArtifactRegistryEntity, { onDelete: "CASCADE" })
  @JoinColumn({ name: "id" })
  base?: Relation<ArtifactRegistryEntity>;

  @Column({ type: "text" })
  url: string;

  @Column({ type: "text", nullable: true })
  token: string | null;
}
