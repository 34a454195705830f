import { sealedCheck, sealedColumn } from "../common/secrets";
import { Check, Column, Entity, JoinColumn, OneToOne, PrimaryColumn } from "typeorm";
import type { Relation } from "typeorm";
import { ArtifactRegistryEntity } from "./artifact-registry.entity";

@Entity("huggingface_registries")
@Check("huggingface_registries_token_sealed_check", sealedCheck("token"))
export class HuggingFaceRegistryEntity {
  @PrimaryColumn("uuid")
  id: string;

  @OneToOne(() => ArtifactRegistryEntity, { onDelete: "CASCADE" })
  @JoinColumn({ name: "id" })
  base?: Relation<ArtifactRegistryEntity>;

  @Column({ type: "text" })
  url: string;

  /** Sealed in the row (SECRETS_ENCRYPTION_KEYS), in clear here. */
  @Column({ type: "text", nullable: true, transformer: sealedColumn("huggingface_registries.token") })
  token: string | null;
}
